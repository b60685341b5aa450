"""Hostile RTP: a stranger who can reach the RTP ports must not be able to silence or take
over a live call (RFC 3550 §A.1 validity checks, RFC 7362 latching, RFC 4961 symmetric RTP).

The server gets an RTP port range of its own, below the ranges other servers use, so that a
sprayer can cover the whole of it on 127.0.0.1 without reaching anything else.
"""

import json
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mediaserver.sdp.session import SessionDescription
from mediaserver.sip.message import Request, build_response, parse_message
from tests.conftest import ServerProcess
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone
from tests.interop.rtp_far_end import RebindingFarEnd, StrangerStream
from tests.interop.tone_gaps import longest_gap_ms
from tests.interop.trunk import ack_for, final_response, request

pytestmark = [pytest.mark.interop, pytest.mark.slow]
pytest.importorskip("pjsua2")

SPRAYER = Path(__file__).with_name("rtp_spray.py")
RTP_PORTS = 32
SPRAY_SECONDS = 5.0
SPRAY_MAX_DATAGRAMS = 40_000
# The payload types of these calls: PCMU, PCMA, and the dynamic ones the server and pjsua2
# give telephone-event (and Opus, offered to the callee).
CALL_PAYLOAD_TYPES = [0, 8, 96, 97, 98, 101]
MAX_GAP_MS = 100


def free_rtp_range() -> tuple[int, int]:
    """RTP_PORTS ports below 16384 (the default range) that nothing holds on 127.0.0.1."""
    for _ in range(50):
        low = random.randrange(10_000, 16_000 - RTP_PORTS, 2)
        if all(_bindable(port) for port in range(low, low + RTP_PORTS)):
            return low, low + RTP_PORTS - 1
    raise RuntimeError("no free RTP port range")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def rtp_range() -> tuple[int, int]:
    return free_rtp_range()


@pytest.fixture
def server(
    server_factory: Callable[..., ServerProcess], rtp_range: tuple[int, int]
) -> ServerProcess:
    low, high = rtp_range
    started = server_factory(f'[rtp]\naddress = "127.0.0.1"\nport_min = {low}\nport_max = {high}\n')
    for user in ("alice", "bob"):
        started.cli("endpoint", "add", user, f"{user}-secret", "--exact")
    return started


@pytest.fixture
def trunk_server(server: ServerProcess) -> ServerProcess:
    """Calls from 127.0.0.1 come from a carrier, to a number that rings bob."""
    server.cli("carrier", "incoming", "add", "trunk", "127.0.0.1")
    server.cli("number", "add", "15550001111", "--alias", "bob")
    return server


def phone(server: ServerProcess, user: str, **options: Any) -> Phone:
    created = Phone(user, server.sip_port, password=f"{user}-secret", **options)
    created.register()
    return created


def spray(rtp_range: tuple[int, int]) -> dict[str, Any]:
    """Run the sprayer over the whole range until it stops by itself; its summary."""
    options = {
        "port_min": rtp_range[0], "port_max": rtp_range[1], "seconds": SPRAY_SECONDS,
        "max_datagrams": SPRAY_MAX_DATAGRAMS, "payload_types": CALL_PAYLOAD_TYPES, "seed": 14,
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(SPRAYER), json.dumps(options)],
        capture_output=True, text=True, timeout=SPRAY_SECONDS + 30, check=True,
    )  # fmt: skip
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def leg_samples(server: ServerProcess, name: str) -> list[float]:
    """The per-leg values of /metrics' counter mediaserver_leg_rtp_<name>_total, one per live
    leg."""
    url = f"http://127.0.0.1:{server.api_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        lines = reply.read().decode().splitlines()
    prefix = f"mediaserver_leg_rtp_{name}_total{{"
    return [float(line.rpartition(" ")[2]) for line in lines if line.startswith(prefix)]


