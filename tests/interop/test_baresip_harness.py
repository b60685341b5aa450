"""The baresip harness, proved without our server: two baresip processes call each other.

A (sine 440 Hz) dials B (sine 1000 Hz, auto-answer) at B's own address. After a few seconds
of audio each side's decoded-received dump must hold the other side's tone, and A's SIP trace
must show the one codec both were limited to (plus telephone-event, which 1.0.0 always offers).
Only the registration test uses our server, as the registrar the harness registers with.
"""

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.baresip import (
    Baresip,
    available,
    dominant_frequency,
    read_wav,
    write_sine_wav,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not available(), reason="baresip 1.0.0 with its modules is not installed"),
]

TALK_SECONDS = 2.5
SETTLE_SECONDS = 0.3  # jitter buffer fill and codec start-up at the head of each dump


def rtpmaps(sdp: str) -> list[str]:
    """The encodings of the audio stream's rtpmap lines, e.g. ["opus/48000/2", ...]."""
    return re.findall(r"^a=rtpmap:\d+ (\S+)\r?$", sdp, re.M)


def tone_of(path: Path) -> tuple[float, float]:
    """(dominant frequency in Hz, RMS) of a dump after its first SETTLE_SECONDS."""
    rate, samples = read_wav(path)
    steady = samples[int(SETTLE_SECONDS * rate) :]
    assert len(steady) > rate, f"only {len(samples) / rate:.2f} s of audio in {path}"
    return dominant_frequency(steady, rate), float(np.sqrt(np.mean(steady**2)))


def assert_gone(pid: int) -> None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"baresip {pid} still running")


def call_a_to_b(tmp_path: Path, codec: str) -> tuple[Baresip, Baresip]:
    a = Baresip(tmp_path / "a", username="a", codecs=[codec], sine_hz=440)
    b = Baresip(tmp_path / "b", username="b", codecs=[codec], sine_hz=1000, auto_answer=True)
    with b, a:
        a.dial(f"sip:b@127.0.0.1:{b.sip_port}")
        established = a.wait_for("CALL_ESTABLISHED", timeout=10)
        assert b.wait_for("CALL_ESTABLISHED", timeout=10)["id"] == established["id"]
        time.sleep(TALK_SECONDS)
        audio_debug = a.command("audio_debug")
        a.hangup()
        assert a.wait_for("CALL_CLOSED", timeout=10)["id"] == established["id"]
        assert b.wait_for("CALL_CLOSED", timeout=10)["id"] == established["id"]
        pids = [ua.process.pid for ua in (a, b) if ua.process]
    for pid in pids:
        assert_gone(pid)
    name, rate, *channels = codec.split("/")
    assert f"encode: {name} {rate}Hz/{channels[0] if channels else 1}ch" in audio_debug
    return a, b


def assert_tones(a: Baresip, b: Baresip) -> None:
    heard_by_a, level_a = tone_of(a.received_audio_path())
    heard_by_b, level_b = tone_of(b.received_audio_path())
    assert heard_by_a == pytest.approx(1000, abs=5)
    assert heard_by_b == pytest.approx(440, abs=5)
    assert level_a > 0.05  # the sines are sent at half scale (RMS 0.35)
    assert level_b > 0.05


def assert_sdp_codec(a: Baresip, codec: str) -> None:
    offer, answer = a.sdp_bodies()  # A's trace: the INVITE it sent, the 200 OK it received
    for sdp in (offer, answer):
        assert rtpmaps(sdp) == [codec, "telephone-event/8000"], sdp


def test_opus_call_carries_each_sides_tone(tmp_path: Path) -> None:
    a, b = call_a_to_b(tmp_path, "opus/48000/2")
    assert_sdp_codec(a, "opus/48000/2")
    assert read_wav(a.received_audio_path())[0] == 48000
    assert_tones(a, b)


def test_pcmu_call_carries_each_sides_tone(tmp_path: Path) -> None:
    a, b = call_a_to_b(tmp_path, "PCMU/8000")
    assert_sdp_codec(a, "PCMU/8000")
    assert read_wav(a.received_audio_path())[0] == 8000
    assert_tones(a, b)


def test_manual_answer_and_rfc4733_dtmf(tmp_path: Path) -> None:
    with (
        Baresip(tmp_path / "b", username="b", codecs=["PCMU/8000"]) as b,
        Baresip(tmp_path / "a", username="a", codecs=["PCMU/8000"]) as a,
    ):
        a.dial(f"sip:b@127.0.0.1:{b.sip_port}")
        assert b.wait_for("CALL_INCOMING")["peeruri"] == a.aor
        assert a.wait_for("CALL_RINGING")
        b.accept()
        a.wait_for("CALL_ESTABLISHED")
        b.wait_for("CALL_ESTABLISHED")
        a.send_dtmf("1#")
        digits = [b.wait_for("CALL_DTMF_START")["param"] for _ in range(2)]
        assert digits == ["1", "#"]
        b.hangup()
        a.wait_for("CALL_CLOSED")
    assert not a.running
    assert not b.running


def test_wav_file_source(tmp_path: Path) -> None:
    """aufile instead of ausine: an 8 kHz WAV of 700 Hz, longer than the call."""
    wav = write_sine_wav(tmp_path / "700.wav", hz=700, seconds=20, rate=8000)
    with (
        Baresip(tmp_path / "b", username="b", codecs=["PCMU/8000"], auto_answer=True) as b,
        Baresip(tmp_path / "a", username="a", codecs=["PCMU/8000"], source_wav=wav) as a,
    ):
        a.dial(f"sip:b@127.0.0.1:{b.sip_port}")
        a.wait_for("CALL_ESTABLISHED")
        time.sleep(1.5)
        a.hangup()
        b.wait_for("CALL_CLOSED")
        heard_by_b, level_b = tone_of(b.received_audio_path())
    assert heard_by_b == pytest.approx(700, abs=5)
    assert level_b > 0.05


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_registration_events(server: ServerProcess, tmp_path: Path, transport: str) -> None:
    server.cli("endpoint", "add", "alice", "s3cret", "--exact")

    def alice(name: str, password: str) -> Baresip:
        registrar = f"127.0.0.1:{server.sip_port}"
        return Baresip(
            tmp_path / name,
            username="alice",
            password=password,
            registrar=registrar,
            domain=SIP_DOMAIN,
            transport=transport,
        )

    with alice("ok", "s3cret") as ok:
        assert ok.wait_for("REGISTER_OK")["accountaor"] == f"sip:alice@{SIP_DOMAIN}"
        assert ok.registered()
        assert f"SIP/2.0/{transport.upper()} " in ok.sip_messages()[0]
    with alice("bad", "wrong") as bad:
        assert bad.wait_for("REGISTER_FAIL")["param"].startswith("403")
        assert not bad.registered()
