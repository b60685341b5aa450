"""DTMF across the bridge whatever each leg negotiated (pjsua2 on both sides).

Alice negotiates RFC 4733 telephone-event; bob's SDP carries none. Alice's RFC 4733 digits and
her SIP INFO digit reach bob as Q.23 tones in his audio, which multimon-ng decodes from his
recording; bob's in-band tones reach alice as RFC 4733 events, which pjsua2 reports, each
lasting as long as its tone.

Digits sent back to back must reach bob as one tone per digit, each as long as its event or
INFO says, with at least 40 ms of silence between them. pjsua2's dialDtmf sends RFC 4733 events
of 200 ms (1600 samples), each starting with the packet after the previous one's last end
packet; its sendDtmf over SIP INFO sends one INFO per digit at once, each with Duration=160.

Bob's jitter buffer holds HELD_MS of audio. multimon-ng hears a concealed frame in a tone as
the end of a digit, and pjmedia's adaptive buffer shrinks to about a frame when packets come
steadily, so a packet later than bob's next read (6-17 ms late in the failures seen) was
concealed: the server's media tick waits that long for a CPU on a loaded machine (its process
runnable, not busy), and one run in 8 to 20 heard a digit twice ('1559#'). HELD_MS is as
long as the media clock catches up after a stall (ticker.py, five ticks); a longer stall skips
ticks, and bob conceals the frames missing then.
"""

import contextlib
import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone, multimon_digits, tone_bursts

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not shutil.which("multimon-ng"), reason="multimon-ng is not installed"),
]
pytest.importorskip("pjsua2")

HELD_MS = 100


@pytest.fixture
def server(server_factory: Callable[[str], ServerProcess]) -> ServerProcess:
    started = server_factory('[log]\nlevel = "DEBUG"\n')
    for user in ("alice", "bob"):
        started.cli("endpoint", "add", user, f"{user}-secret", "--exact")
    return started


@contextlib.contextmanager
def alice_calls_bob(server: ServerProcess, heard_by_bob: Path) -> Iterator[tuple[Phone, Phone]]:
    """Alice (RFC 4733) calls bob (no telephone-event, recording what he hears); both are
    in the call, its media flowing, when the body runs."""
    with (
        Phone("alice", server.sip_port, password="alice-secret") as alice,
        Phone(
            "bob", server.sip_port, password="bob-secret", record_path=heard_by_bob,
            telephone_event=False, auto_answer=200, jitter_buffer_ms=HELD_MS,
        ) as bob,
    ):  # fmt: skip
        alice.register()
        bob.register()
        alice.call("sip:bob@phone.local")
        alice.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="CONFIRMED")
        time.sleep(0.5)
        yield alice, bob


def test_dtmf_crosses_between_rfc4733_and_inband(server: ServerProcess, tmp_path: Path) -> None:
    before = baseline(server)
    heard_by_bob = tmp_path / "bob.wav"
    with alice_calls_bob(server, heard_by_bob) as (alice, bob):
        alice.send("dial_dtmf", digits="159")
        time.sleep(1.5)
        alice.send("info_dtmf", digits="#")
        time.sleep(1.0)
        bob.send("inband_dtmf", digits="28*", on_msec=300)
        received = [alice.wait_for("dtmf", timeout=5)["digit"] for _ in range(3)]
        ended = [alice.wait_for("dtmf_end", timeout=5) for _ in range(3)]
        bob_buffer = bob.jitter_buffer()
        bob.send("stop_recording")
        alice.hangup()
        bob.wait_for("call_state", state="DISCONNECTED")
    assert received == ["2", "8", "*"]
    # The events follow the tones (RFC 4733 §2.5.1.2), not a fixed length: 300 ms, and at
    # most a tick more than the detector's start and end lags differ by.
    assert [e["digit"] for e in ended] == received
    assert all(300 <= e["duration_ms"] <= 340 for e in ended), ended
    assert multimon_digits(heard_by_bob) == "159#", f"bob's jitter buffer: {bob_buffer}"
    assert_no_leaks(server, before)
    assert [
        (r["direction"], r["hangup_cause_code"], r["hangup_source"]) for r in call_records(server)
    ] == [
        ("inbound", 4000, "Caller"),
        ("outbound", 4000, "Caller"),
    ]


@pytest.mark.parametrize("digits", ["123#", "1199"])
@pytest.mark.parametrize(("command", "tone_ms"), [("dial_dtmf", 200), ("info_dtmf", 160)])
def test_back_to_back_digits_reach_an_inband_leg_one_tone_each(
    server: ServerProcess, tmp_path: Path, command: str, tone_ms: int, digits: str
) -> None:
    heard_by_bob = tmp_path / "bob.wav"
    with alice_calls_bob(server, heard_by_bob) as (alice, bob):
        alice.send(command, digits=digits)
        time.sleep(2.0)
        bob_buffer = bob.jitter_buffer()
        bob.send("stop_recording")
        alice.hangup()
        bob.wait_for("call_state", state="DISCONNECTED")
    heard, bursts = multimon_digits(heard_by_bob), tone_bursts(heard_by_bob)
    print(f"{command} {digits}: multimon-ng heard {heard!r}; tones (start, length ms) {bursts}")
    print(f"bob's jitter buffer: {bob_buffer}")
    assert heard == digits
    assert len(bursts) == len(digits)
    # Each tone as long as its event says (not the old fixed 100 ms), one tick of rounding
    # either way; a tone ends when its end packet arrives, so a sender that is late with it
    # on a loaded machine (seen: 40 ms) lengthens the tone by as much.
    assert all(tone_ms - 20 <= length <= tone_ms + 60 for _, length in bursts), bursts
    gaps = [later - (start + length) for (start, length), (later, _) in itertools.pairwise(bursts)]
    assert all(gap >= 35 for gap in gaps), bursts  # 40 ms, measured in 5 ms windows
