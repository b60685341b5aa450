"""Concurrent application calls each waiting in <GetDigits> with in-band DTMF detection on:
the most one server process carries with RTP loss under 0.1 % both ways, interarrival jitter
(p95 over streams) under 5 ms, and every tone the callers play heard by the application.

SIPp sets the calls up (tools/load/uac_media.xml, as the endpoint whose application is
tools/load/answer_application.py's /digits: <GetDigits numDigits="1" timeout="30"> around a
short <Speak>, its action and a <Redirect> back to the same document). The RTP comes from
rtp_calls.c (see concurrent_calls.py): on every call a 2 s loop of voice-like audio whose
last 200 ms are a 100 ms DTMF "5" (-10 dBm0) and 100 ms of silence, each stream at its own
place in the loop. So every call presses 5 every 2 s, its server leg hears it through the
Goertzel detector (the caller's SDP has no telephone-event), the application gets Digits=5
and answers the same document again, whose prompt the server then plays to the caller.

Measured per step: loss and jitter of what the server sends (the prompts, scored by the
generator), loss on what it receives (RFC 3550 A.3 per leg, from /metrics), and tones
played against digits the application received. LOAD_SECONDS (default 60) of RTP per step.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_MS, SAMPLE_RATE
from mediaserver.media.tones import dtmf_frequencies, tone
from mediaserver.rtp.payload_types import PCMU
from tools.bench.signals import voice_like
from tools.load.answer_application import AnswerApplication
from tools.load.call_servers import missing_programs
from tools.load.concurrent_calls import (
    MAX_JITTER_MS,
    MAX_LOSS_PERCENT,
    SECONDS,
    SideResult,
    build_generator,
    leg_audio,
)
from tools.load.held_calls import hold_calls

STEPS = (100, 200, 300, 400, 500, 600)
FLOOR = 300
DIGIT = "5"
LOOP_SECONDS = 2
TONE_MS = 100
TONE_AMPLITUDE = 32767 * 10 ** ((-10 - 3.14) / 20)  # -10 dBm0 per frequency
HEARD_SHARE = 0.99  # of the tones played, the application must receive at least this share


@dataclass(frozen=True, slots=True)
class DigitStep:
    calls: int
    up: int
    to_callers: SideResult | None  # the prompts the server sent, as the generator got them
    server_received: int
    server_lost: int
    tones: "TonesPlayed"  # what the generator played while the calls were up
    heard: int  # requests with Digits=5 the application received meanwhile
    other_digits: int  # any other digit: a tone heard wrong, or speech taken for one
    cpu: float
    waiting: float  # share of the time the server waited for a CPU other processes had
    ticks_late: int  # media clock ticks run late (caught up) or skipped during the RTP
    ticks_skipped: int

    @property
    def server_loss_percent(self) -> float:
        expected = self.server_received + self.server_lost
        return 100.0 * self.server_lost / expected if expected else 100.0

    @property
    def clean(self) -> bool:
        sent = self.to_callers
        return (
            self.up == self.calls
            and sent is not None
            and sent.streams == self.calls
            and sent.loss_percent < MAX_LOSS_PERCENT
            and sent.jitter_ms_p95 < MAX_JITTER_MS
            and self.server_loss_percent < MAX_LOSS_PERCENT
            and HEARD_SHARE * self.tones.whole <= self.heard <= self.tones.begun
            and self.other_digits == 0
        )

    def __str__(self) -> str:
        sent = self.to_callers
        prompts = "no result"
        if sent is not None:
            prompts = (
                f"{sent.streams} streams, loss {sent.loss_percent:.3f}%, jitter p95/max "
                f"{sent.jitter_ms_p95:.2f}/{sent.jitter_ms_max:.2f} ms (the generator itself up "
                f"to {sent.late_send_ms_max:.1f} ms late)"
            )
        verdict = "clean" if self.clean else "NOT clean"
        return (
            f"  {self.calls:>5} calls ({self.up} up): to callers {prompts}; from callers loss "
            f"{self.server_loss_percent:.3f}%; digits heard {self.heard} of {self.tones.whole} "
            f"whole tones ({self.tones.begun} begun), {self.other_digits} wrong; media ticks "
            f"{self.ticks_late} late, {self.ticks_skipped} skipped; server CPU "
            f"{100 * self.cpu:.0f}% of a core, waiting for a CPU {100 * self.waiting:.0f}% of the "
            f"time; {verdict}"
        )


def run() -> None:
    missing = missing_programs("sipp", "gcc", "espeak-ng")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping")
        return
    with tempfile.TemporaryDirectory(prefix="load-app-digits-") as directory:
        workdir = Path(directory)
        generator = build_generator(workdir)
        print(f"RTP {SECONDS} s per step (rtp_calls.c), every caller pressing {DIGIT} in-band "
              f"every {LOOP_SECONDS} s; SIPp sets up and holds the calls")  # fmt: skip
        best = None
        with AnswerApplication() as app:
            for calls in STEPS:
                step = run_step(workdir / f"calls-{calls}", generator, calls, app)
                print(step, flush=True)
                if not step.clean:
                    break
                best = step
    calls = best.calls if best else 0
    cpu = f", server CPU {100 * best.cpu:.0f}% of a core" if best else ""
    print(f"calls in a GetDigits loop with in-band detection: {calls} clean (loss < "
          f"{MAX_LOSS_PERCENT}% both ways, jitter p95 < {MAX_JITTER_MS} ms, >= "
          f"{100 * HEARD_SHARE:.0f}% of digits heard; floor {FLOOR} per process){cpu}")  # fmt: skip


def run_step(workdir: Path, generator: Path, calls: int, app: AnswerApplication) -> DigitStep:
    workdir.mkdir()
    audio = leg_audio(workdir, PCMU, 0, caller_signal())
    before = app.statistics()["digits"]  # no caller sends a tone before the generator starts
    held = hold_calls(workdir, generator, calls, app.url("/digits"), audio)
    after = app.statistics()["digits"]
    heard = {digit: after.get(digit, 0) - before.get(digit, 0) for digit in after}
    return DigitStep(
        calls, held.up, held.to_callers, held.server_received, held.server_lost,
        TonesPlayed.over(held.streams), heard.pop(DIGIT, 0), sum(heard.values()), held.cpu,
        held.waiting, *held.ticks(),
    )  # fmt: skip


def caller_signal() -> Pcm16:
    """LOOP_SECONDS of voice-like audio ending in a TONE_MS DIGIT and as much silence."""
    signal = voice_like(SAMPLE_RATE, LOOP_SECONDS)
    tone_samples = SAMPLE_RATE * TONE_MS // 1000
    start = len(signal) - 2 * tone_samples
    signal[start:] = 0
    signal[start : start + tone_samples] = tone(
        dtmf_frequencies(DIGIT), tone_samples, TONE_AMPLITUDE
    )
    return signal


@dataclass(frozen=True, slots=True)
class TonesPlayed:
    """The tones the generator sent: whole ones, and all it began (a stream may start or stop
    in the middle of one). Every whole tone must be heard, and no press more than once."""

    whole: int
    begun: int

    @classmethod
    def over(cls, streams: int) -> "TonesPlayed":
        """Stream i sends frame (round + i) mod the loop's length in each 20 ms round
        (rtp_calls.c), for SECONDS of rounds; a tone starting in round s fills rounds s to
        s + tone_frames - 1."""
        frames = LOOP_SECONDS * 1000 // FRAME_MS
        tone_frames = TONE_MS // FRAME_MS
        rounds = SECONDS * 1000 // FRAME_MS
        residues = (frames - 2 * tone_frames - np.arange(streams)) % frames

        def starts_between(first: int, last: int) -> int:
            counts = (last - residues) // frames - (first - 1 - residues) // frames
            return int(counts.sum())

        return cls(
            whole=starts_between(0, rounds - tone_frames),
            begun=starts_between(1 - tone_frames, rounds - 1),
        )
