"""<Record> with a pjsua2 caller: a 10 s recording is 10 s long (within 100 ms) and holds the
caller's tone; a stereo session recording of a dialled call puts each leg on its own channel.
The files are fetched through the RecordUrl the application was given (a signed link on the
API listener); without the signature or the account's credentials they are refused."""

import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.call_checks import assert_no_leaks, baseline
from tests.interop.phone import Phone

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")


def download(url: str, path: Path) -> Path:
    with urllib.request.urlopen(url, timeout=10) as reply:
        path.write_bytes(reply.read())
    return path


def channels(path: Path) -> tuple[list[npt.NDArray[np.float64]], int]:
    with wave.open(str(path)) as recording:
        count, rate = recording.getnchannels(), recording.getframerate()
        samples = np.frombuffer(recording.readframes(recording.getnframes()), np.int16)
    interleaved = samples.astype(np.float64).reshape(-1, count)
    return [interleaved[:, channel] for channel in range(count)], rate


def dominant(samples: npt.NDArray[np.float64], rate: int) -> float:
    window = samples[rate // 2 : -rate // 4]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    spectrum[:5] = 0
    return float(np.fft.rfftfreq(len(window), 1 / rate)[int(np.argmax(spectrum))])


def start(
    server_factory: Callable[..., ServerProcess], app: ApplicationServer
) -> tuple[ServerProcess, dict[str, float]]:
    server = server_factory()
    app_id = server.cli("application", "add", "rec", "--answer-url", app.url("/answer"))
    server.cli("endpoint", "add", "alice", "alice-secret", "--exact", "--app", app_id.split()[-1])
    server.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    return server, baseline(server)


def wait_for_request(app: ApplicationServer, path: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not app.requests_to(path):
        assert time.monotonic() < deadline, f"no request to {path}"
        time.sleep(0.1)


def test_a_ten_second_recording_is_ten_seconds_of_the_caller(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    document = (
        '<Response><Record action="{action}" maxLength="10" fileFormat="wav"'
        ' playBeep="false" finishOnKey="none" timeout="60"/></Response>'
    )
    with ApplicationServer({"/answer": "", "/recorded": "<Response/>"}) as app:
        app.routes["/answer"] = document.format(action=app.url("/recorded"))
        server, before = start(server_factory, app)
        with Phone("alice", server.sip_port, password="alice-secret", tone_hz=440) as alice:
            alice.register()
            alice.call("sip:rec@phone.local")
            alice.wait_for("call_state", state="CONFIRMED")
            alice.wait_for("call_state", state="DISCONNECTED", timeout=20)  # 4010 after it
        [action] = app.requests_to("/recorded")
    params = action.params
    assert abs(int(params["RecordingDurationMs"]) - 10_000) <= 100
    assert params["RecordingDuration"] == "10"
    assert int(params["RecordingEndMs"]) - int(params["RecordingStartMs"]) == int(
        params["RecordingDurationMs"]
    )
    path = download(params["RecordUrl"], tmp_path / "recording.wav")
    [mono], rate = channels(path)
    assert abs(len(mono) / rate - 10.0) <= 0.1
    assert abs(dominant(mono, rate) - 440) < 15
    unsigned = params["RecordUrl"].split("?")[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=5)
    assert refused.value.code == 401
    assert_no_leaks(server, before)


def test_a_stereo_session_recording_puts_each_leg_on_its_own_channel(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    document = (
        '<Response><Record recordSession="true" recordChannelType="stereo" fileFormat="wav"'
        ' callbackUrl="{callback}"/><Dial><User>sip:bob@phone.local</User></Dial></Response>'
    )
    with ApplicationServer({"/answer": "", "/session": "<Response/>"}) as app:
        app.routes["/answer"] = document.format(callback=app.url("/session"))
        server, before = start(server_factory, app)
        with (
            Phone("alice", server.sip_port, password="alice-secret", tone_hz=440) as alice,
            Phone(
                "bob", server.sip_port, password="bob-secret", tone_hz=1000, auto_answer=200
            ) as bob,
        ):
            alice.register()
            bob.register()
            alice.call("sip:rec@phone.local")
            bob.wait_for("call_state", state="CONFIRMED", timeout=15)
            time.sleep(3)
            alice.hangup()
            bob.wait_for("call_state", state="DISCONNECTED")
        wait_for_request(app, "/session")
        [callback] = app.requests_to("/session")
    path = download(callback.params["RecordUrl"], tmp_path / "session.wav")
    (left, right), rate = channels(path)
    assert abs(dominant(left, rate) - 440) < 15  # the caller
    assert abs(dominant(right, rate) - 1000) < 15  # the dialled leg
    assert int(callback.params["RecordingDurationMs"]) >= 2500
    assert_no_leaks(server, before)
