"""What a conference room hears from its members' enterSound and exitSound, and what a waiting
member hears from waitSound (plivo.md §2.8).

`beep:1` and `beep:2` are one or two of the beeps Record and Wait play (FreeSWITCH's
tone_stream://%(300,200,700) in PF); any other value is a URL answering Play/Speak/Wait XML,
fetched with POST and the member's parameters. Room sounds are mixed into what every member
hears (and the room's recording), never swapped in; waitSound goes to the waiting member only
and loops until the room starts (PF ran only Play and Wait in it, plivoframework #65 asked for
Speak: all three run here).

Room sounds are rendered at the rate the room mixes at (16 kHz with a wideband member,
media/mixer.py), so Speak is wideband there; a played file is decoded at 8 kHz (the sound
cache's rate) and resampled to it.
"""

import asyncio

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.calls.conference_room import ConferenceRoom
from mediaserver.media.file_player import FilePlayer
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.resampler import Resampler
from mediaserver.media.tones import SampleSource, tone
from mediaserver.media.tts import SynthesisError, UnsupportedLanguageError
from mediaserver.plivoxml.prompt_documents import fetch_prompts
from mediaserver.plivoxml.prompts import BEEP_AMPLITUDE, BEEP_HZ, BEEP_MS
from mediaserver.plivoxml.session import CallSession, SoundError
from mediaserver.plivoxml.verbs import Play, Prompt, Speak, Wait

BEEP_GAP_MS = 200  # between the two beeps of beep:2 (PF's tone_stream pause)
BEEPS = {"beep:1": 1, "beep:2": 2}


def beeps(count: int, sample_rate: int = SAMPLE_RATE) -> Pcm16:
    """`count` beeps with a gap between them."""
    length = sample_rate * BEEP_MS // 1000
    beep = tone((BEEP_HZ,), length, BEEP_AMPLITUDE, sample_rate=sample_rate)
    gap = np.zeros(sample_rate * BEEP_GAP_MS // 1000, np.int16)
    pieces = [beep]
    for _ in range(count - 1):
        pieces += [gap, beep]
    return np.concatenate(pieces)


async def play_to_room(session: CallSession, room: ConferenceRoom, sound: str) -> None:
    """An enter or exit sound, mixed into the room at the room's rate."""
    sample_rate = room.mix_rate()
    samples = await render_sound(session, sound, sample_rate)
    if len(samples) and not room.closed:
        await room.play(SampleSource(samples, sample_rate), sample_rate)


async def play_wait_sound(session: CallSession, url: str) -> None:
    """The waitSound document to the waiting member, again and again until cancelled (the
    room started, or the member left); with nothing playable the member waits in silence."""
    samples = await render_sound(session, url)
    if len(samples):
        await session.leg.play(FilePlayer(samples, loop=0))
    await asyncio.get_running_loop().create_future()  # silence until cancelled


async def render_sound(session: CallSession, sound: str, sample_rate: int = SAMPLE_RATE) -> Pcm16:
    """The samples of a sound at `sample_rate`: beeps, or the Play, Speak and Wait verbs of
    the document at a URL one after another (anything else there is skipped; what fails is
    logged)."""
    if sound in BEEPS:
        return beeps(BEEPS[sound], sample_rate)
    pieces = [np.zeros(0, np.int16)]
    for prompt in await fetch_prompts(session, sound, "<Conference> sound") if sound else ():
        pieces.append(await _samples(session, prompt, sample_rate))
    return np.concatenate(pieces)


async def _samples(session: CallSession, prompt: Prompt, sample_rate: int) -> Pcm16:
    """A Play or Speak `loop` times (forever counts once here), a Wait as its silence."""
    match prompt:
        case Play():
            try:
                samples = await session.services.sounds.load(prompt.url)
            except SoundError as error:
                session.debug(f"<Conference> sound {prompt.url}: {error}")
                return np.zeros(0, np.int16)
            samples = Resampler(SAMPLE_RATE, sample_rate).process(samples)
        case Speak():
            samples = await _speech(session, prompt, sample_rate)
        case Wait():
            return np.zeros(prompt.length * sample_rate, np.int16)
    return np.tile(samples, max(prompt.loop, 1))


async def _speech(session: CallSession, prompt: Speak, sample_rate: int) -> Pcm16:
    tts = session.services.tts
    if tts is None:
        session.debug("<Conference> sound: no text-to-speech engine here")
        return np.zeros(0, np.int16)
    try:
        return await tts.synthesize(prompt.text, prompt.voice, prompt.language, sample_rate)
    except (UnsupportedLanguageError, SynthesisError) as error:
        session.debug(f"<Conference> sound could not be synthesised: {error}")
        return np.zeros(0, np.int16)
