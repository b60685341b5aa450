"""DTMF across the bridge whatever each leg negotiated (pjsua2 on both sides).

Alice negotiates RFC 4733 telephone-event; bob's SDP carries none. Alice's RFC 4733 digits and
her SIP INFO digit reach bob as Q.23 tones in his audio, which multimon-ng decodes from his
recording; bob's in-band tones reach alice as RFC 4733 events, which pjsua2 reports, each
lasting as long as its tone.
"""

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone, multimon_digits

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not shutil.which("multimon-ng"), reason="multimon-ng is not installed"),
]
pytest.importorskip("pjsua2")


@pytest.fixture
def server(server_factory: Callable[[str], ServerProcess]) -> ServerProcess:
    started = server_factory('[log]\nlevel = "DEBUG"\n')
    for user in ("alice", "bob"):
        started.cli("endpoint", "add", user, f"{user}-secret", "--exact")
    return started


def test_dtmf_crosses_between_rfc4733_and_inband(server: ServerProcess, tmp_path: Path) -> None:
    before = baseline(server)
    heard_by_bob = tmp_path / "bob.wav"
    with (
        Phone("alice", server.sip_port, password="alice-secret") as alice,
        Phone(
            "bob", server.sip_port, password="bob-secret", record_path=heard_by_bob,
            telephone_event=False, auto_answer=200,
        ) as bob,
    ):  # fmt: skip
        alice.register()
        bob.register()
        alice.call("sip:bob@phone.local")
        alice.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="CONFIRMED")
        time.sleep(0.5)
        alice.send("dial_dtmf", digits="159")
        time.sleep(1.5)
        alice.send("info_dtmf", digits="#")
        time.sleep(1.0)
        bob.send("inband_dtmf", digits="28*", on_msec=300)
        received = [alice.wait_for("dtmf", timeout=5)["digit"] for _ in range(3)]
        ended = [alice.wait_for("dtmf_end", timeout=5) for _ in range(3)]
        bob.send("stop_recording")
        alice.hangup()
        bob.wait_for("call_state", state="DISCONNECTED")
    assert received == ["2", "8", "*"]
    # The events follow the tones (RFC 4733 §2.5.1.2), not a fixed length: 300 ms, and at
    # most a tick more than the detector's start and end lags differ by.
    assert [e["digit"] for e in ended] == received
    assert all(300 <= e["duration_ms"] <= 340 for e in ended), ended
    assert multimon_digits(heard_by_bob) == "159#"
    assert_no_leaks(server, before)
    assert [
        (r["direction"], r["hangup_cause_code"], r["hangup_source"]) for r in call_records(server)
    ] == [
        ("inbound", 4000, "Caller"),
        ("outbound", 4000, "Caller"),
    ]
