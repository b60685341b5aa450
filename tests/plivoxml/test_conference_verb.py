"""<Conference> on the in-memory SIP peer, a manual clock and a mixer without an engine: who is
in the mix, muted or deaf, what the room plays, what the application hears (enter, exit,
digits, record callbacks; the action with the member's identity), and how a room ends."""

import wave

import numpy as np
import pytest

from mediaserver.calls.conference_control import ConferenceControl, ConferenceNotFoundError
from mediaserver.calls.leg_events import DigitSource
from mediaserver.media.port import MediaSource
from mediaserver.plivoxml.conference_sounds import beeps
from mediaserver.plivoxml.prompts import BEEP_HZ
from mediaserver.sip.message import Request, parse_message
from mediaserver.store.conference_records import SqliteConferenceRecords
from tests.calls.in_memory import FakeMedia, Incoming, in_dialog, invite
from tests.plivoxml.application_harness import ANSWER_URL, AppHarness, running_application
from tests.plivoxml.fake_room_mixer import FakeRoomMixer

ACTION_URL = "http://app.test/left"
EVENTS_URL = "http://app.test/events"
AFTER = "<Response><Speak>after</Speak></Response>"


def room_document(name: str = "standup", **attributes: str) -> str:
    written = " ".join(f'{key}="{value}"' for key, value in attributes.items())
    return f"<Response><Conference {written}>{name}</Conference><Speak>after</Speak></Response>"


async def join(harness: AppHarness, number: int) -> Incoming:
    """Caller `number` calls in (each its own dialog and transaction)."""
    harness.calls.directory.register("bob", 5080)
    incoming = invite("bob", call_id=f"call-{number}")
    branch = f"branch=z9hG4bKmember{number}".encode()
    message = parse_message(incoming.request.serialize().replace(b"branch=z9hG4bKalice1", branch))
    assert isinstance(message, Request)
    incoming = Incoming(message)
    harness.calls.service.handle_invite(incoming)
    await harness.calls.settle()
    return incoming


async def hang_up(harness: AppHarness, caller: Incoming, number: int) -> None:
    harness.calls.service.handle_in_dialog(in_dialog(caller, "BYE", 10 + number))
    await harness.calls.settle()


def events(harness: AppHarness) -> list[tuple[str, str]]:
    """(ConferenceAction, ConferenceMemberID) of every callback, in order."""
    return [
        (r.params["ConferenceAction"], r.params["ConferenceMemberID"])
        for r in harness.app.to(EVENTS_URL)
    ]


def media(harness: AppHarness, number: int) -> FakeMedia:
    return harness.calls.media[number - 1]


async def test_members_meet_in_the_mix_and_callbacks_say_who_entered_and_left() -> None:
    document = room_document(callbackUrl=EVENTS_URL, action=ACTION_URL)
    async with running_application({ANSWER_URL: document, ACTION_URL: AFTER}) as harness:
        first, second = await join(harness, 1), await join(harness, 2)
        [mixer] = harness.mixers
        assert mixer.members == [media(harness, 1), media(harness, 2)]
        assert events(harness) == [("enter", "1"), ("enter", "2")]
        enter = harness.app.to(EVENTS_URL)[0].params
        assert enter["ConferenceName"] == "standup"
        assert enter["CallUUID"]
        assert enter["ConferenceUUID"]
        view = ConferenceControl(harness.rooms).room("standup")
        assert [m.member_id for m in view.members] == ["1", "2"]
        await hang_up(harness, first, 1)
        assert mixer.members == [media(harness, 2)]
        assert events(harness)[-1] == ("exit", "1")
        assert harness.app.to(ACTION_URL) == []  # a member that hung up fetches nothing
        await hang_up(harness, second, 2)
        assert mixer.closed
        assert harness.rooms.names() == []
        [record] = SqliteConferenceRecords(harness.calls.database).recent()
        assert record.conference_name == "standup"
        assert [(m.member_id, m.leave_reason) for m in record.members] == [
            ("1", "hangup"),
            ("2", "hangup"),
        ]
        assert record.start_time <= record.members[0].join_time <= record.members[0].leave_time
        assert record.members[1].leave_time <= record.end_time


