"""Speak through a real call: the server rings a pjsua2 phone, speaks a sentence with the
configured TTS engine, and the phone's recording is compared with the synthesised audio."""

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mediaserver.calls.dialer import Caller
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.router import Route
from mediaserver.media.pyttsx3_engine import Pyttsx3Engine
from tests.conftest import ServerProcess
from tests.interop.in_process import InProcessServer
from tests.interop.leg_waits import wait_answered
from tests.interop.phone import Phone, read_wav
from tests.media.speech_measures import envelope, envelope_distance_db

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")
TEXT = "Thank you for calling. Your call is important to us."
OTHER_TEXT = "Please hold while we connect you to the next agent."
SPOKEN_RMS = 300.0
# Through G.711 and the phone's jitter buffer and recorder, the sentence heard is further from
# the synthesised one than two renderings are: measured 0.63 dB, and 2.0 dB from another
# sentence.
HEARD_DB = 1.2


def spoken_part(samples: np.ndarray, rate: int) -> np.ndarray:
    """From the first to the last 20 ms frame louder than silence, as int16 at unit level."""
    loud = np.nonzero(envelope(samples.astype(np.int16), rate) > SPOKEN_RMS)[0]
    assert len(loud), "nothing was heard"
    frame = rate // 50
    part = samples[loud[0] * frame : (loud[-1] + 1) * frame].astype(np.float64)
    return part / np.sqrt(np.mean(part**2))


def distance_db(heard: np.ndarray, spoken: np.ndarray, rate: int) -> float:
    """Levels differ after G.711 and the phone's recorder: both are scaled to one RMS, and
    what is 30 dB below it counts as silence (G.711's own noise fills the pauses)."""
    scaled = [np.rint(3000 * spoken_part(x, rate)).astype(np.int16) for x in (heard, spoken)]
    return envelope_distance_db(scaled[0], scaled[1], rate, floor_rms=100)


async def ring_and_speak(server: InProcessServer, route: Route) -> None:
    assert server.server is not None
    calls = server.server.calls
    leg = await calls.originate(
        route.attempts[0].targets[0], Caller("<sip:ivr@phone.local>", "ivr")
    )

    async def speak_then_hang_up() -> None:
        if await wait_answered(leg):
            await leg.speak(TEXT, "WOMAN", "en-US")
            leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)

    calls.scripts.start("speak", speak_then_hang_up(), [leg])


@pytest.mark.parametrize("engine", ["pyttsx3", "espeak-ng"])
def test_a_phone_hears_the_sentence_spoken(
    server_factory: Callable[..., ServerProcess], tmp_path: Path, engine: str
) -> None:
    server = server_factory(f'[tts]\nengine = "{engine}"\n', kind=InProcessServer)
    assert isinstance(server, InProcessServer)
    assert server.server is not None
    server.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    tts = server.server.tts
    assert tts.engine.name == engine
    heard_path = tmp_path / "bob.wav"
    with Phone(
        "bob", server.sip_port, password="bob-secret", record_path=heard_path, auto_answer=200
    ) as bob:
        bob.register()
        route = server.server.router.route_to_endpoint("bob")
        assert isinstance(route, Route)
        server.run(ring_and_speak(server, route))
        bob.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="DISCONNECTED", timeout=15)
    heard, rate = read_wav(heard_path)
    spoken = server.run(tts.synthesize(TEXT, "WOMAN", "en-US", rate))  # from the cache
    other = server.run(tts.synthesize(OTHER_TEXT, "WOMAN", "en-US", rate))
    assert (tts.syntheses, tts.cache_hits) == (2, 1)
    assert distance_db(heard, spoken, rate) < HEARD_DB
    assert distance_db(heard, other, rate) > HEARD_DB  # the measure tells texts apart
    workers = tts.engine.workers if isinstance(tts.engine, Pyttsx3Engine) else []
    pids = [worker.pid for worker in workers if worker.pid is not None]
    assert len(pids) == (2 if engine == "pyttsx3" else 0)  # both started with the server
    server.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
