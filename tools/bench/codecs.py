"""G.711 batched over 1,000 streams vs the C reference frame by frame; Opus per-frame cost."""

import time
import warnings

import numpy as np

from audiocodecs.g711 import ulaw_decode, ulaw_encode
from audiocodecs.opus import OpusDecoder, OpusEncoder

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

STREAMS = 1000
FRAME = 160
REPEATS = 50
TRANSCODE_FLOOR_PER_CORE = 150


def _best(function: object, repeats: int) -> float:
    assert callable(function)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _g711() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(-20000, 20000, (STREAMS, FRAME)).astype(np.int16)
    raw = [row.tobytes() for row in frames]

    def batched() -> None:
        ulaw_decode(ulaw_encode(frames))

    def one_by_one_c() -> None:
        for data in raw:
            audioop.ulaw2lin(audioop.lin2ulaw(data, 2), 2)

    ours = _best(batched, REPEATS) / STREAMS
    reference = _best(one_by_one_c, REPEATS) / STREAMS
    print(f"G.711 encode+decode, 20 ms frame, batched over {STREAMS} streams: {ours * 1e6:.2f} µs")
    print(f"  audioop (C), the same frames one by one:               {reference * 1e6:.2f} µs")
    print(f"  ratio C/ours: {reference / ours:.2f}x  (goal: > 1, faster than C per frame)")


def _opus() -> None:
    t = np.arange(48000 * 2) / 48000
    signal = np.rint(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    frames = [signal[i : i + 960] for i in range(0, len(signal), 960)]
    encoder, decoder = OpusEncoder(), OpusDecoder()
    packets = [encoder.encode(frame) for frame in frames]
    encode = _best(lambda: [encoder.encode(frame) for frame in frames], 5) / len(frames)
    decode = _best(lambda: [decoder.decode(packet) for packet in packets], 5) / len(frames)
    per_stream = encode + decode  # one direction of one leg each 20 ms
    streams_per_core = 0.020 / per_stream
    print(
        f"Opus 48 kHz mono, 20 ms (libopus via ctypes): encode {encode * 1e6:.0f} µs, "
        f"decode {decode * 1e6:.0f} µs per frame"
    )
    print(
        f"  PCMU<->Opus streams per core from codec time alone: {streams_per_core:.0f} "
        f"(floor {TRANSCODE_FLOOR_PER_CORE})"
    )


def run() -> None:
    _g711()
    _opus()