async def test_max_members_refuses_the_next_member_who_goes_on_with_the_document() -> None:
    document = room_document(maxMembers="1")
    async with running_application({ANSWER_URL: document}) as harness:
        await join(harness, 1)
        await join(harness, 2)
        assert len(harness.mixers[0].members) == 1
        assert [text for text, _, _ in harness.tts.spoken] == ["after"]
        assert any("not admitted" in entry for entry in harness.debug)


async def test_a_room_whose_document_sets_no_max_members_holds_the_servers_default() -> None:
    """calls.conference_max_members stands for an absent maxMembers; a document's own wins."""
    async with running_application({ANSWER_URL: room_document()}) as harness:
        harness.rooms.default_max_members = 2
        for number in (1, 2, 3):
            await join(harness, number)
        assert len(harness.mixers[0].members) == 2
        assert any("not admitted (maxMembers 2)" in entry for entry in harness.debug)
        harness.app.documents[ANSWER_URL] = room_document(maxMembers="3")
        await join(harness, 4)
        assert len(harness.mixers[0].members) == 3


async def test_wait_sound_plays_until_a_member_starts_the_room() -> None:
    hold_url = "http://app.test/hold"
    waiting = room_document(startConferenceOnEnter="false", waitSound=hold_url)
    documents = {
        ANSWER_URL: waiting,
        hold_url: '<Response><Speak>please hold</Speak><Wait length="1"/></Response>',
    }
    async with running_application(documents) as harness:
        await join(harness, 1)
        [mixer] = harness.mixers
        assert mixer.members == []
        wait_sound = media(harness, 1)
        assert wait_sound.playing is not None
        assert not wait_sound.playing.done()
        assert harness.tts.spoken == [("please hold", "WOMAN", "en-US")]
        harness.app.documents[ANSWER_URL] = room_document()
        await join(harness, 2)
        assert wait_sound.playing.done()  # the wait sound stopped
        assert mixer.members == [media(harness, 1), media(harness, 2)]


async def test_end_conference_on_exit_takes_every_member_out_to_its_action() -> None:
    moderator = room_document(endConferenceOnExit="true", callbackUrl=EVENTS_URL)
    member = room_document(action=ACTION_URL, callbackUrl=EVENTS_URL)
    async with running_application({ANSWER_URL: moderator, ACTION_URL: AFTER}) as harness:
        boss = await join(harness, 1)
        harness.app.documents[ANSWER_URL] = member
        await join(harness, 2)
        await hang_up(harness, boss, 1)
        [action] = harness.app.to(ACTION_URL)
        assert action.params["ConferenceName"] == "standup"
        assert action.params["ConferenceMemberID"] == "2"
        assert action.params["CallStatus"] == "in-progress"
        assert events(harness)[-2:] == [("exit", "1"), ("exit", "2")]
        assert harness.mixers[0].closed
        assert [text for text, _, _ in harness.tts.spoken] == ["after"]


async def test_stay_alone_false_ends_the_room_when_that_member_is_left_alone() -> None:
    async with running_application({ANSWER_URL: room_document(stayAlone="false")}) as harness:
        first = await join(harness, 1)
        harness.app.documents[ANSWER_URL] = room_document()
        await join(harness, 2)
        await join(harness, 3)
        await hang_up(harness, first, 1)
        assert len(harness.mixers[0].members) == 2  # member 1 was not the one left alone
        harness.app.documents[ANSWER_URL] = room_document("other", stayAlone="false")
        await join(harness, 4)
        harness.app.documents[ANSWER_URL] = room_document("other")
        fifth = await join(harness, 5)
        await hang_up(harness, fifth, 5)
        assert harness.mixers[1].closed  # member 4 was left alone and may not stay alone
        assert [text for text, _, _ in harness.tts.spoken] == ["after"]


