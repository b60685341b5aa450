"""Calls driven by SIPp: an endpoint's call leaving through an outgoing carrier to a SIPp UAS."""

import socket

import pytest

from tests.conftest import ServerProcess
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.sipp import (
    FIXTURES,
    SIPP_PASSWORD,
    SIPP_USER,
    SippServer,
    requires_sipp,
    run_sipp,
)

pytestmark = [pytest.mark.interop, requires_sipp]


def test_endpoint_calls_a_number_through_the_outgoing_carrier(server: ServerProcess) -> None:
    server.cli("endpoint", "add", SIPP_USER, SIPP_PASSWORD, "--exact")
    with SippServer("uas") as trunk:
        server.cli(
            "carrier", "outgoing", "add", "trunk", "--address", trunk.address, "--prefix", "9"
        )
        before = baseline(server)
        code, output = run_sipp_call(server, "15551230000")
        assert code == 0, output
        trunk_code, trunk_output = trunk.wait()
        assert trunk_code == 0, trunk_output
    assert_no_leaks(server, before)
    a_leg, b_leg = call_records(server)
    assert (a_leg["direction"], b_leg["direction"]) == ("inbound", "outbound")
    assert b_leg["parent_call_uuid"] == a_leg["call_uuid"]
    assert b_leg["to_number"] == "915551230000"  # the carrier's prefix
    for leg in (a_leg, b_leg):
        assert (leg["hangup_cause_code"], leg["hangup_cause_name"]) == (4000, "Normal Hangup")
        assert leg["hangup_source"] == "Caller"
        assert leg["codec"] == "PCMU"
        assert leg["answer_time"] is not None


def run_sipp_call(server: ServerProcess, called: str) -> tuple[int, str]:
    result = run_sipp(
        "call_auth_uac.xml", f"127.0.0.1:{server.sip_port}",
        "-inf", str(FIXTURES / "users.csv"), "-s", called, "-d", "500",
        cwd=server.directory,
    )  # fmt: skip
    return result.returncode, result.stdout[-3000:]


def test_outgoing_carrier_fails_over_when_its_address_never_answers(
    server: ServerProcess,
) -> None:
    """The primary address swallows INVITEs; after retry_seconds the call goes to the failover
    address with the failover prefix (a SIPp UAS), and the caller is connected there."""
    server.cli("endpoint", "add", SIPP_USER, SIPP_PASSWORD, "--exact")
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent,
        SippServer("uas") as failover,
    ):
        silent.bind(("127.0.0.1", 0))
        silent.settimeout(10)
        server.cli(
            "carrier", "outgoing", "add", "trunk",
            "--address", f"127.0.0.1:{silent.getsockname()[1]}", "--prefix", "9",
            "--failover-address", failover.address, "--failover-prefix", "8",
            "--retries", "0", "--retry-seconds", "2",
        )  # fmt: skip
        before = baseline(server)
        code, output = run_sipp_call(server, "15551230000")
        assert code == 0, output
        first_invite = silent.recv(65535).decode()
        assert first_invite.startswith("INVITE sip:915551230000@")
        failover_code, failover_output = failover.wait()
        assert failover_code == 0, failover_output
    assert_no_leaks(server, before)
    a_leg, primary, secondary = call_records(server)
    assert (primary["to_number"], primary["hangup_cause_code"]) == ("915551230000", 3070)
    assert primary["answer_time"] is None
    assert (secondary["to_number"], secondary["hangup_cause_code"]) == ("815551230000", 4000)
    assert a_leg["hangup_cause_code"] == 4000
