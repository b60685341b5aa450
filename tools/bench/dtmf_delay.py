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
BROKEN_TONE_MS = 100
BREAK_MS = 10  # Q.24: a break this long in the middle of a tone must not split it
EVENT_PT = 101
LEG = StreamFormat("PCMU", 0, SAMPLE_RATE, FRAME_MS, None)
FAR_LEG = StreamFormat("PCMU", 0, SAMPLE_RATE, FRAME_MS, EVENT_PT)
AMPLITUDE = 32767 * 10 ** ((-10 - 3.14) / 20)  # -10 dBm0 per tone (Q.23 sends -7 and -9)
LEAD_SAMPLES = (480, 640)  # the tone starts 60-80 ms in
SAMPLES = SAMPLE_RATE  # 1 s: the longest tone ends by 580 ms, its event about 100 ms later
EXPECTED_DELAY_MS = 40  # two 20 ms windows of tone confirm a digit

Sent = list[tuple[float, RtpPacket]]


@dataclass(frozen=True, slots=True)
class Tone:
    digit: str
    tone_ms: int
    break_ms: int
    start: int  # first sample of the tone
    network_delay: float  # seconds


@dataclass(frozen=True, slots=True)
class Event:
    """One RFC 4733 event as the far receiver saw it."""

    digit: str
    first_sent: float
    end_sent: float | None  # the first final packet (E bit); None if it never ended
    duration: int | None  # of the final packet, in timestamp units

    @property
    def duration_ms(self) -> float | None:
        return None if self.duration is None else self.duration * 1000 / SAMPLE_RATE


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
    plan += [(d, BROKEN_TONE_MS, BREAK_MS) for d, _ in itertools.product(DIGITS, range(REPEATS))]
    return [
        Tone(digit, ms, gap, int(rng.integers(*LEAD_SAMPLES)), float(rng.uniform(0, 0.02)))
        for digit, ms, gap in plan
    ]


def render(item: Tone, samples: int = SAMPLES) -> Pcm16:
    length = item.tone_ms * SAMPLE_RATE // 1000
    signal = np.zeros(samples, np.int16)
    signal[item.start : item.start + length] = tone(dtmf_frequencies(item.digit), length, AMPLITUDE)
    hole = item.break_ms * SAMPLE_RATE // 1000
    middle = item.start + (length - hole) // 2
    signal[middle : middle + hole] = 0
    return signal


