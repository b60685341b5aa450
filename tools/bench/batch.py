"""Batch path capacity: streams processed per 20 ms tick.

Synthetic streams, no sockets: each stream's channel is fed one parsed-on-arrival RTP packet
per tick (the datagram_received work is measured too) and its output goes to a transport
that drops it, so the figure is the CPU of receive + jitter buffer + decode + DTMF detection
+ routing + encode + packetise, not of the kernel's UDP stack. CPU time is process time.

- G.711 with in-band (Goertzel) DTMF detection on every stream, PCMU bridged to PCMA:
  how many streams fit in one tick using under 50 % of a core (floor 1,000).
- PCMU <-> Opus transcoding: how many transcoded streams one core carries (floor 150).
Reference in the same run: the codec calls alone (libopus through the same binding, at the
engine's 8 kHz, one encode and one decode per frame), i.e. the floor any Python pipeline pays.
Every stream carries a voice-like signal (tools/bench/signals.py), not silence.
"""

import struct
import time
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from audiocodecs import new_decoder, new_encoder
from audiocodecs.g711 import alaw_encode, ulaw_encode
from audiocodecs.pcm import Pcm16
from mediaserver.clock import SystemClock
from mediaserver.config import RtpConfig
from mediaserver.media.batch import BatchProcessor
from mediaserver.media.frame import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.rtp_socket import Address, RtpSocket
from mediaserver.media.stream import DtmfReceived, MediaStream, StreamFormat
from tools.bench.signals import frames_of, voice_like

TICK_SECONDS = FRAME_MS / 1000
MEASURED_TICKS = 25
ROUNDS = 3
WARM_UP_TICKS = 3
G711_FLOOR = 1000
OPUS_FLOOR = 150
OPUS_PAYLOAD_TYPE = 111
OPUS_COMPLEXITY = RtpConfig().opus_complexity  # what the server runs with by default
SIGNAL_FRAMES = 100  # two seconds of voice-like audio, cycled


class DroppingTransport:
    """Stands in for the UDP socket: the bench measures the batch work, not the kernel."""

    def sendto(self, data: bytes, addr: Address) -> None:
        del data, addr

    def get_extra_info(self, name: str) -> Address:
        return ("127.0.0.1", 0)

    def close(self) -> None:
        """Nothing to release."""


def run() -> None:
    print(
        f"synthetic streams, no sockets; CPU = process time per tick, mean over "
        f"{MEASURED_TICKS} ticks, best of {ROUNDS} rounds"
    )
    g711 = _largest_fitting(_g711_with_dtmf_tick, budget=0.5 * TICK_SECONDS, start=250)
    print(f"RESULT G.711 + in-band DTMF detection: {g711:,} streams per tick at < 50 % of a "
          f"core (floor {G711_FLOOR:,})")  # fmt: skip
    per_pair = _transcoding_tick(100) / 100
    streams_per_core = int(TICK_SECONDS / per_pair) * 2
    codec_only = _opus_codec_only_seconds()
    print(f"RESULT PCMU<->Opus: {streams_per_core:,} transcoded streams per core "
          f"({per_pair * 1e6:.0f} us per bridged pair per tick; floor {OPUS_FLOOR}; "
          f"Opus complexity {OPUS_COMPLEXITY})")  # fmt: skip
    print(f"reference: libopus encode+decode alone {codec_only * 1e6:.0f} us per frame; "
          f"pipeline/codec ratio {per_pair / codec_only:.2f} (1.0: only libopus)")  # fmt: skip


