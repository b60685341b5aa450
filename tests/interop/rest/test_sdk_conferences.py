"""Conference rooms through the official `plivo` SDK's conferences resource (plivo.md §4.2): three
pjsua2 members (PCMU, PCMA, PCMU), each sending its own tone, join by an application's
<Conference>, each recording what it receives.

Proof by measurement: what the SDK lists and gets is what the server holds; mute takes a
member's tone out of the others' audio and deaf silences what a member hears (FFT); a tone
played to one member is heard by it alone; speech to the room is heard by everyone (level
against the muted room's silence); the room's recording holds the members' tones. Kick sends a
member on to the rest of its document (which ends: 4010), member hangup and hangup-all end
calls as API requests (4000), and the room is gone. A sub-account sees none of it; unknown
rooms and member ids are 404s naming them. Counters are back at baseline afterwards.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import plivo
import pytest

from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.call_checks import LEAK_COUNTERS, assert_no_leaks
from tests.interop.phone import Phone, read_wav
from tests.interop.rest.conftest import _BASE_URIS, AUTH_ID, AUTH_TOKEN
from tests.interop.rest.test_sdk_calls import recording_or_none, wait_until
from tests.interop.test_application_conference import (
    Samples,
    assert_hears,
    band_level,
    call_in,
    call_in_each,
    phones,
    wait_for_members,
    window,
)
from tests.interop.test_application_media import tone_file
from tests.interop.test_application_record import download

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

NAMES = ["alice", "bob", "carol"]  # members 1, 2 and 3, in the order they call in
PLAYED_HZ = 600  # played to carol only; no sum or difference of the members' tones
COUNTERS = (
    *LEAK_COUNTERS,
    "mediaserver_applications_conference_rooms",
    "mediaserver_applications_conference_members",
    "mediaserver_applications_conference_tasks",
    "mediaserver_media_conferences",
)


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory('[log]\nlevel = "DEBUG"\n')


@pytest.fixture
def client(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[plivo.RestClient]:
    for name in _BASE_URIS:
        monkeypatch.setattr(
            plivo.rest.client, name, f"http://127.0.0.1:{server.api_port}/v1/Account"
        )
    sdk = plivo.RestClient(AUTH_ID, AUTH_TOKEN)
    yield sdk
    sdk.session.close()


def members_of_the_room_app(server: ServerProcess, answer_url: str) -> None:
    output = server.cli("application", "add", "rooms", "--answer-url", answer_url)
    for user in NAMES:
        server.cli(
            "endpoint", "add", user, f"{user}-secret", "--exact", "--app", output.split()[-1]
        )


def baseline(server: ServerProcess, client: plivo.RestClient) -> dict[str, float]:
    """The counters once the SDK holds its keep-alive connection."""
    client.conferences.list()
    metrics = server.metrics()
    return {name: metrics.get(name, 0.0) for name in COUNTERS}


def rms(samples: Samples) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def test_the_sdk_lists_moderates_plays_speaks_records_and_ends_a_live_room(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path
) -> None:
    played = tone_file(tmp_path / "played.wav", PLAYED_HZ, 2.0)
    document = "<Response><Conference>standup</Conference></Response>"
    with ApplicationServer({"/answer": document}, files={"/600.wav": played}) as app:
        members_of_the_room_app(server, app.url("/answer"))
        before = baseline(server, client)
        marks: dict[str, float] = {}
        with phones(server, tmp_path, NAMES) as members:
            joined = call_in_each(members)
            wait_for_members(server, 3)
            room = client.conferences.get("standup")
            assert client.conferences.list().conferences == ["standup"]
            assert_members_as_held(room, server)
            assert_out_of_reach(client, room.members[0].call_uuid)
            time.sleep(1.5)

            marks["muted"] = time.monotonic()
            assert client.conferences.member_mute("standup", "1").member_id == "1"
            client.conferences.member_deaf("standup", "2")
            assert [(m.muted, m.deaf) for m in client.conferences.get("standup").members] == [
                (True, False), (False, True), (False, False),
            ]  # fmt: skip
            time.sleep(2.5)
            marks["restored"] = time.monotonic()
            client.conferences.member_mute_stop("standup", "1")
            client.conferences.member_deaf_stop("standup", "2")
            client.conferences.member_play("standup", "3", app.url("/600.wav"))
            time.sleep(2.5)

            recording = client.conferences.record("standup", file_format="wav")
            assert recording.message == "conference recording started"
            time.sleep(2.0)
            client.conferences.record_stop("standup")

            marks["quiet"] = time.monotonic()
            client.conferences.member_mute("standup", "all")
            time.sleep(2.0)
            marks["spoken"] = time.monotonic()
            client.conferences.member_speak(
                "standup", "all", "Hello conference, this is a test of the speech to a room"
            )
            time.sleep(2.5)
            client.conferences.member_speak_stop("standup", "all")

            call_uuids = {m.member_id: m.call_uuid for m in room.members}
            assert client.conferences.member_kick("standup", "3").message == "kicked"
            members["carol"].wait_for("call_state", state="DISCONNECTED", timeout=15)
            assert client.conferences.member_hangup("standup", "2").message == "hangup"
            members["bob"].wait_for("call_state", state="DISCONNECTED", timeout=15)
            wait_until(
                lambda: [m.member_id for m in client.conferences.get("standup").members] == ["1"]
            )
            client.conferences.hangup_all()
            members["alice"].wait_for("call_state", state="DISCONNECTED", timeout=15)
            wait_until(lambda: client.conferences.list().conferences == [])

    heard = {name: read_wav(tmp_path / f"{name}.wav") for name in NAMES}

    def phase(name: str, start: str, end: float) -> Samples:
        samples, rate = heard[name]
        begin = marks[start] - joined[name]
        return window(samples, rate, begin + 0.4, end - joined[name] - 0.4)

    rate = heard["alice"][1]
    # Muted alice is heard by nobody; deaf bob hears nothing; alice still hears the others.
    assert_hears(phase("carol", "muted", marks["restored"]), rate, {"bob"}, {"alice", "carol"})
    assert rms(phase("bob", "muted", marks["restored"])) < 50, "a deaf member received sound"
    assert_hears(phase("alice", "muted", marks["restored"]), rate, {"bob", "carol"}, {"alice"})
    # The tone played to carol is hers alone, and she still hears the room.
    to_carol = phase("carol", "restored", marks["restored"] + 2.0)
    to_alice = phase("alice", "restored", marks["restored"] + 2.0)
    assert band_level(to_carol, rate, PLAYED_HZ) > 20 * band_level(to_alice, rate, PLAYED_HZ)
    assert band_level(to_carol, rate, PLAYED_HZ) > 100
    assert_hears(to_carol, rate, {"alice", "bob"}, set())  # mixed over the room, not instead
    # Speech to the whole room (every member muted) is heard by every member.
    for name in NAMES[:2]:
        silence = rms(phase(name, "quiet", marks["spoken"]))
        speech = rms(phase(name, "spoken", marks["spoken"] + 2.0))
        assert speech > 10 * max(silence, 1.0), (name, speech, silence)

    stored = wait_until(lambda: recording_or_none(client, recording.recording_id))
    assert (stored.conference_name, stored.recording_type) == ("standup", "conference")
    assert 1800 <= int(stored.recording_duration_ms) <= 2600
    samples, room_rate = read_wav(download(stored.recording_url, tmp_path / "room.wav"))
    assert_hears(window(samples, room_rate, 0.3, -0.3), room_rate, set(NAMES), set())

    assert_no_leaks(server, before, counters=COUNTERS)
    causes = {
        member_id: (record.hangup_cause_code, record.hangup_source)
        for member_id, record in ((m, client.calls.get(u)) for m, u in call_uuids.items())
    }
    assert causes == {
        "1": (4000, "API Request"),  # hangup_all
        "2": (4000, "API Request"),  # member hangup
        "3": (4010, "Plivo"),  # kicked: its document went on, and ended
    }


def assert_members_as_held(room: Any, server: ServerProcess) -> None:
    """What the SDK parsed is the server's room: three members in order of arrival, with the
    callers' SIP URIs, inbound, none muted or deaf."""
    assert (room.conference_name, room.conference_member_count) == ("standup", "3")
    assert int(room.conference_run_time) >= 0
    assert [m.member_id for m in room.members] == ["1", "2", "3"]
    for member, name in zip(room.members, NAMES, strict=True):
        assert member["from"].startswith(f"sip:{name}@")
        assert member.to.startswith("sip:room@")
        assert member.direction == "inbound"
        assert (member.muted, member.deaf) == (False, False)
        assert int(member.join_time) >= 0
    metrics = server.metrics()
    assert metrics["mediaserver_applications_conference_members"] == 3


