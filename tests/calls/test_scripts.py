"""Scripts against CallControl on the in-memory peer: the control script end to end, an
originated leg, legs owned by scripts and handed between them, a script that fails."""

import asyncio
import logging

import numpy as np
import pytest

from mediaserver.calls.dialer import Caller
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import Answered, DigitSource, LegEvent, Ringing
from mediaserver.calls.leg_media import MediaRefusedError
from mediaserver.calls.router import Target
from mediaserver.calls.scripts import first_to_leave
from mediaserver.sip.uri import SipUri
from mediaserver.transport.peer import Peer
from tests.calls.conftest import Harness, running_harness
from tests.calls.control_script import collect_then_connect
from tests.calls.in_memory import in_dialog, invite, sdp

BOB = Target(SipUri.parse("sip:bob@127.0.0.1:5080"), Peer("udp", "127.0.0.1", 5080))
SYSTEM = Caller("<sip:system@phone.local>", "system")


async def test_control_script_answers_plays_collects_dials_and_bridges(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.service._inbound_script = collect_then_connect
    harness.directory.register("bob", 5080)
    alice = invite("bob")
    harness.service.handle_invite(alice)
    await harness.settle()
    assert alice.statuses[-1] == 200  # answered by the script, before any dial
    a_media = harness.media[0]
    assert a_media.played
    assert not harness.sip.invites()
    a_media.finish_playing()
    await harness.settle()
    caplog.set_level(logging.INFO, "control_script")
    a_media.press("1", DigitSource.RFC4733)
    harness.service.handle_in_dialog(in_dialog(alice, "INFO", 2, b"Signal=2\r\nDuration=100\r\n"))
    await harness.settle()
    assert "collected 12 by rfc4733,sip_info" in caplog.text
    [bob] = harness.sip.invites()
    bob.answer(200, sdp(6000))
    await harness.settle()
    assert a_media.connected_to(harness.media[1])
    bye = in_dialog(alice, "BYE", 3)
    harness.service.handle_in_dialog(bye)
    await harness.settle()
    assert harness.causes() == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]


async def test_originated_leg_rings_answers_and_is_found_by_uuid(harness: Harness) -> None:
    leg = await harness.service.originate(BOB, SYSTEM)
    events: list[LegEvent] = []
    leg.subscribe(events.append)
    assert harness.service.find(leg.call_uuid) is leg
    [sent] = harness.sip.invites()
    assert sent.request.from_address.uri.user == "system"
    sent.answer(180)
    sent.answer(200, sdp(6000))
    assert [type(event) for event in events] == [Ringing, Answered]
    assert leg.parent_call_uuid is None
    assert leg.direction == "outbound"
    leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)
    assert harness.sip.requests("BYE")
    assert harness.service.find(leg.call_uuid) is None
    assert harness.causes() == [("outbound", 4000, "Plivo")]


async def test_a_leg_handed_to_another_script_outlives_the_first(harness: Harness) -> None:
    leg = await harness.service.originate(BOB, SYSTEM)
    harness.sip.invites()[0].answer(200, sdp(6000))
    release = asyncio.Event()
    second_started = asyncio.Event()

    async def keeper() -> None:
        second_started.set()
        await release.wait()

    async def first() -> None:
        harness.service.scripts.start("second", keeper(), [leg])

    harness.service.scripts.start("first", first(), [leg])
    await harness.settle()
    assert second_started.is_set()
    assert not leg.ended  # the first script ended, but the leg was no longer its own
    release.set()
    await harness.settle()
    assert leg.ended  # its owner ended: the leg is hung up
    assert harness.causes() == [("outbound", 4000, "Plivo")]


async def test_a_leg_moved_to_another_script_leaves_the_first_running(harness: Harness) -> None:
    """A B leg transferred to its own document: the script that dialled it hears Transferred,
    runs on, and no longer hangs the leg up when it ends."""
    leg = await harness.service.originate(BOB, SYSTEM)
    harness.sip.invites()[0].answer(200, sdp(6000))
    release = asyncio.Event()
    left: list[object] = []

    async def dialler() -> None:
        left.append(await first_to_leave(leg))
        await release.wait()

    async def new_owner() -> None:
        await asyncio.sleep(3600)

    first = harness.service.scripts.start("dialler", dialler(), [leg])
    await harness.settle()
    moved = harness.service.scripts.move(leg, "transfer", new_owner())
    await harness.settle()
    assert left == [leg]
    assert not leg.ended
    assert first.task is not None
    assert not first.task.done()
    release.set()
    await harness.settle()
    assert first.task.done()
    assert not leg.ended  # its new owner has it
    assert moved.owns(leg)
    assert moved.task is not None
    moved.task.cancel()
    await harness.settle()
    assert harness.causes() == [("outbound", 4000, "Plivo")]


async def test_a_failing_script_hangs_up_its_legs_with_an_internal_error(
    harness: Harness,
) -> None:
    leg = await harness.service.originate(BOB, SYSTEM)
    harness.sip.invites()[0].answer(200, sdp(6000))

    async def broken() -> None:
        raise RuntimeError("a bug in a script")

    harness.service.scripts.start("broken", broken(), [leg])
    await harness.settle()
    assert harness.causes() == [("outbound", 5010, "Error")]
    assert len(harness.service.scripts) == 0


class SpokenText:
    """A TtsEngine that 'speaks' a second of silence and notes what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str, int]] = []

    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> object:
        self.asked.append((text, voice, language, sample_rate))
        return np.zeros(sample_rate, np.int16)


async def test_speak_plays_what_the_engine_synthesised_and_ends_on_hangup() -> None:
    speech = SpokenText()
    async with running_harness(tts=speech) as harness:
        leg = await harness.service.originate(BOB, SYSTEM)
        harness.sip.invites()[0].answer(200, sdp(6000))
        speaking = asyncio.ensure_future(leg.speak("Hello", "MAN", "en-GB"))
        await harness.settle()
        assert speech.asked == [("Hello", "MAN", "en-GB", 8000)]
        [source] = harness.media[0].played
        assert source.read_frame() is not None  # the synthesised samples, frame by frame
        leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)
        assert await speaking is False  # ended early by the hangup


async def test_speak_without_an_engine_is_a_clear_error(harness: Harness) -> None:
    leg = await harness.service.originate(BOB, SYSTEM)
    harness.sip.invites()[0].answer(200, sdp(6000))
    with pytest.raises(MediaRefusedError, match="text-to-speech"):
        await leg.speak("Hello")
    leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)
