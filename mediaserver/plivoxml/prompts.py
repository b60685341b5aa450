"""The verbs that make sound or wait for it: Speak, Play, Wait and DTMF (plivo.md §2.2, §2.3,
§2.9). They also run as GetDigits' prompts and PreAnswer's children."""

import asyncio
from xml.etree import ElementTree

from audiocodecs.pcm import Pcm16
from mediaserver.calls.deadlines import NamedTimers
from mediaserver.media.beep_detector import BeepDetector
from mediaserver.media.file_player import FilePlayer
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.tones import SampleSource, tone
from mediaserver.media.tts import SynthesisError, UnsupportedLanguageError
from mediaserver.media.vad import VoiceActivityDetector
from mediaserver.plivoxml.session import CallSession, SoundError
from mediaserver.plivoxml.verbs import LOOP_FOREVER, Dtmf, Play, Prompt, Speak, Wait

POLLY_PREFIX = "Polly."
FALLBACK_VOICE = "WOMAN"
# FreeSWITCH's beep as plivoframework played it: tone_stream://%(300,200,700).
BEEP_HZ = 700.0
BEEP_MS = 300
BEEP_AMPLITUDE = 8000.0


async def play_beep(session: CallSession) -> bool:
    beep = tone((BEEP_HZ,), SAMPLE_RATE * BEEP_MS // 1000, BEEP_AMPLITUDE)
    return await session.leg.play(SampleSource(beep))


async def run_prompt(session: CallSession, prompt: Prompt) -> bool:
    """Run one prompt; False when it was cut short (stopped, or the call ended)."""
    match prompt:
        case Speak():
            return await run_speak(session, prompt)
        case Play():
            return await run_play(session, prompt)
        case Wait():
            await run_wait(session, prompt)
    return not session.leg.ended


async def run_speak(session: CallSession, verb: Speak) -> bool:
    """`loop` times, or until stopped when LOOP_FOREVER; a TTS failure is logged and skipped."""
    text, voice = _spoken_text(verb), verb.voice
    if voice.startswith(POLLY_PREFIX):
        session.debug(f"<Speak voice={voice!r}>: no Polly voices here, {FALLBACK_VOICE} speaks")
        voice = FALLBACK_VOICE
    plays = 0
    while verb.loop == LOOP_FOREVER or plays < verb.loop:
        try:
            finished = await session.leg.speak(text, voice, verb.language)
        except (UnsupportedLanguageError, SynthesisError) as error:
            session.debug(f"<Speak> could not be synthesised: {error}")
            return not session.leg.ended
        if not finished:
            return False
        plays += 1
    return True


def _spoken_text(verb: Speak) -> str:
    """SSML is only honoured with Polly voices (Plivo, concepts/ssml): with WOMAN and MAN the
    words are spoken and the markup is not. `sub` says its alias, as SSML means it to."""
    if not verb.ssml:
        return verb.text
    root = ElementTree.fromstring(f"<speak>{verb.text}</speak>")  # validated by the parser
    for sub in root.iter("sub"):
        sub.text, sub[:] = sub.get("alias", sub.text or ""), []
    return " ".join("".join(root.itertext()).split())


async def run_play(session: CallSession, verb: Play) -> bool:
    """A URL that cannot be fetched or decoded is logged and the document goes on (§2.3)."""
    try:
        samples = await session.services.sounds.load(verb.url)
    except SoundError as error:
        session.debug(f"<Play> {verb.url}: {error}")
        return not session.leg.ended
    return await session.leg.play(FilePlayer(samples, verb.loop))


async def run_wait(session: CallSession, verb: Wait) -> None:
    """Silence for `length` seconds (legacy docs: Wait is silent), ended early by `minSilence`
    of silence from the caller or by a voicemail beep when asked."""
    if not (verb.silence or verb.beep):
        await session.sleep(verb.length)
        return
    watch = _WaitWatch(verb)
    session.caller_audio.listen(watch)
    timers = NamedTimers(session.services.deadlines)
    timers.after("length", verb.length, watch.finish)
    try:
        await watch.done
    finally:
        timers.cancel_all()
        session.caller_audio.stop_listening(watch)


async def run_dtmf(session: CallSession, verb: Dtmf) -> None:
    """Send the digits; `async` (the default) goes on at once while they are sent."""
    if not verb.asynchronous:
        await session.leg.send_digits(verb.digits)
        return
    session.background(session.leg.send_digits(verb.digits))


class _WaitWatch:
    """A sink on the caller's audio that ends a Wait on silence or on a beep."""

    def __init__(self, verb: Wait) -> None:
        self._verb = verb
        self._vad = VoiceActivityDetector() if verb.silence else None
        self._beeps = BeepDetector() if verb.beep else None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def write_frame(self, pcm: Pcm16) -> None:
        if self._vad is not None:
            self._vad.write_frame(pcm)
            if self._vad.silence_seconds * 1000 >= self._verb.min_silence_ms:
                self.finish()
        if self._beeps is not None and self._beeps.write_frame(pcm):
            self.finish()

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)
