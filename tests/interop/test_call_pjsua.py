"""Two pjsua2 softphones registered to the server call each other through it (the B2BUA)."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.interop.call_checks import SHORT_TIMERS, assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone, dominant_frequency

pytestmark = pytest.mark.interop
pj = pytest.importorskip("pjsua2")


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    # The SIP trace when a test fails; short SIP timers so transactions can be leak-checked.
    started = server_factory('[log]\nlevel = "DEBUG"\n', sip_toml=SHORT_TIMERS)
    for user in ("alice", "bob"):
        started.cli("endpoint", "add", user, f"{user}-secret", "--exact")
    return started


def phone(server: ServerProcess, user: str, **options: object) -> Phone:
    created = Phone(user, server.sip_port, password=f"{user}-secret", **options)  # type: ignore[arg-type]
    created.register()
    return created


def test_call_carries_audio_both_ways_holds_and_hangs_up(
    server: ServerProcess, tmp_path: Path
) -> None:
    before = baseline(server)
    heard_by_alice, heard_by_bob = tmp_path / "alice.wav", tmp_path / "bob.wav"
    with (
        phone(server, "alice", tone_hz=440, record_path=heard_by_alice) as alice,
        phone(server, "bob", tone_hz=1000, record_path=heard_by_bob, auto_answer=200) as bob,
    ):
        alice.call("sip:bob@phone.local")
        bob.wait_for("incoming_call")
        alice.wait_for("call_state", state="EARLY")  # ringing reached the caller
        alice.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="CONFIRMED")
        time.sleep(2)
        bob.drain()
        alice.send("hold")
        bob.wait_for("media_state", status="REMOTE_HOLD")
        bob.drain()
        alice.send("unhold")
        bob.wait_for("media_state", status="ACTIVE")
        time.sleep(1)
        alice.send("stop_recording")
        bob.send("stop_recording")
        alice.hangup()
        alice.wait_for("done", command="hangup")
        bob.wait_for("call_state", state="DISCONNECTED")
        alice.wait_for("call_state", state="DISCONNECTED")
    assert abs(dominant_frequency(heard_by_alice) - 1000) < 15
    assert abs(dominant_frequency(heard_by_bob) - 440) < 15
    assert_no_leaks(server, before, transactions=True)
    a_leg, b_leg = call_records(server)
    assert (a_leg["from_number"], a_leg["to_number"]) == ("alice", "bob")
    assert a_leg["hangup_source"] == b_leg["hangup_source"] == "Caller"
    assert a_leg["hangup_cause_code"] == b_leg["hangup_cause_code"] == 4000


def test_callee_hangs_up(server: ServerProcess) -> None:
    before = baseline(server)
    with phone(server, "alice") as alice, phone(server, "bob", auto_answer=200) as bob:
        alice.call("sip:bob@phone.local")
        alice.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="CONFIRMED")
        bob.hangup()
        alice.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    assert {row["hangup_source"] for row in call_records(server)} == {"Callee"}


def test_cancel_before_answer_gives_487(server: ServerProcess) -> None:
    before = baseline(server)
    with phone(server, "alice") as alice, phone(server, "bob", auto_answer=180) as bob:
        alice.call("sip:bob@phone.local")
        bob.wait_for("incoming_call")
        alice.wait_for("call_state", state="EARLY")
        alice.hangup()  # pjsua2 CANCELs a call that is still ringing
        assert alice.wait_for("call_state", state="DISCONNECTED")["last_status_code"] == 487
        bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before)
    a_leg, b_leg = call_records(server)
    assert (a_leg["hangup_cause_code"], a_leg["hangup_source"], a_leg["sip_status"]) == (
        1000, "Caller", 487,
    )  # fmt: skip
    assert a_leg["answer_time"] is None
    assert b_leg["hangup_cause_code"] == 1000


def test_busy_callee_gives_486_to_the_caller(server: ServerProcess) -> None:
    before = baseline(server)
    with phone(server, "alice") as alice, phone(server, "bob", auto_answer=486):
        alice.call("sip:bob@phone.local")
        assert alice.wait_for("call_state", state="DISCONNECTED")["last_status_code"] == 486
    assert_no_leaks(server, before)
    a_leg, b_leg = call_records(server)
    assert (a_leg["hangup_cause_name"], a_leg["hangup_cause_code"]) == ("Busy Line", 3010)
    assert (b_leg["sip_status"], b_leg["hangup_source"]) == (486, "Callee")


def test_unregistered_callee_is_480_with_cause_2020(server: ServerProcess) -> None:
    before = baseline(server)
    with phone(server, "alice") as alice:
        alice.call("sip:bob@phone.local")
        assert alice.wait_for("call_state", state="DISCONNECTED")["last_status_code"] == 480
    assert_no_leaks(server, before)
    [a_leg] = call_records(server)
    assert (a_leg["hangup_cause_code"], a_leg["hangup_cause_name"]) == (
        2020, "Endpoint Not Registered",
    )  # fmt: skip


def test_every_registered_contact_rings_and_the_first_answer_wins(server: ServerProcess) -> None:
    """Two phones registered as bob: both ring, one answers, the other is cancelled."""
    before = baseline(server)
    with (
        phone(server, "alice") as alice,
        phone(server, "bob", auto_answer=180) as ringing_bob,
        phone(server, "bob", auto_answer=200) as answering_bob,
    ):
        alice.call("sip:bob@phone.local")
        ringing_bob.wait_for("incoming_call")
        answering_bob.wait_for("incoming_call")
        alice.wait_for("call_state", state="CONFIRMED")
        answering_bob.wait_for("call_state", state="CONFIRMED")
        # pjsua2 reports the CANCEL it answered as 487 on its own INVITE.
        assert ringing_bob.wait_for("call_state", state="DISCONNECTED")["last_status_code"] == 487
        alice.hangup()
        answering_bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    a_leg, *b_legs = call_records(server)
    assert (a_leg["hangup_cause_code"], a_leg["hangup_source"]) == (4000, "Caller")
    outcomes = sorted((row["hangup_cause_name"], row["answer_time"] is None) for row in b_legs)
    assert outcomes == [("Lost Race", True), ("Normal Hangup", False)]
    assert {row["parent_call_uuid"] for row in b_legs} == {a_leg["call_uuid"]}


def test_a_call_ends_at_its_maximum_duration(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("[calls]\nmax_duration = 2\n", sip_toml=SHORT_TIMERS)
    for user in ("alice", "bob"):
        server.cli("endpoint", "add", user, f"{user}-secret", "--exact")
    before = baseline(server)
    with phone(server, "alice") as alice, phone(server, "bob", auto_answer=200) as bob:
        alice.call("sip:bob@phone.local")
        alice.wait_for("call_state", state="CONFIRMED")
        answered = time.monotonic()
        alice.wait_for("call_state", state="DISCONNECTED", timeout=10)
        bob.wait_for("call_state", state="DISCONNECTED")
        lasted = time.monotonic() - answered
    assert 1.5 < lasted < 4, lasted
    assert_no_leaks(server, before, transactions=True)
    for row in call_records(server):
        assert (row["hangup_cause_code"], row["hangup_cause_name"], row["hangup_source"]) == (
            6000, "Scheduled Hangup", "Plivo",
        )  # fmt: skip