def assert_out_of_reach(client: plivo.RestClient, call_uuid: str) -> None:
    """A sub-account sees no room of the main account; unknown rooms and member ids are 404s
    naming them, and change nothing."""
    created = client.subaccounts.create(name="shop", enabled=True)
    shop = plivo.RestClient(created.auth_id, created.auth_token)
    assert shop.conferences.list().conferences == []
    for act in (
        lambda: shop.conferences.get("standup"),
        lambda: shop.conferences.member_mute("standup", "1"),
        lambda: shop.conferences.member_kick("standup", "all"),
        lambda: shop.conferences.record("standup"),
        lambda: shop.conferences.hangup("standup"),
    ):
        with pytest.raises(plivo.exceptions.ResourceNotFoundError, match="conference standup"):
            act()
    shop.session.close()
    with pytest.raises(plivo.exceptions.ResourceNotFoundError, match="member 9 not in standup"):
        client.conferences.member_mute("standup", "1,9")
    with pytest.raises(plivo.exceptions.ResourceNotFoundError, match="conference nobody"):
        client.conferences.get("nobody")
    assert not any(m.muted for m in client.conferences.get("standup").members)
    assert call_uuid in {m.call_uuid for m in client.conferences.get("standup").members}


def test_a_sub_accounts_room_and_its_recording_are_its_own(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path
) -> None:
    """A sub-account's endpoint, on its application, opens the sub-account's room: the
    sub-account lists, records and hangs it up; the main account's names do not reach it."""
    document = "<Response><Conference>standup</Conference></Response>"
    with ApplicationServer({"/answer": document}) as app:
        created = client.subaccounts.create(name="shop", enabled=True)
        shop = plivo.RestClient(created.auth_id, created.auth_token)
        app_id = shop.applications.create(app_name="rooms", answer_url=app.url("/answer")).app_id
        endpoint = shop.endpoints.create(
            username="dave", password="dave-secret", alias="Dave", app_id=app_id
        )
        before = baseline(server, client)
        with Phone(
            endpoint.username, server.sip_port, password="dave-secret", tone_hz=1080,
            record_path=tmp_path / "dave.wav",
        ) as dave:  # fmt: skip
            dave.register()
            call_in(dave)
            wait_for_members(server, 1)
            assert shop.conferences.list().conferences == ["standup"]
            assert client.conferences.list().conferences == []
            with pytest.raises(plivo.exceptions.ResourceNotFoundError, match="standup"):
                client.conferences.member_kick("standup", "1")
            recording = shop.conferences.record("standup", file_format="wav")
            time.sleep(1.5)
            shop.conferences.record_stop("standup")
            shop.conferences.hangup("standup")
            dave.wait_for("call_state", state="DISCONNECTED", timeout=15)
        stored = wait_until(lambda: recording_or_none(shop, recording.recording_id))
        shop.session.close()
    assert (stored.conference_name, stored.sub_account) == ("standup", created.auth_id)
    assert_no_leaks(server, before, counters=COUNTERS)