def _largest_fitting(measure: Any, budget: float, start: int) -> int:
    """Double N while a tick stays within budget, then bisect."""
    low, high = 0, start
    while measure(high) <= budget:
        low, high = high, high * 2
    while high - low > max(50, low // 20):
        middle = (low + high) // 2
        if measure(middle) <= budget:
            low = middle
        else:
            high = middle
    return low


def _g711_with_dtmf_tick(stream_count: int) -> float:
    batch = BatchProcessor(SystemClock())
    pairs = stream_count // 2
    streams = []
    for index in range(pairs):
        first = bench_stream(batch, 2 * index, "PCMU", 0, 8000)
        second = bench_stream(batch, 2 * index + 1, "PCMA", 8, 8000)
        first.peer, second.peer = second, first
        for stream in (first, second):
            stream.digit_handler = _ignore_digit
            stream.inband_detection = True
        streams += [first, second]
    ulaw, alaw = g711_frames(ulaw_encode), g711_frames(alaw_encode)
    seconds = measure_ticks(
        batch, streams, lambda stream, tick: (ulaw if stream.format.codec == "PCMU" else alaw)[tick]
    )
    print(f"  G.711+DTMF, {len(streams):>5} streams: {seconds * 1e3:6.2f} ms CPU per tick "
          f"({seconds / TICK_SECONDS:5.1%} of a core)")  # fmt: skip
    return seconds


def _transcoding_tick(pairs: int) -> float:
    batch = BatchProcessor(SystemClock(), opus_complexity=OPUS_COMPLEXITY)
    streams = []
    for index in range(pairs):
        first = bench_stream(batch, 2 * index, "PCMU", 0, 8000)
        second = bench_stream(batch, 2 * index + 1, "opus", OPUS_PAYLOAD_TYPE, 48000)
        first.peer, second.peer = second, first
        streams += [first, second]
    ulaw, opus = g711_frames(ulaw_encode), opus_frames()
    seconds = measure_ticks(
        batch, streams, lambda s, tick: (opus if s.format.codec == "opus" else ulaw)[tick]
    )
    print(f"  PCMU<->Opus, {pairs} bridged pairs: {seconds * 1e3:6.2f} ms CPU per tick")
    return seconds


def measure_ticks(batch: BatchProcessor, streams: list[MediaStream], payload: Any) -> float:
    """Mean CPU per tick over MEASURED_TICKS, the best of ROUNDS rounds (as timeit does:
    the other rounds measure this VM's neighbours and the collector, not the code)."""
    handlers = [batch.add(stream) for stream in streams]
    rounds = []
    tick = 0
    for _ in range(ROUNDS):
        total = 0.0
        for measured in range(-WARM_UP_TICKS, MEASURED_TICKS):
            packets = [rtp_packet(s, tick, payload(s, tick % SIGNAL_FRAMES)) for s in streams]
            started = time.process_time()
            for handler, packet in zip(handlers, packets, strict=True):
                handler(packet, ("127.0.0.1", 9))
            batch.tick(tick)
            if measured >= 0:  # the jitter buffers fill during the first ticks
                total += time.process_time() - started
            tick += 1
        rounds.append(total / MEASURED_TICKS)
    return min(rounds)


def bench_stream(
    batch: BatchProcessor, index: int, codec: str, payload_type: int, rate: int
) -> Any:
    stream_format = StreamFormat(codec, payload_type, rate, FRAME_MS, None)
    socket = RtpSocket(_ignore_packet, _ignore_packet, True, SystemClock().now, rate)
    socket.connection_made(DroppingTransport())  # type: ignore[arg-type]
    socket.set_remote(("127.0.0.1", 9))
    return MediaStream(index, stream_format, cast(BoundPorts, None), socket, None)


def rtp_packet(stream: MediaStream, tick: int, payload: bytes) -> bytes:
    step = stream.format.samples_per_packet
    header = struct.pack("!BBHII", 0x80, stream.format.payload_type, tick, tick * step, 1234)
    return header + payload


def g711_frames(encode: Callable[[Pcm16], npt.NDArray[np.uint8]]) -> list[bytes]:
    signal = voice_like(SAMPLE_RATE, SIGNAL_FRAMES * TICK_SECONDS)
    return [encode(frame).tobytes() for frame in frames_of(signal, FRAME_SAMPLES)]


def opus_frames() -> list[bytes]:
    """What a peer sends: full-band Opus from 48 kHz audio."""
    encoder = new_encoder("opus")
    signal = voice_like(encoder.sample_rate, SIGNAL_FRAMES * TICK_SECONDS)
    return [encoder.encode(frame) for frame in frames_of(signal, encoder.frame_samples)]


def _opus_codec_only_seconds() -> float:
    encoder = new_encoder("opus", SAMPLE_RATE, complexity=OPUS_COMPLEXITY)
    decoder = new_decoder("opus", SAMPLE_RATE)
    pcm_frames = frames_of(voice_like(SAMPLE_RATE, SIGNAL_FRAMES * TICK_SECONDS), FRAME_SAMPLES)
    payloads = opus_frames()
    started = time.process_time()
    for pcm, payload in zip(pcm_frames, payloads, strict=True):
        encoder.encode(pcm)
        decoder.decode(payload)
    return (time.process_time() - started) / SIGNAL_FRAMES


def _ignore_digit(event: DtmfReceived) -> None:
    del event


def _ignore_packet(data: bytes, addr: Address) -> None:
    del data, addr
