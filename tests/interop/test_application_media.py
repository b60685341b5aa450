"""What an application makes a pjsua2 caller hear and receive: Play of a WAV and an MP3 URL
(each tone found by FFT, the second fetch of a URL served from the cache), PreAnswer early
media heard before the call is answered, and DTMF digits the phone detects."""

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.call_checks import assert_no_leaks, baseline
from tests.interop.phone import Phone, dominant_between, read_wav

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")


def tone_file(path: Path, hz: int, seconds: float) -> bytes:
    """A tone written by sox (WAV at 16 kHz, or MP3 by its extension)."""
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", str(path), "synth", str(seconds), "sine", str(hz)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return path.read_bytes()


def start(
    server_factory: Callable[..., ServerProcess], app: ApplicationServer
) -> tuple[ServerProcess, dict[str, float]]:
    server = server_factory()
    output = server.cli("application", "add", "media", "--answer-url", app.url("/answer"))
    server.cli("endpoint", "add", "alice", "alice-secret", "--exact", "--app", output.split()[-1])
    return server, baseline(server)


def test_play_wav_and_mp3_urls_are_heard(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    wav = tone_file(tmp_path / "tone.wav", 600, 2.0)
    mp3 = tone_file(tmp_path / "tone.mp3", 1200, 2.0)
    with ApplicationServer({"/answer": ""}, files={"/600.wav": wav, "/1200.mp3": mp3}) as app:
        app.routes["/answer"] = (
            f"<Response><Play>{app.url('/600.wav')}</Play><Play>{app.url('/1200.mp3')}</Play>"
            f"<Play>{app.url('/600.wav')}</Play></Response>"
        )
        server, before = start(server_factory, app)
        heard = tmp_path / "alice.wav"
        with Phone("alice", server.sip_port, password="alice-secret", record_path=heard) as alice:
            alice.register()
            alice.call("sip:media@phone.local")
            alice.wait_for("call_state", state="CONFIRMED")
            alice.wait_for("call_state", state="DISCONNECTED", timeout=20)
        fetches = len(app.requests_to("/600.wav"))
    assert fetches == 1  # fetched once, then played from the cache
    assert abs(dominant_between(heard, 0.3, 1.7) - 600) < 15
    assert abs(dominant_between(heard, 2.3, 3.7) - 1200) < 15
    assert abs(dominant_between(heard, 4.3, 5.7) - 600) < 15
    assert_no_leaks(server, before)


def test_pre_answer_plays_early_media_before_any_answer(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    wav = tone_file(tmp_path / "tone.wav", 800, 3.0)
    with ApplicationServer({"/answer": ""}, files={"/800.wav": wav}) as app:
        app.routes["/answer"] = (
            f"<Response><PreAnswer><Play>{app.url('/800.wav')}</Play></PreAnswer>"
            '<Hangup reason="busy"/></Response>'
        )
        server, before = start(server_factory, app)
        heard = tmp_path / "alice.wav"
        with Phone("alice", server.sip_port, password="alice-secret", record_path=heard) as alice:
            alice.register()
            alice.call("sip:media@phone.local")
            early = alice.wait_for("call_state", state="EARLY")
            ended = alice.wait_for("call_state", state="DISCONNECTED", timeout=20)
    assert early["last_status_code"] == 183
    assert ended["last_status_code"] == 486  # never answered: refused busy after the media
    recorded_seconds = len(read_wav(heard)[0]) / read_wav(heard)[1]
    log = "\n".join(line for line in server.log().splitlines() if "WARNING" in line)
    assert recorded_seconds > 2.5, f"{recorded_seconds:.1f} s of early media heard; log:\n{log}"
    # The phone starts recording when it has set up the early media: measure well inside.
    assert abs(dominant_between(heard, 0.5, 2.0) - 800) < 15
    assert_no_leaks(server, before)


def test_dtmf_digits_reach_the_phone(server_factory: Callable[..., ServerProcess]) -> None:
    document = '<Response><DTMF async="false">19#</DTMF><Wait length="1"/></Response>'
    with ApplicationServer({"/answer": document}) as app:
        server, before = start(server_factory, app)
        with Phone("alice", server.sip_port, password="alice-secret") as alice:
            alice.register()
            alice.call("sip:media@phone.local")
            alice.wait_for("call_state", state="CONFIRMED")
            alice.wait_for("call_state", state="DISCONNECTED", timeout=20)
            time.sleep(0.2)
            digits = "".join(event["digit"] for event in alice.drain() if event["event"] == "dtmf")
    assert digits == "19#"
    assert_no_leaks(server, before)
