"""Answering-machine detection from voice activity and speech timing, as a sink port.

The callee's audio after the answer is read 20 ms at a time. A person picks up and says a
short greeting ("hello?") and then waits for an answer; a machine plays a recorded greeting
that talks on without a pause long enough for anyone to reply. The settings are Plivo's
machine_detection_* knobs (the Call API, plivo.md §4.1), the rules those of every VAD and
timing detector (Asterisk's app_amd has the same ones):

- a *word* is a stretch of speech of at least MINIMUM_WORD_MS, words separated by pauses of
  at least BETWEEN_WORDS_MS;
- the *greeting* is the speech from the first word until the first silence of
  `after_greeting_silence_ms`: that silence means a person waiting for a reply (human);
- a greeting longer than `greeting_ms`, more words than `maximum_words`, or one stretch of
  speech longer than `maximum_speech_ms` is a machine;
- no word within `initial_silence_ms`, or no decision within `analysis_ms`, is not sure.

The verdict comes as soon as the evidence allows: a "hello" then 800 ms of silence is a human
about a second and a half after the answer, a machine's greeting a machine once it has talked
for 1.5 s. `SpeechTiming` is the rules over one voiced/not-voiced flag per frame;
`MachineDetector` puts the project's VAD in front of it.
"""

import enum
from dataclasses import dataclass

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_MS
from mediaserver.media.vad import VoiceActivityDetector

MINIMUM_WORD_MS = 100
BETWEEN_WORDS_MS = 60


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    """Plivo's knobs (milliseconds), each with its default."""

    analysis_ms: int = 5000  # machine_detection_time
    initial_silence_ms: int = 4500  # machine_detection_initial_silence
    greeting_ms: int = 1500  # machine_detection_initial_greeting
    after_greeting_silence_ms: int = 800  # machine_detection_silence
    maximum_words: int = 3  # machine_detection_maximum_words
    maximum_speech_ms: int = 5000  # machine_detection_maximum_speech_length


class Outcome(enum.Enum):
    HUMAN = "human"
    MACHINE = "machine"
    NOT_SURE = "not sure"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str  # which rule decided, for the call's debug log
    after_ms: int  # of audio analysed


class SpeechTiming:
    """The rules above, fed one flag per 20 ms frame: was it speech."""

    def __init__(self, settings: DetectionSettings) -> None:
        self.settings = settings
        self.verdict: Verdict | None = None
        self.words = 0
        self._elapsed_ms = 0
        self._voice_ms = 0  # the current stretch of speech
        self._silence_ms = 0  # the current pause
        self._in_word = False
        self._greeting_start_ms: int | None = None

    def observe(self, voiced: bool) -> Verdict | None:
        """Take one frame's flag; the verdict once there is one (then always the same)."""
        if self.verdict is not None:
            return self.verdict
        self._elapsed_ms += FRAME_MS
        if voiced:
            self._voice()
        else:
            self._pause()
        if self.verdict is None and self._elapsed_ms >= self.settings.analysis_ms:
            self._decide(Outcome.NOT_SURE, "analysis time")
        return self.verdict

    def time_out(self) -> Verdict:
        """The analysis time is over whatever the frames said (none may have come)."""
        if self.verdict is None:
            self._decide(Outcome.NOT_SURE, "analysis time")
        assert self.verdict is not None
        return self.verdict

    def _voice(self) -> None:
        settings = self.settings
        self._voice_ms += FRAME_MS
        self._silence_ms = 0
        if not self._in_word and self._voice_ms >= MINIMUM_WORD_MS:
            self._in_word = True
            self.words += 1
            if self._greeting_start_ms is None:
                self._greeting_start_ms = self._elapsed_ms - self._voice_ms
        if self.words > settings.maximum_words:
            self._decide(Outcome.MACHINE, "maximum words")
        elif self._greeting_start_ms is not None and (
            self._elapsed_ms - self._greeting_start_ms > settings.greeting_ms
        ):
            self._decide(Outcome.MACHINE, "long greeting")
        elif self._voice_ms > settings.maximum_speech_ms:
            self._decide(Outcome.MACHINE, "maximum speech length")

    def _pause(self) -> None:
        settings = self.settings
        self._silence_ms += FRAME_MS
        if self._silence_ms >= BETWEEN_WORDS_MS:
            self._in_word = False
            self._voice_ms = 0
        if self.words == 0 and self._elapsed_ms >= settings.initial_silence_ms:
            self._decide(Outcome.NOT_SURE, "initial silence")
        elif self.words > 0 and self._silence_ms >= settings.after_greeting_silence_ms:
            self._decide(Outcome.HUMAN, "silence after greeting")

    def _decide(self, outcome: Outcome, reason: str) -> None:
        self.verdict = Verdict(outcome, reason, self._elapsed_ms)


class MachineDetector:
    """A sink of the callee's frames; `verdict` once the timing rules have decided."""

    def __init__(self, settings: DetectionSettings) -> None:
        # No hangover: the pauses between words are what the rules count.
        self._vad = VoiceActivityDetector(hangover_frames=0)
        self.timing = SpeechTiming(settings)

    @property
    def verdict(self) -> Verdict | None:
        return self.timing.verdict

    def write_frame(self, pcm: Pcm16) -> None:
        if self.timing.verdict is None:
            self._vad.write_frame(pcm)
            self.timing.observe(self._vad.is_speech)
