"""Scripts written only against CallControl, run by the server with pjsua2 phones: the control
script (answer, prompt, two digits by RFC 4733, SIP INFO or in-band, dial, bridge, hang up)
and a leg originated with no caller's leg."""

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mediaserver.calls.dialer import Caller
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.router import Route
from mediaserver.media.tones import SampleSource, tone
from tests.calls.control_script import PROMPT_HZ, collect_then_connect
from tests.conftest import ServerProcess
from tests.interop.call_checks import LEAK_COUNTERS, assert_no_leaks, baseline, call_records
from tests.interop.in_process import InProcessServer
from tests.interop.leg_waits import wait_answered
from tests.interop.phone import Phone, dominant_between, read_wav

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")
# In-process, the file descriptors are the test's own too (the phones' pipes), so they are
# not the server's to account for; every other counter is.
SERVER_COUNTERS = tuple(name for name in LEAK_COUNTERS if name != "mediaserver_process_open_fds")


def start_server(factory: Callable[..., ServerProcess], **fields: object) -> InProcessServer:
    server = factory(kind=InProcessServer, **fields)
    assert isinstance(server, InProcessServer)
    for user in ("alice", "bob"):
        server.cli("endpoint", "add", user, f"{user}-secret", "--exact")
    return server


@pytest.mark.parametrize(
    ("command", "source"),
    [("dial_dtmf", "rfc4733"), ("info_dtmf", "sip_info"), ("inband_dtmf", "inband")],
)
def test_control_script_with_pjsua2(
    server_factory: Callable[..., ServerProcess],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    command: str,
    source: str,
) -> None:
    caplog.set_level(logging.INFO, "control_script")
    server = start_server(server_factory, inbound_script=collect_then_connect)
    before = baseline(server)
    heard_by_alice, heard_by_bob = tmp_path / "alice.wav", tmp_path / "bob.wav"
    inband = command == "inband_dtmf"
    with (
        Phone(
            "alice", server.sip_port, password="alice-secret", record_path=heard_by_alice,
            tone_hz=None if inband else 440, telephone_event=not inband,
        ) as alice,
        Phone(
            "bob", server.sip_port, password="bob-secret", tone_hz=1000,
            record_path=heard_by_bob, auto_answer=200,
        ) as bob,
    ):  # fmt: skip
        alice.register()
        bob.register()
        alice.call("sip:bob@phone.local")
        alice.wait_for("call_state", state="CONFIRMED")  # answered by the script itself
        time.sleep(2.5)  # the 2 s prompt
        alice.send(command, digits="12")
        bob.wait_for("call_state", state="CONFIRMED", timeout=15)
        time.sleep(2.5)
        alice.send("stop_recording")
        bob.send("stop_recording")
        alice.hangup()
        bob.wait_for("call_state", state="DISCONNECTED")
    assert f"collected 12 by {source}" in caplog.text
    assert abs(dominant_between(heard_by_alice, 0.3, 1.8) - PROMPT_HZ) < 15
    end = _length(heard_by_alice)
    assert abs(dominant_between(heard_by_alice, end - 1.5, end - 0.2) - 1000) < 15
    if not inband:
        assert abs(dominant_between(heard_by_bob, 0.5, _length(heard_by_bob) - 0.2) - 440) < 15
    a_leg, b_leg = call_records(server)
    assert (a_leg["hangup_cause_code"], b_leg["hangup_cause_code"]) == (4000, 4000)
    assert b_leg["parent_call_uuid"] == a_leg["call_uuid"]
    assert_no_leaks(server, before, counters=SERVER_COUNTERS)


def test_originated_leg_rings_plays_and_hangs_up(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = start_server(server_factory)
    heard_by_bob = tmp_path / "bob.wav"
    with Phone(
        "bob", server.sip_port, password="bob-secret", record_path=heard_by_bob, auto_answer=200
    ) as bob:
        bob.register()
        assert server.server is not None
        route = server.server.router.route_to_endpoint("bob")
        assert isinstance(route, Route)
        server.run(originate_and_play(server, route))
        bob.wait_for("incoming_call")
        bob.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="DISCONNECTED", timeout=10)
    assert abs(dominant_between(heard_by_bob, 0.3, 1.5) - PROMPT_HZ) < 15
    [record] = call_records(server)
    assert record["direction"] == "outbound"
    assert record["parent_call_uuid"] is None
    assert (record["hangup_cause_code"], record["hangup_source"]) == (4000, "Plivo")
    assert record["answer_time"] is not None


async def originate_and_play(server: InProcessServer, route: Route) -> None:
    """Ring bob with no caller's leg; once answered, play 2 s of the prompt tone, hang up."""
    assert server.server is not None
    calls = server.server.calls
    caller = Caller("<sip:system@phone.local>", "system")
    leg = await calls.originate(route.attempts[0].targets[0], caller)

    async def play_then_hang_up() -> None:
        if await wait_answered(leg):
            await leg.play(SampleSource(tone((PROMPT_HZ,), 16000, 8000.0)))
            leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)

    calls.scripts.start("originate", play_then_hang_up(), [leg])


def _length(path: Path) -> float:
    samples, rate = read_wav(path)
    return len(samples) / rate
