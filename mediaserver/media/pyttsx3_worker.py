"""The pyttsx3 worker process, `python -m mediaserver.media.pyttsx3_worker`, and its line
protocol (pyttsx3_engine.py is the server's side).

pyttsx3's espeak driver initialises libespeak-ng once per process and keeps it global, and
`save_to_file` + `runAndWait` run its callback loop until the utterance ends: so it runs here,
one request at a time, never in the server. Requests arrive on stdin, one JSON line each;
each is answered on stdout by one JSON line, then the audio as raw little-endian 16-bit
samples. The worker exits at the end of its input.
"""

import json
import os
import signal
import sys
import tempfile
import threading
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

ESPEAK_OK = 0  # espeak_ERROR EE_OK (speak_lib.h)


@dataclass(frozen=True, slots=True)
class RenderRequest:
    text: str
    voice: str  # an espeak-ng voice file and variant, e.g. "gmw/en-US+f3"
    words_per_minute: int

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode() + b"\n"  # JSON escapes newlines in the text

    @classmethod
    def decode(cls, line: bytes) -> "RenderRequest":
        return cls(**json.loads(line))


@dataclass(frozen=True, slots=True)
class RenderReply:
    """`sample_count` samples follow the line; none when `error` says why."""

    sample_rate: int = 0
    sample_count: int = 0
    error: str = ""

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes) -> "RenderReply":
        return cls(**json.loads(line))


class Speaker:
    """pyttsx3's engine, saving each text to one scratch WAV file that is read back.

    pyttsx3's espeak driver needs three things worked around, or its audio varies from run
    to run (seen: a Danish sentence at 0.79 s, then 1.04 s, for the same text):
    - it renders on libespeak-ng's own thread (AUDIO_OUTPUT_RETRIEVAL is asynchronous), so
      `runAndWait` may return before the file is written: the driver's `finished-utterance`
      notice, sent once the file is closed, says it is done;
    - `runAndWait` first stops whatever libespeak-ng is busy with (espeak_Cancel), which
      drops voice and rate changes still queued in it: properties set through the engine
      are queued until that very moment, so they are set here through the driver's own
      libespeak-ng binding, and the worker waits until libespeak-ng is idle (Synchronize)
      before each utterance;
    - errors inside its command queue are not raised but notified as `error`.
    """

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.settings = ("", 0)  # voice and words per minute libespeak-ng has now
        self.failure = ""
        self.finished = threading.Event()
        self.errors: list[Exception] = []
        try:
            import pyttsx3  # here, not at the top: the server's side imports the protocol
            from pyttsx3.drivers import _espeak

            # The espeak driver by name: the voice names sent here are espeak-ng's.
            self.engine: Any = pyttsx3.init("espeak")
            self.espeak: Any = _espeak
        except Exception as error:  # every request is then answered with this reason
            self.failure = f"cannot start pyttsx3's espeak driver: {error}"
            return
        self.engine.connect("finished-utterance", lambda **_: self.finished.set())
        self.engine.connect("error", lambda exception, **_: self.errors.append(exception))

    def render(self, request: RenderRequest) -> tuple[RenderReply, bytes]:
        if self.failure:
            return RenderReply(error=self.failure), b""
        try:
            samples, sample_rate = self._save(request)
        except Exception as error:
            return RenderReply(error=f"pyttsx3 failed for {request.voice}: {error}"), b""
        finally:
            self.scratch.unlink(missing_ok=True)
        return RenderReply(sample_rate, len(samples) // 2), samples

    def _save(self, request: RenderRequest) -> tuple[bytes, int]:
        self._use(request.voice, request.words_per_minute)
        self.finished.clear()
        self.errors.clear()
        self.engine.save_to_file(request.text, str(self.scratch))
        self.engine.runAndWait()
        self.finished.wait()  # the server's time-out ends a wait that would never end
        self.espeak.Synchronize()
        if self.errors:
            raise self.errors[0]
        with wave.open(str(self.scratch)) as reader:
            return reader.readframes(reader.getnframes()), reader.getframerate()

    def _use(self, voice: str, words_per_minute: int) -> None:
        if (voice, words_per_minute) == self.settings:
            return  # loading a voice costs more than rendering a sentence
        self.settings = ("", 0)
        if self.espeak.SetVoiceByName(voice.encode()) != ESPEAK_OK:
            raise ValueError(f"libespeak-ng has no voice {voice!r}")
        self.espeak.SetParameter(self.espeak.RATE, words_per_minute, 0)
        self.espeak.Synchronize()
        self.settings = (voice, words_per_minute)


def serve(requests: BinaryIO, replies: BinaryIO, scratch: Path) -> None:
    speaker = Speaker(scratch)
    for line in requests:
        reply, samples = speaker.render(RenderRequest.decode(line))
        replies.write(reply.encode() + samples)
        replies.flush()


def main() -> None:
    # The server stops its workers by closing their input; a Ctrl-C meant for it is not ours.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # pyttsx3 prints "Audio saved to ..." for every file: keep it out of the replies.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    with tempfile.TemporaryDirectory(prefix="pyttsx3-") as directory:
        serve(sys.stdin.buffer, replies, Path(directory) / "speech.wav")


if __name__ == "__main__":
    main()
