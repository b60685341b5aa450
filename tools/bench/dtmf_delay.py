"""In-band DTMF turned into RFC 4733 across a bridge: delay and duration (a part: no run()).

The real batch path on a manual clock: one leg (PCMU without telephone-event) receives DTMF
tones, the other leg of its bridge (PCMU with telephone-event) sends RFC 4733 events. Each
tone has its own bridged pair and all pairs share one BatchProcessor, ticked every 20 ms.
The far sender's packet k holds samples [160k, 160k + 160) and arrives at (k + 1) * 20 ms plus
a network delay drawn per pair from 0-20 ms, so tones and packets fall at every phase of the
tick; a tone starts on the leg when its first sample would have arrived.

Measured per tone: the delay from its start to the first RFC 4733 packet of its digit sent on
the other leg, and the final duration of its event (what a far receiver takes as the tone's
length, RFC 4733 §2.3.5) against the tone's own.
"""

import itertools
import struct
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from audiocodecs.g711 import ulaw_encode
from audiocodecs.pcm import Pcm16
from mediaserver.clock import ManualClock
from mediaserver.media.batch import BatchProcessor
from mediaserver.media.frame import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.rtp_socket import Address, PacketHandler, RtpSocket
from mediaserver.media.stream import MediaStream, StreamFormat
from mediaserver.media.tones import dtmf_frequencies, tone
from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import TelephoneEvent, event_to_digit

DIGITS = "123A456B789C*0#D"
TONE_MS = (40, 60, 100, 200, 500)
REPEATS = 4
BREAK_MS = 10  # Q.24: a break this long in the middle of a 100 ms tone must not split it
EVENT_PT = 101
LEG = StreamFormat("PCMU", 0, SAMPLE_RATE, FRAME_MS, None)
FAR_LEG = StreamFormat("PCMU", 0, SAMPLE_RATE, FRAME_MS, EVENT_PT)
AMPLITUDE = 32767 * 10 ** ((-10 - 3.14) / 20)  # -10 dBm0 per tone (Q.23 sends -7 and -9)
LEAD_SAMPLES = (480, 640)  # the tone starts 60-80 ms in
TAIL_MS = 300  # after the tone: release (40 ms), three end packets, and margin
EXPECTED_DELAY_MS = 40  # two 20 ms windows of tone confirm a digit


@dataclass(frozen=True, slots=True)
class Tone:
    digit: str
    tone_ms: int
    break_ms: int
    start: int  # first sample of the tone
    network_delay: float  # seconds


@dataclass(frozen=True, slots=True)
class Event:
    """One RFC 4733 event as the far receiver saw it (§2.5.2: one timestamp per event)."""

    digit: str
    first_sent: float
    duration_ms: float | None  # of the final packet (E bit); None if it never ended