@pytest.mark.parametrize(("path", "bob_codec"), [("relay", "PCMU"), ("batch", "PCMA")])
def test_junk_sprayed_at_every_rtp_port_leaves_the_call_untouched(
    server: ServerProcess, rtp_range: tuple[int, int], tmp_path: Path, path: str, bob_codec: str
) -> None:
    before = baseline(server)
    heard_by_alice, heard_by_bob = tmp_path / "alice.wav", tmp_path / "bob.wav"
    with (
        phone(server, "alice", tone_hz=440, record_path=heard_by_alice, codecs=["PCMU"]) as alice,
        phone(
            server, "bob", tone_hz=1000, record_path=heard_by_bob, codecs=[bob_codec],
            auto_answer=200,
        ) as bob,
    ):  # fmt: skip
        alice.call("sip:bob@phone.local")
        alice.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="CONFIRMED")
        assert server.metrics()[f"mediaserver_media_{path}_streams"] == 2
        time.sleep(1)
        sprayed = spray(rtp_range)
        time.sleep(1)
        during_call = server.metrics()
        per_leg = {
            name: leg_samples(server, name) for name in ("dropped_invalid", "dropped_foreign")
        }
        alice.send("stop_recording")
        bob.send("stop_recording")
        alice.hangup()
        bob.wait_for("call_state", state="DISCONNECTED")
        alice.wait_for("call_state", state="DISCONNECTED")
    gaps = {
        "alice hears bob": longest_gap_ms(heard_by_alice, 1000),
        "bob hears alice": longest_gap_ms(heard_by_bob, 440),
    }
    print(f"{path} path: sprayed {sprayed}; longest gaps (ms): {gaps}")
    assert max(gaps.values()) <= MAX_GAP_MS, gaps
    # Two streams of the range's RTP_PORTS ports took RTP, two more RTCP.
    reaching_the_call = sprayed["sent"] * 4 / RTP_PORTS
    dropped = (
        during_call["mediaserver_media_rtp_dropped_invalid_total"]
        + during_call["mediaserver_media_rtp_dropped_foreign_total"]
    )
    print(f"dropped {dropped:.0f} of about {reaching_the_call:.0f} sprayed at the call's ports")
    assert dropped >= 0.8 * reaching_the_call
    assert during_call["mediaserver_media_rtp_source_changes_total"] == 0
    assert all(len(samples) == 2 and min(samples) > 0 for samples in per_leg.values()), per_leg
    assert_no_leaks(server, before)
    for leg in call_records(server):  # 7 s and more of 20 ms packets each way, none lost
        assert leg["rtp_packets_received"] >= 7 * 50
        assert leg["rtp_packets_sent"] >= 7 * 50
        assert leg["rtp_packets_lost"] == 0
        assert 0 < leg["rtp_jitter_ms"] < 20


def sdp_offer(rtp_port: int) -> str:
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"
    )


@pytest.mark.parametrize(("path", "bob_codec"), [("relay", "PCMU"), ("batch", "PCMA")])
def test_nat_rebinding_mid_call_is_heard_again_within_200_ms(
    trunk_server: ServerProcess, tmp_path: Path, path: str, bob_codec: str
) -> None:
    """A carrier's far end (our own RTP, for pjsua2 cannot change its port mid-call) starts
    sending from a new port, the old one silent, while a stranger streams valid-looking RTP
    at the same server port all along: bob hears the far end again within 200 ms, and our
    media goes to the new port."""
    server = trunk_server
    before = baseline(server)
    heard_by_bob = tmp_path / "bob.wav"
    far_end = RebindingFarEnd(tone_hz=440)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sip,
        phone(
            server, "bob", tone_hz=1000, record_path=heard_by_bob, codecs=[bob_codec],
            auto_answer=200,
        ) as bob,
    ):  # fmt: skip
        sip.bind(("127.0.0.1", 0))
        sip.settimeout(5)
        invite = request(sip, "INVITE", body=sdp_offer(far_end.ports[0]))
        answer = final_response(sip, server, invite)
        assert answer.status_code == 200
        sip.sendto(ack_for(invite, answer).encode(), ("127.0.0.1", server.sip_port))
        server_rtp_port = SessionDescription.parse(answer.body).media[0].port
        far_end.destination = ("127.0.0.1", server_rtp_port)
        stranger = StrangerStream(("127.0.0.1", server_rtp_port))
        far_end.start()
        stranger.start()
        bob.wait_for("call_state", state="CONFIRMED")
        assert server.metrics()[f"mediaserver_media_{path}_streams"] == 2
        time.sleep(2)
        far_end.rebind()
        time.sleep(2)
        bob.send("stop_recording")
        during_call = server.metrics()
        stranger.close()
        far_end.close()
        bob.hangup()
        bye = parse_message(sip.recv(65535))
        assert isinstance(bye, Request)
        sip.sendto(build_response(bye, 200).serialize(), ("127.0.0.1", server.sip_port))
        bob.wait_for("call_state", state="DISCONNECTED")
    gap = longest_gap_ms(heard_by_bob, 440)
    late_on_old = [t - far_end.rebound_at for t, which in far_end.arrivals if which == 0]
    on_new = [t - far_end.rebound_at for t, which in far_end.arrivals if which == 1]
    first_on_new = min(on_new, default=float("inf"))
    last_on_old = max(late_on_old, default=0.0)
    print(
        f"{path} path: longest gap {gap:.0f} ms; our media on the new port from "
        f"{first_on_new * 1000:.0f} ms after the rebinding ({len(on_new)} packets), on the old "
        f"one until {last_on_old * 1000:.0f} ms"
    )
    assert gap <= 200
    assert during_call["mediaserver_media_rtp_source_changes_total"] == 1
    assert last_on_old < 0.2
    assert len(on_new) >= 0.8 * 50 * 1.8
    assert_no_leaks(server, before)
    carrier_leg = next(leg for leg in call_records(server) if leg["direction"] == "inbound")
    # What the new port sent before the stream moved to it is lost, and nothing else.
    assert 1 <= carrier_leg["rtp_packets_lost"] <= 10