async def test_time_limit_ends_the_room() -> None:
    # (The harness's calls end after 10 s without RTP, so the limit is shorter.)
    document = room_document(timeLimit="6", action=ACTION_URL)
    async with running_application({ANSWER_URL: document, ACTION_URL: AFTER}) as harness:
        await join(harness, 1)
        await join(harness, 2)
        await harness.calls.advance(5.5)
        assert harness.app.to(ACTION_URL) == []
        await harness.calls.advance(1)
        assert len(harness.app.to(ACTION_URL)) == 2
        assert harness.mixers[0].closed


async def test_hangup_on_star_leaves_the_room_and_the_document_goes_on() -> None:
    document = room_document(hangupOnStar="true", action=ACTION_URL)
    async with running_application({ANSWER_URL: document, ACTION_URL: AFTER}) as harness:
        await join(harness, 1)
        await join(harness, 2)
        media(harness, 1).press("*", DigitSource.RFC4733)
        await harness.calls.settle()
        assert harness.mixers[0].members == [media(harness, 2)]
        [action] = harness.app.to(ACTION_URL)
        assert action.params["ConferenceMemberID"] == "1"
        assert media(harness, 2).digits_sent == []  # the star is not relayed


async def test_digits_match_is_reported_and_digits_are_relayed_to_the_others() -> None:
    document = room_document(digitsMatch="12,9", callbackUrl=EVENTS_URL)
    async with running_application({ANSWER_URL: document}) as harness:
        await join(harness, 1)
        await join(harness, 2)
        for digit in "512":
            media(harness, 1).press(digit, DigitSource.RFC4733)
        media(harness, 1).press("9", DigitSource.INBAND)
        await harness.calls.settle()
        digits = [
            r.params for r in harness.app.to(EVENTS_URL) if r.params["ConferenceAction"] == "digits"
        ]
        assert [d["ConferenceDigitsMatch"] for d in digits] == ["12", "9"]
        # RFC 4733 digits are relayed; in-band ones reach the others in the mix already.
        assert media(harness, 2).digits_sent == ["5", "1", "2"]


async def test_enter_and_exit_beeps_are_mixed_into_the_room() -> None:
    document = room_document(enterSound="beep:1", exitSound="beep:2")
    async with running_application({ANSWER_URL: document}) as harness:
        first = await join(harness, 1)
        await join(harness, 2)
        mixer = harness.mixers[0]
        await hang_up(harness, first, 1)
        lengths = [len(_samples(source)) for source in mixer.played]
        assert lengths == [len(beeps(1))] * 2 + [len(beeps(2))]


async def test_a_wideband_room_gets_its_beeps_at_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeRoomMixer, "rate", 16000)
    async with running_application({ANSWER_URL: room_document(enterSound="beep:1")}) as harness:
        await join(harness, 1)
        mixer = harness.mixers[0]
        assert mixer.played_rates == [16000]
        samples = np.array(_samples(mixer.played[0]), np.float64)
        assert len(samples) == len(beeps(1, 16000))
        spectrum = np.abs(np.fft.rfft(samples))
        assert np.argmax(spectrum) * 16000 / len(samples) == pytest.approx(BEEP_HZ, abs=10)


def _samples(source: MediaSource) -> list[int]:
    out: list[int] = []
    while (frame := source.read_frame()) is not None:
        out.extend(frame.tolist())
    return out