class CapturingTransport:
    """Stands in for the far leg's UDP socket: keeps what is sent, with the clock's time."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self.sent: list[tuple[float, bytes]] = []

    def sendto(self, data: bytes, addr: Address) -> None:
        self.sent.append((self._clock.now(), bytes(data)))

    def get_extra_info(self, name: str) -> Address:
        return ("127.0.0.1", 0)

    def close(self) -> None:
        """Nothing to release."""


def tones(rng: np.random.Generator) -> list[Tone]:
    """Every digit at every length in TONE_MS, then every digit broken for BREAK_MS; each
    REPEATS times, at other phases."""
    plan = [(d, ms, 0) for d, ms, _ in itertools.product(DIGITS, TONE_MS, range(REPEATS))]
    plan += [(d, 100, BREAK_MS) for d, _ in itertools.product(DIGITS, range(REPEATS))]
    return [
        Tone(digit, ms, gap, int(rng.integers(*LEAD_SAMPLES)), float(rng.uniform(0, 0.02)))
        for digit, ms, gap in plan
    ]


def render(item: Tone, samples: int) -> Pcm16:
    length = item.tone_ms * SAMPLE_RATE // 1000
    signal = np.zeros(samples, np.int16)
    signal[item.start : item.start + length] = tone(dtmf_frequencies(item.digit), length, AMPLITUDE)
    hole = item.break_ms * SAMPLE_RATE // 1000
    middle = item.start + (length - hole) // 2
    signal[middle : middle + hole] = 0
    return signal


def run_bridges(items: list[Tone]) -> list[list[Event]]:
    """Every tone into its own bridge, all ticked together; the events each far leg sent."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    captures = [CapturingTransport(clock) for _ in items]
    handlers = [_bridge(batch, clock, index, capture) for index, capture in enumerate(captures)]
    frames = -(-(LEAD_SAMPLES[1] + (max(TONE_MS) + TAIL_MS) * SAMPLE_RATE // 1000) // FRAME_SAMPLES)
    signals = np.stack([render(item, frames * FRAME_SAMPLES) for item in items])
    codes = ulaw_encode(signals).reshape(len(items), frames, FRAME_SAMPLES)
    arrivals = sorted(
        ((k + 1) * FRAME_MS / 1000 + item.network_delay, index, k)
        for (index, item), k in itertools.product(enumerate(items), range(frames))
    )
    pending = iter(arrivals)
    upcoming = next(pending, None)
    for tick in range(1, frames + 3):
        now = tick * FRAME_MS / 1000
        while upcoming is not None and upcoming[0] <= now:
            arrival, index, k = upcoming
            clock.advance(arrival - clock.now())
            handlers[index](_packet(k, codes[index, k].tobytes()), ("127.0.0.1", 9))
            upcoming = next(pending, None)
        clock.advance(now - clock.now())
        batch.tick(tick)
    return [_events(capture.sent) for capture in captures]


def _bridge(
    batch: BatchProcessor, clock: ManualClock, index: int, capture: CapturingTransport
) -> PacketHandler:
    leg = _stream(2 * index, LEG, CapturingTransport(clock))  # sends nothing: nothing comes back
    far_leg = _stream(2 * index + 1, FAR_LEG, capture)
    leg.peer, far_leg.peer = far_leg, leg
    batch.add(far_leg)
    return batch.add(leg)


def _stream(stream_id: int, stream_format: StreamFormat, transport: Any) -> MediaStream:
    socket = RtpSocket(_ignore, _ignore, rtcp_mux=True)
    socket.connection_made(transport)
    socket.set_remote(("127.0.0.1", 9))
    return MediaStream(stream_id, stream_format, cast(BoundPorts, None), socket, None)


def _packet(index: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, index, FRAME_SAMPLES * index, 1234) + payload


def _events(sent: list[tuple[float, bytes]]) -> list[Event]:
    first: dict[int, tuple[float, str]] = {}
    final: dict[int, int] = {}
    for when, data in sent:
        packet = RtpPacket.parse(data)
        if packet.payload_type != EVENT_PT:
            continue  # the leg sends nothing back: only the far leg's events get here
        event = TelephoneEvent.parse(packet.payload)
        first.setdefault(packet.timestamp, (when, event_to_digit(event.event)))
        if event.end:
            final[packet.timestamp] = event.duration
    return [
        Event(digit, when, final[ts] * 1000 / SAMPLE_RATE if ts in final else None)
        for ts, (when, digit) in first.items()
    ]


def _ignore(data: bytes, addr: Address) -> None:
    del data, addr


def report(items: list[Tone], events: list[list[Event]]) -> None:
    whole = [(t, e) for t, e in zip(items, events, strict=True) if not t.break_ms]
    delays = [
        1000 * (e[0].first_sent - (t.start / SAMPLE_RATE + t.network_delay))
        for t, e in whole
        if e and e[0].digit == t.digit
    ]
    print(
        f"in-band DTMF -> RFC 4733 across a bridge (batch path, manual clock): {len(whole)} "
        f"tones, every digit at {', '.join(map(str, TONE_MS))} ms, -10 dBm0"
    )
    print(
        f"RESULT delay from tone start to its first RFC 4733 packet: median "
        f"{np.median(delays):.0f} ms, p99 {np.percentile(delays, 99):.0f} ms "
        f"({len(delays)}/{len(whole)} tones; expected about {EXPECTED_DELAY_MS} ms of tone "
        f"to confirm, plus packetisation and the wait for the tick)"
    )
    print("  tone    events  far-side event duration: median [min, max]")
    for tone_ms in TONE_MS:
        _print_durations(f"{tone_ms} ms", [e for t, e in whole if t.tone_ms == tone_ms])
    broken = [e for t, e in zip(items, events, strict=True) if t.break_ms]
    _print_durations(f"100 ms, {BREAK_MS} ms break", broken)


def _print_durations(label: str, events: list[list[Event]]) -> None:
    count = sum(len(e) for e in events)
    ended = [x.duration_ms for e in events for x in e if x.duration_ms is not None]
    spread = f"{np.median(ended):.0f} [{min(ended):.0f}, {max(ended):.0f}] ms" if ended else "-"
    unended = count - len(ended)
    print(f"  {label:<22}{len(events):>3} tones -> {count:>3} events, {spread}"
          + (f", {unended} never ended" if unended else ""))  # fmt: skip
