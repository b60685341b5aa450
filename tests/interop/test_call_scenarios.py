"""SIPp scenarios (fixtures/sipp) against calls: a carrier's SIPp calls one of our numbers,
which rings bob, a registered pjsua2 phone; or an endpoint's SIPp call leaves through the
outgoing carrier. Each test checks the call records and that nothing leaked."""

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import ServerProcess
from tests.interop.call_checks import SHORT_TIMERS, assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone
from tests.interop.sipp import (
    SippServer,
    requires_sipp,
    run_sipp,
)

pytestmark = [pytest.mark.interop, requires_sipp]
pytest.importorskip("pjsua2")
NUMBER = "15550001111"


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    started = server_factory('[log]\nlevel = "DEBUG"\n', sip_toml=SHORT_TIMERS)
    started.cli("carrier", "incoming", "add", "trunk", "127.0.0.1")
    started.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    started.cli("number", "add", NUMBER, "--alias", "bob")
    return started


@pytest.fixture
def bob(server: ServerProcess) -> Iterator[Phone]:
    with Phone("bob", server.sip_port, password="bob-secret", auto_answer=200) as phone:
        phone.register()
        yield phone


def sipp(server: ServerProcess, scenario: str, *arguments: str) -> None:
    result = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", "-s", NUMBER, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr


def records(server: ServerProcess) -> list[tuple[str, int, str]]:
    return [
        (row["direction"], row["hangup_cause_code"], row["hangup_source"])
        for row in call_records(server)
    ]


def test_carrier_call_to_a_number_rings_its_endpoint(server: ServerProcess, bob: Phone) -> None:
    before = baseline(server)
    sipp(server, "carrier_call.xml", "-d", "500")
    bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    assert records(server) == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]
    assert call_records(server)[0]["source_ip"] == "127.0.0.1"


def test_unknown_source_is_forbidden(server: ServerProcess, bob: Phone) -> None:
    before = baseline(server)
    sipp(server, "carrier_forbidden.xml", "-i", "127.0.0.2")
    assert_no_leaks(server, before, transactions=True)
    assert call_records(server) == []


def test_offerless_invite_gets_our_offer_and_the_answer_comes_in_the_ack(
    server: ServerProcess, bob: Phone
) -> None:
    before = baseline(server)
    sipp(server, "offerless_invite.xml", "-d", "500")
    bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    assert records(server) == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]
    assert call_records(server)[0]["codec"] == "PCMU"


def test_offerless_reinvite_gets_a_full_offer(server: ServerProcess, bob: Phone) -> None:
    before = baseline(server)
    sipp(server, "offerless_reinvite.xml", "-d", "500")
    bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    assert records(server) == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]


class ScenarioWhileBobHolds:
    """Runs a scenario that waits for the server's re-INVITE, and makes bob hold meanwhile."""

    def __init__(self, server: ServerProcess, bob: Phone, scenario: str) -> None:
        with SippClient(server, scenario) as client:
            bob.wait_for("call_state", state="CONFIRMED", timeout=15)
            bob.drain()
            bob.send("hold")
            self.code, self.output = client.wait()


def test_reinvite_glare_gets_491(server: ServerProcess, bob: Phone) -> None:
    before = baseline(server)
    run = ScenarioWhileBobHolds(server, bob, "glare_reinvite.xml")
    assert run.code == 0, run.output
    bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    assert records(server) == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]


def test_bye_during_reinvite_ends_both_legs(server: ServerProcess, bob: Phone) -> None:
    before = baseline(server)
    run = ScenarioWhileBobHolds(server, bob, "bye_during_reinvite.xml")
    assert run.code == 0, run.output
    bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    assert records(server) == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]


def test_info_dtmf_reaches_the_callee(server: ServerProcess, bob: Phone) -> None:
    before = baseline(server)
    sipp(server, "info_dtmf.xml", "-d", "1000")
    assert [bob.wait_for("dtmf")["digit"] for _ in range(2)] == ["5", "#"]
    bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before, transactions=True)
    assert records(server) == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]


class SippClient(SippServer):
    """A SIPp UAC in the background, calling the test server's number."""

    def __init__(self, server: ServerProcess, scenario: str) -> None:
        super().__init__(scenario, "-s", NUMBER, target=f"127.0.0.1:{server.sip_port}")


def test_cancel_racing_the_200_ends_cleanly(server: ServerProcess, bob: Phone) -> None:
    before = baseline(server)
    sipp(server, "cancel_race.xml")
    bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before)
    (a_leg, a_cause, _), (b_leg, b_cause, _) = records(server)
    # Whichever won the race, both legs agree: cancelled (1000) or answered then hung up (4000).
    assert (a_leg, b_leg) == ("inbound", "outbound")
    assert a_cause == b_cause
    assert a_cause in (1000, 4000)
