"""G.711 batched over 1,000 streams vs the C reference frame by frame; Opus per-frame cost."""

import fractions
import time
import warnings

import av
import numpy as np

from audiocodecs.g711 import ulaw_decode, ulaw_encode
from audiocodecs.opus import OpusDecoder, OpusEncoder
from mediaserver.config import RtpConfig
from mediaserver.media.frame import SAMPLE_RATE
from tools.bench.signals import frames_of, voice_like

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


def _opus_costs(
    sample_rate: int, complexity: int | None, inband_fec: bool
) -> tuple[float, float, list[bytes]]:
    frames = frames_of(voice_like(sample_rate), sample_rate // 50)
    encoder = OpusEncoder(sample_rate, complexity=complexity, inband_fec=inband_fec)
    decoder = OpusDecoder(sample_rate)
    packets = [encoder.encode(frame) for frame in frames]
    encode = _best(lambda: [encoder.encode(frame) for frame in frames], 5) / len(frames)
    decode = _best(lambda: [decoder.decode(packet) for packet in packets], 5) / len(frames)
    return encode, decode, packets


def _opus() -> None:
    print("Opus, 20 ms mono frames of a voice-like signal (libopus via ctypes):")
    engine_rate, default = SAMPLE_RATE, RtpConfig().opus_complexity
    rows = [
        (48000, None, True),
        (engine_rate, None, True),
        (engine_rate, 10, True),
        (engine_rate, default, True),
        (engine_rate, default, False),
        (engine_rate, 1, False),
    ]
    engine_costs: dict[bool, float] = {}  # FEC or not -> encode + decode at the engine's setting
    for sample_rate, complexity, fec in rows:
        encode, decode, packets = _opus_costs(sample_rate, complexity, fec)
        label = "libopus default" if complexity is None else f"complexity {complexity}"
        label += ", FEC" if fec else ""
        mark = ""
        if sample_rate == engine_rate and complexity == default:
            engine_costs[fec] = encode + decode
            mark = "  <- rtp.opus_complexity"
        size = sum(map(len, packets)) / len(packets)
        print(f"  {sample_rate:>5} Hz, {label:<21}: encode {encode * 1e6:4.0f} µs, "
              f"decode {decode * 1e6:3.0f} µs, {size:.0f} bytes per packet{mark}")  # fmt: skip
    print("  (the engine encodes FEC only for a peer whose fmtp says useinbandfec=1)")
    for fec, seconds in engine_costs.items():
        with_fec = "with" if fec else "without"
        print(f"  PCMU<->Opus calls per core from codec time alone, {with_fec} FEC: "
              f"{0.020 / seconds:.0f} (floor {TRANSCODE_FLOOR_PER_CORE})")  # fmt: skip
    frames = frames_of(voice_like(48000), 960)
    av_encode, av_decode = _pyav_opus(frames)
    print(
        f"  PyAV libopus at 48 kHz, the same frames: encode {av_encode * 1e6:.0f} µs, "
        f"decode {av_decode * 1e6:.0f} µs (no PLC/FEC control, so not chosen)"
    )


def _pyav_opus(frames: list[np.ndarray]) -> tuple[float, float]:
    """The alternative binding, PyAV's libopus (no PLC or FEC control), for the record."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.format, encoder.layout = 48000, "s16", "mono"
    encoder.bit_rate = 32000
    encoder.time_base = fractions.Fraction(1, 48000)
    encoder.options = {"frame_duration": "20", "application": "voip"}
    encoder.open()
    decoder = av.CodecContext.create("libopus", "r")
    audio = [
        av.AudioFrame.from_ndarray(f.reshape(1, -1), format="s16", layout="mono") for f in frames
    ]
    for n, frame in enumerate(audio):
        frame.sample_rate, frame.pts = 48000, n * 960
    start = time.perf_counter()
    packets = [p for frame in audio for p in encoder.encode(frame)]
    encode = (time.perf_counter() - start) / len(frames)
    start = time.perf_counter()
    for packet in packets:
        decoder.decode(packet)
    decode = (time.perf_counter() - start) / max(len(packets), 1)
    return encode, decode


def run() -> None:
    _g711()
    _opus()
