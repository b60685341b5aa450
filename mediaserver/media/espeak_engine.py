"""The espeak-ng program as a speech engine: one asyncio subprocess per text.

A process of its own per text keeps synthesis off the event loop, lets several run at once
and isolates crashes; it costs a process start (and a voice load) per text.
"""

import asyncio
import contextlib
import io
import wave

import numpy as np

from mediaserver.media.tts import WORDS_PER_MINUTE, Speech, SynthesisError

REQUEST_TIMEOUT = 10.0  # seconds; espeak-ng renders a minute of speech in well under one


class EspeakEngine:
    name = "espeak-ng"

    def __init__(self, program: str = "espeak-ng", timeout: float = REQUEST_TIMEOUT) -> None:
        self.program = program
        self.timeout = timeout
        self.renders = 0
        self.running = 0

    async def render(self, text: str, espeak_voice: str) -> Speech:
        arguments = ["-v", espeak_voice, "-s", str(WORDS_PER_MINUTE), "--stdout", "--stdin"]
        try:
            process = await asyncio.create_subprocess_exec(
                self.program,
                *arguments,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise SynthesisError(f"cannot run {self.program}: {error}") from error
        wav, errors = await self._communicate(process, text)
        if process.returncode != 0:
            raise SynthesisError(f"{self.program} failed for {espeak_voice}: {errors.decode()}")
        self.renders += 1
        return _parse_wav(wav, self.program)

    async def _communicate(
        self, process: asyncio.subprocess.Process, text: str
    ) -> tuple[bytes, bytes]:
        self.running += 1
        try:
            async with asyncio.timeout(self.timeout):
                return await process.communicate(text.encode())
        except TimeoutError:
            raise SynthesisError(f"{self.program} took over {self.timeout} s") from None
        finally:
            self.running -= 1
            if process.returncode is None:  # timed out or cancelled: leave no process behind
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()

    async def start(self) -> None:
        """Nothing lives long: a process per text."""

    def statistics(self) -> dict[str, int]:
        return {"renders": self.renders, "processes": self.running}

    async def close(self) -> None:
        """Nothing outlives a render."""


def _parse_wav(wav: bytes, program: str) -> Speech:
    """espeak-ng streams its WAV to stdout, so the header's sizes are placeholders: the data
    runs to the end of what it wrote."""
    try:
        with wave.open(io.BytesIO(wav)) as reader:
            sample_rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as error:
        raise SynthesisError(f"{program} wrote no WAV audio: {error}") from error
    return Speech(np.frombuffer(frames, "<i2").astype(np.int16), sample_rate)