async def test_muted_member_is_muted_in_the_mix_and_control_unmutes_and_deafens() -> None:
    async with running_application({ANSWER_URL: room_document(muted="true")}) as harness:
        await join(harness, 1)
        await join(harness, 2)
        mixer, control = harness.mixers[0], ConferenceControl(harness.rooms)
        assert mixer.muted == {id(media(harness, 1)), id(media(harness, 2))}
        assert control.mute("standup", "2", muted=False) == ["2"]
        assert mixer.muted == {id(media(harness, 1))}
        assert control.deafen("standup", "all") == ["1", "2"]
        assert mixer.deaf == {id(media(harness, 1)), id(media(harness, 2))}
        view = control.room("standup")
        assert [(m.muted, m.deaf) for m in view.members] == [(True, True), (False, True)]
        with pytest.raises(ConferenceNotFoundError, match="member 7 "):
            control.kick("standup", "1,7")
        assert len(mixer.members) == 2  # a bad id changes nothing
        assert control.kick("standup", "1") == ["1"]
        assert mixer.members == [media(harness, 2)]
        await harness.calls.settle()
        assert [text for text, _, _ in harness.tts.spoken] == ["after"]  # kicked: goes on
        control.hang_up("standup")
        await harness.calls.settle()
        assert harness.calls.causes()[-1] == ("inbound", 4000, "API Request")


async def test_the_room_records_one_file_listed_as_a_conference_recording() -> None:
    document = room_document(record="true", recordFileFormat="wav", recordWhenAlone="true",
                             callbackUrl=EVENTS_URL, action=ACTION_URL)  # fmt: skip
    async with running_application({ANSWER_URL: document, ACTION_URL: AFTER}) as harness:
        first = await join(harness, 1)
        second = await join(harness, 2)
        mixer = harness.mixers[0]
        assert mixer.sink is not None
        for _ in range(50):
            mixer.sink.write_frame(beeps(1)[:160])
        await hang_up(harness, first, 1)
        await hang_up(harness, second, 2)
        await harness.rooms.close()
        [recording] = harness.recordings.added
        assert (recording.recording_type, recording.conference_name) == ("conference", "standup")
        assert recording.recording_duration_ms == 1000
        records = [
            r.params for r in harness.app.to(EVENTS_URL) if r.params["ConferenceAction"] == "record"
        ]
        assert [r["RecordingDurationMs"] for r in records] == ["-1", "-1", "1000", "1000"]
        assert {r["RecordingID"] for r in records} == {recording.recording_id}


async def test_a_wideband_room_records_at_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A room mixing at 16 kHz when its recording starts is recorded at 16 kHz."""
    monkeypatch.setattr(FakeRoomMixer, "rate", 16000)
    document = room_document(record="true", recordFileFormat="wav", recordWhenAlone="true")
    async with running_application({ANSWER_URL: document, ACTION_URL: AFTER}) as harness:
        caller = await join(harness, 1)
        mixer = harness.mixers[0]
        assert mixer.sink is not None
        assert mixer.sink_rate == 16000
        for _ in range(50):
            mixer.sink.write_frame(np.zeros(320, np.int16))
        await hang_up(harness, caller, 1)
        await harness.rooms.close()
        [recording] = harness.recordings.added
        assert recording.recording_duration_ms == 1000
        path = harness.recordings.path_for(recording.recording_id, "wav")
        with wave.open(str(path)) as file:
            assert file.getframerate() == 16000


async def test_control_reports_unknown_rooms() -> None:
    async with running_application({ANSWER_URL: room_document()}) as harness:
        control = ConferenceControl(harness.rooms)
        assert control.names() == []
        with pytest.raises(ConferenceNotFoundError):
            control.room("nobody")


async def test_floor_event_reports_this_member_taking_the_floor() -> None:
    document = room_document(floorEvent="true", callbackUrl=EVENTS_URL)
    async with running_application({ANSWER_URL: document}) as harness:
        await join(harness, 1)
        await join(harness, 2)
        mixer = harness.mixers[0]
        assert mixer.floor_handler is not None
        mixer.floor_handler(media(harness, 2))
        mixer.floor_handler(media(harness, 1))
        floors = [e for e in events(harness) if e[0] == "floor"]
        assert floors == [("floor", "2"), ("floor", "1")]
