"""DTMF for media tests, with numbers: the packets a phone sends for digits (RFC 4733), and
the tones found in audio (where each starts, how long it lasts, which digit its two Q.23
frequencies make). Audio at 8 kHz: 8 samples a millisecond."""

import numpy as np

from mediaserver.media.tones import HIGH_FREQUENCIES, KEYPAD, LOW_FREQUENCIES
from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import TelephoneEventSender

MS = 8  # samples per millisecond


def tones(pcm: np.ndarray) -> list[tuple[str, int, int]]:
    """(digit, start ms, length ms) of each stretch of tone (a zero crossing is not a gap:
    a gap is a whole millisecond of silence)."""
    whole = pcm[: len(pcm) // MS * MS].reshape(-1, MS)
    loud = np.abs(whole).max(axis=1) > 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(np.int8), [0]))))
    return [
        (digit_of(pcm[start * MS : end * MS]), int(start), int(end - start))
        for start, end in edges.reshape(-1, 2)
    ]


def digit_of(pcm: np.ndarray) -> str:
    t = np.arange(len(pcm)) / 8000

    def power(frequency: float) -> float:
        return float(abs(np.dot(pcm, np.exp(-2j * np.pi * frequency * t))))

    row = int(np.argmax([power(f) for f in LOW_FREQUENCIES]))
    column = int(np.argmax([power(f) for f in HIGH_FREQUENCIES]))
    return KEYPAD[row][column]


def event_ticks(digits: str, duration_ms: int, end_copies: int = 3) -> list[list[RtpPacket]]:
    """A phone's digits as RFC 4733 packets, one a tick: updates, then the end packet
    `end_copies` times (§2.5.1.4: three), the next digit's first packet on the tick after, as
    pjmedia's dialDtmf sends them; 0.5 s of quiet after the last."""
    ticks: list[list[RtpPacket]] = []
    timestamp = 1000
    for digit in digits:
        packets = TelephoneEventSender(duration_samples=duration_ms * MS).start(digit, timestamp)
        packets = packets[: len(packets) - 3 + end_copies]
        ticks.extend([packet] for packet in packets)
        timestamp += 160 * len(packets)
    return ticks + [[] for _ in range(25)]