def run_bridges(signals: Pcm16, network_delays: list[float]) -> list[Sent]:
    """Each row of `signals` (whole frames) into its own bridge, all ticked together, a row's
    packets arriving with its network delay; what each far leg sent, with the time."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    captures = [CapturingTransport(clock) for _ in network_delays]
    handlers = [_bridge(batch, clock, index, capture) for index, capture in enumerate(captures)]
    frames = signals.shape[1] // FRAME_SAMPLES
    codes = ulaw_encode(signals).reshape(len(signals), frames, FRAME_SAMPLES)
    arrivals = sorted(
        ((k + 1) * FRAME_MS / 1000 + delay, index, k)
        for (index, delay), k in itertools.product(enumerate(network_delays), range(frames))
    )
    pending = iter(arrivals)
    upcoming = next(pending, None)
    for tick in range(1, frames + 2):
        now = tick * FRAME_MS / 1000
        while upcoming is not None and upcoming[0] <= now:
            arrival, index, k = upcoming
            clock.advance(arrival - clock.now())
            handlers[index](_packet(k, codes[index, k].tobytes()), ("127.0.0.1", 9))
            upcoming = next(pending, None)
        clock.advance(now - clock.now())
        batch.tick(tick)
    return [[(when, RtpPacket.parse(data)) for when, data in c.sent] for c in captures]


def events(sent: Sent) -> list[Event]:
    """The RFC 4733 events among what a far leg sent (§2.5.2: one timestamp per event)."""
    first: dict[int, tuple[float, str]] = {}
    final: dict[int, tuple[float, int]] = {}
    for when, packet in sent:
        if packet.payload_type != EVENT_PT:
            continue
        event = TelephoneEvent.parse(packet.payload)
        first.setdefault(packet.timestamp, (when, event_to_digit(event.event)))
        if event.end:
            final.setdefault(packet.timestamp, (when, event.duration))
    return [
        Event(digit, when, *final.get(timestamp, (None, None)))
        for timestamp, (when, digit) in first.items()
    ]


def _bridge(
    batch: BatchProcessor, clock: ManualClock, index: int, capture: CapturingTransport
) -> PacketHandler:
    leg = _stream(2 * index, LEG, CapturingTransport(clock))  # sends nothing: nothing comes back
    far_leg = _stream(2 * index + 1, FAR_LEG, capture)
    leg.peer, far_leg.peer = far_leg, leg
    batch.add(far_leg)
    return batch.add(leg)


def _stream(stream_id: int, stream_format: StreamFormat, transport: Any) -> MediaStream:
    # Packets reach the batch handler directly, so the socket only sends: no clock needed.
    socket = RtpSocket(_ignore, _ignore, True, lambda: 0.0, stream_format.clock_rate)
    socket.connection_made(transport)
    socket.set_remote(("127.0.0.1", 9))
    return MediaStream(stream_id, stream_format, cast(BoundPorts, None), socket, None)


def _packet(index: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, index, FRAME_SAMPLES * index, 1234) + payload


def _ignore(data: bytes, addr: Address) -> None:
    del data, addr


def measure(items: list[Tone]) -> list[list[Event]]:
    signals = np.stack([render(item) for item in items])
    sent = run_bridges(signals, [item.network_delay for item in items])
    return [events(far_leg) for far_leg in sent]


def report(items: list[Tone], found: list[list[Event]]) -> None:
    pairs = list(zip(items, found, strict=True))
    whole = [(t, e) for t, e in pairs if not t.break_ms]
    firsts = [(t, e[0]) for t, e in whole if e and e[0].digit == t.digit]
    delays = [1000 * (e.first_sent - _start(t)) for t, e in firsts]
    lags = [1000 * (e.end_sent - _start(t)) - t.tone_ms for t, e in firsts if e.end_sent]
    print(
        f"in-band DTMF -> RFC 4733 across a bridge (batch path, manual clock): every digit at "
        f"{', '.join(map(str, TONE_MS))} ms, -10 dBm0, {REPEATS} times each"
    )
    print(
        f"RESULT delay from tone start to its first RFC 4733 packet: {_spread(delays)}, "
        f"{len(delays)} of {len(whole)} tones (expected: about {EXPECTED_DELAY_MS} ms of tone "
        f"to confirm, plus packetisation and the wait for a tick)"
    )
    print(f"  event end (first final packet) after the tone's end: {_spread(lags)}")
    print("  tone                  far-side events, duration: median [min, max]")
    for tone_ms in TONE_MS:
        _print_durations(f"{tone_ms} ms", [e for t, e in whole if t.tone_ms == tone_ms])
    broken = [e for t, e in pairs if t.break_ms]
    _print_durations(f"{BROKEN_TONE_MS} ms, {BREAK_MS} ms break", broken)


def _spread(milliseconds: list[float]) -> str:
    if not milliseconds:
        return "-"
    return (
        f"median {np.median(milliseconds):.0f} ms, p99 {np.percentile(milliseconds, 99):.0f} ms "
        f"[{min(milliseconds):.0f}, {max(milliseconds):.0f}]"
    )


def _start(item: Tone) -> float:
    """When the tone's first sample would have arrived on the leg (seconds)."""
    return item.start / SAMPLE_RATE + item.network_delay


def _print_durations(label: str, found: list[list[Event]]) -> None:
    count = sum(len(e) for e in found)
    ended = [x.duration_ms for e in found for x in e if x.duration_ms is not None]
    spread = f"{np.median(ended):.0f} [{min(ended):.0f}, {max(ended):.0f}] ms" if ended else "-"
    unended = count - len(ended)
    print(f"  {label:<22}{len(found):>3} tones -> {count:>3} events, {spread}"
          + (f", {unended} never ended" if unended else ""))  # fmt: skip
