"""Applications that fail, with pjsua2 callers: the answer URL down (the fallback URL runs the
call), both down (7011 and a clean hangup), malformed XML (8011), and an application server
that answers only after 30 s, which holds up no other call."""

import time
from collections.abc import Callable

import pytest

from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

SPEAK = "<Response><Speak>Hello from the fallback</Speak></Response>"
DEAD_URL = "http://127.0.0.1:9/answer"  # the discard port: nothing listens


def add_app(server: ServerProcess, name: str, answer_url: str, *options: str) -> str:
    output = server.cli("application", "add", name, "--answer-url", answer_url, *options)
    return output.splitlines()[-1]


def caller(server: ServerProcess, name: str, app_id: str) -> None:
    server.cli("endpoint", "add", name, f"{name}-secret", "--exact", "--app", app_id)


def test_answer_url_down_the_fallback_runs_the_call(
    server_factory: Callable[..., ServerProcess],
) -> None:
    with ApplicationServer({"/fallback": SPEAK}) as app:
        server = server_factory()
        options = ("--fallback-answer-url", app.url("/fallback"), "--fallback-method", "GET")
        caller(server, "alice", add_app(server, "falls", DEAD_URL, *options))
        before = baseline(server)
        with Phone("alice", server.sip_port, password="alice-secret") as alice:
            alice.register()
            alice.call("sip:anything@phone.local")
            alice.wait_for("call_state", state="CONFIRMED", timeout=20)
            alice.wait_for("call_state", state="DISCONNECTED", timeout=20)
        [fallback] = [r for r in app.requests_to("/fallback") if "HangupCause" not in r.params]
    assert fallback.method == "GET"
    [record] = call_records(server)
    assert record["hangup_cause_code"] == 4010
    assert_no_leaks(server, before)


def test_answer_and_fallback_down_end_the_call_7011(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory()
    options = ("--fallback-answer-url", "http://127.0.0.1:9/fallback")
    caller(server, "alice", add_app(server, "dead", DEAD_URL, *options))
    before = baseline(server)
    with Phone("alice", server.sip_port, password="alice-secret") as alice:
        alice.register()
        alice.call("sip:anything@phone.local")
        ended = alice.wait_for("call_state", state="DISCONNECTED", timeout=30)
    assert ended["last_status_code"] == 500  # refused before any answer
    [record] = call_records(server)
    assert (record["hangup_cause_code"], record["hangup_source"]) == (7011, "Error")
    assert_no_leaks(server, before)


def test_malformed_xml_ends_the_call_8011(server_factory: Callable[..., ServerProcess]) -> None:
    with ApplicationServer({"/answer": "<Response><Speak>unclosed</Response>"}) as app:
        server = server_factory()
        caller(server, "alice", add_app(server, "bad", app.url("/answer")))
        with Phone("alice", server.sip_port, password="alice-secret") as alice:
            alice.register()
            alice.call("sip:anything@phone.local")
            alice.wait_for("call_state", state="DISCONNECTED", timeout=20)
    [record] = call_records(server)
    assert record["hangup_cause_code"] == 8011
    assert "invalid XML" in server.log()


def test_a_server_answering_after_30_s_holds_up_no_other_call(
    server_factory: Callable[..., ServerProcess],
) -> None:
    routes = {"/slow": SPEAK, "/fast": SPEAK}
    with ApplicationServer(routes, delay_seconds={"/slow": 30.0}) as app:  # type: ignore[arg-type]
        server = server_factory()
        caller(server, "alice", add_app(server, "slow", app.url("/slow")))
        caller(server, "carol", add_app(server, "fast", app.url("/fast")))
        with (
            Phone("alice", server.sip_port, password="alice-secret") as alice,
            Phone("carol", server.sip_port, password="carol-secret") as carol,
        ):
            alice.register()
            carol.register()
            alice.call("sip:anything@phone.local")
            time.sleep(1.0)  # alice's answer URL is now hanging
            started = time.monotonic()
            carol.call("sip:anything@phone.local")
            carol.wait_for("call_state", state="CONFIRMED", timeout=10)
            answered_after = time.monotonic() - started
            carol.wait_for("call_state", state="DISCONNECTED", timeout=20)
            alice.hangup()
    assert answered_after < 3.0
    codes = {record["to_number"]: record["hangup_cause_code"] for record in call_records(server)}
    assert 4010 in codes.values()
