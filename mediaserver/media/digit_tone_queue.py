"""The DTMF tones a stream sends, one digit after another: a passive port (the pjmedia pattern)
that only the 20 ms tick reads.

Digits reach a stream whose far side negotiated no telephone-event as ITU-T Q.23 tones in its
audio. They come as RFC 4733 events from the bridged leg (`follow`), or whole, with their
duration, from SIP INFO and send_dtmf (`add`). Each tone lasts as long as its event says, at
least MIN_TONE_MS, and is followed by PAUSE_MS of silence, so that a receiver tells two tones
apart even when the events came back to back. A digit that comes while another sounds waits
its turn. At most MAX_QUEUED_MS of tones and pauses wait: a digit beyond that is dropped, and
a tone that would go past it is cut, with a log line. While tones sound they replace all the
stream would send (the bridged audio, a file or TTS being played, which waits and resumes
where it was), so the far receiver hears clean tones at the sending level.

An RFC 4733 event's tone starts with the event's first packet, although only the end packet
says how long the event lasts: the duration field says how long it has lasted so far (RFC 4733
§2.3.5), and updates keep coming while it lasts (§2.5.1.2). Waiting for the end packet would
delay every tone by a whole event and let back-to-back events pile up; starting at once and
sounding while the event is open plays each tone as the sender plays it (the receiver's side
of this is §2.5.2, playout of tone events §2.5.2.2). The end packet fixes the length: a tone
already that long stops, a shorter one sounds on to it. An event whose updates stop (its end
packets lost, all three copies, §2.5.1.4) ends LOST_END_MS after the last duration reported.
"""

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.tones import DEFAULT_AMPLITUDE, dtmf_frequencies, tone
from mediaserver.rtp.telephone_event import EventReport

logger = logging.getLogger(__name__)

# ITU-T Q.24: receivers must accept tones of 40 ms and take pauses of 40 ms as the gap between
# two digits (shorter ones they may reject or bridge), so no tone is shorter, no gap either.
MIN_TONE_MS = 40
PAUSE_MS = 40
DEFAULT_DURATION_MS = 100  # a digit sent without one (an INFO without Duration=, send_dtmf)
MAX_QUEUED_MS = 3000  # tones and pauses waiting: a few seconds, then digits are dropped
# Updates come every packet interval (§2.5.1.2; 20 ms from the phones we meet): this much
# without one, after the duration last reported, and the event has ended unreported.
LOST_END_MS = 120


def _samples(duration_ms: int) -> int:
    return max(0, duration_ms) * SAMPLE_RATE // 1000


MIN_TONE = _samples(MIN_TONE_MS)
PAUSE = _samples(PAUSE_MS)
MAX_QUEUED = _samples(MAX_QUEUED_MS)
LOST_END = _samples(LOST_END_MS)


@dataclass(slots=True)
class _Tone:
    digit: str
    frequencies: tuple[float, float]
    length: int  # samples: the event's duration so far while open, then its final length
    ended: bool
    sounded: int = 0  # samples of tone sent
    paused: int = 0  # samples of the pause after it sent
    cut: bool = False  # shortened to fit MAX_QUEUED (logged once)

    def tone_left(self) -> int:
        limit = self.length if self.ended else self.length + LOST_END
        return max(0, limit - self.sounded)

    def left(self) -> int:
        """Samples still to send, tone and pause (an open tone counted as it stands)."""
        return max(0, max(self.length, MIN_TONE) - self.sounded) + PAUSE - self.paused

    def end(self, length: int) -> None:
        self.length, self.ended = max(length, MIN_TONE), True


class DigitToneQueue:
    def __init__(self, owner: str) -> None:
        self._owner = owner  # names the stream in log lines
        self._tones: deque[_Tone] = deque()
        self._open: _Tone | None = None  # the tone following an RFC 4733 event

    def __len__(self) -> int:
        return len(self._tones)

    def add(self, digit: str, duration_ms: int) -> None:
        """A digit whose duration is known (SIP INFO, send_dtmf)."""
        self._append(digit, _samples(duration_ms), ended=True)

    def follow(self, report: EventReport, clock_rate: int) -> None:
        """What a packet of an RFC 4733 event adds (the receiver reports each press's start
        and end once, however often the end packet is repeated)."""
        length = report.duration * SAMPLE_RATE // clock_rate
        if report.started:
            self._start(report.digit, length)
        if report.ended:
            self._end(length)
        else:
            self._extend(length)

    def _start(self, digit: str, length: int) -> None:
        """A tone still open ends where it is: its event's end packets were lost."""
        if self._open is not None and not self._open.ended:
            self._open.end(self._open.length)
        self._open = self._append(digit, length, ended=False)

    def _extend(self, length: int) -> None:
        if self._open is not None and not self._open.ended:
            self._open.length = self._fit(self._open, length)

    def _end(self, length: int) -> None:
        if self._open is not None and not self._open.ended:
            self._open.end(self._fit(self._open, length))

    def clear(self) -> None:
        self._tones.clear()
        self._open = None

    def read_frame(self) -> Pcm16 | None:
        if not self._tones:
            return None
        frame = np.zeros(FRAME_SAMPLES, np.int16)
        filled = 0
        while filled < FRAME_SAMPLES and self._tones:
            filled += self._play(frame[filled:])
        return frame

    def _play(self, out: Pcm16) -> int:
        """Fill the start of `out` from the first tone: its tone, else its pause."""
        head = self._tones[0]
        sounding = head.tone_left()
        if sounding:
            count = min(len(out), sounding)
            out[:count] = tone(head.frequencies, count, DEFAULT_AMPLITUDE, head.sounded)
            head.sounded += count
            return count
        if not head.ended:  # no update came for LOST_END: the event is over
            head.end(head.sounded)
        count = min(len(out), PAUSE - head.paused)
        head.paused += count
        if head.paused == PAUSE:
            self._tones.popleft()
        return count

    def _append(self, digit: str, length: int, ended: bool) -> _Tone | None:
        """Queue a tone if one of MIN_TONE fits; a longer one is cut to what fits."""
        frequencies = dtmf_frequencies(digit)  # InvalidDigitError before anything is queued
        queued = self._queued()
        if queued + MIN_TONE + PAUSE > MAX_QUEUED:
            logger.warning(
                "%s: DTMF %r dropped, %d ms of tones already queued",
                self._owner, digit, queued * 1000 // SAMPLE_RATE,
            )  # fmt: skip
            return None
        added = _Tone(digit, frequencies, 0, ended=False)
        self._tones.append(added)
        added.length = self._fit(added, length)
        if ended:
            added.end(added.length)
        return added

    def _fit(self, growing: _Tone, length: int) -> int:
        """`length`, or as much of it as keeps the queue within MAX_QUEUED."""
        others = self._queued(leaving_out=growing) + PAUSE - growing.paused
        room = MAX_QUEUED - others + growing.sounded
        if length <= room:
            return length
        if not growing.cut:
            growing.cut = True
            logger.warning(
                "%s: DTMF %r cut to %d ms, the queue is full",
                self._owner, growing.digit, room * 1000 // SAMPLE_RATE,
            )  # fmt: skip
        return max(room, growing.length)

    def _queued(self, leaving_out: _Tone | None = None) -> int:
        return sum(waiting.left() for waiting in self._tones if waiting is not leaving_out)
