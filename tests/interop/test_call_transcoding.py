"""Transcoding through the bridge: baresip offers only Opus, the pjsua2 callee only G.711.

The server negotiates each leg on its own (Opus 48000/2 with baresip, PCMU or PCMA with
pjsua2), so the two legs differ and every frame crosses the batch path's decoders and
encoders. Audio is proven both ways: each side's tone is found by FFT in what the other
side decoded.
"""

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.baresip import Baresip, available, read_wav
from tests.interop.baresip import dominant_frequency as frequency_of
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone, dominant_frequency

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not available(), reason="baresip 1.0.0 with its modules is not installed"),
]
pytest.importorskip("pjsua2")


@pytest.fixture
def server(server_factory: Callable[[str], ServerProcess]) -> ServerProcess:
    started = server_factory('[log]\nlevel = "DEBUG"\n')
    for user in ("carol", "dave"):
        started.cli("endpoint", "add", user, f"{user}-secret", "--exact")
    return started


@pytest.mark.parametrize("g711", ["PCMU", "PCMA"])
def test_opus_caller_and_g711_callee_hear_each_other(
    server: ServerProcess, tmp_path: Path, g711: str
) -> None:
    before = baseline(server)
    heard_by_dave = tmp_path / "dave.wav"
    carol = Baresip(
        tmp_path / "carol", username="carol", password="carol-secret",
        registrar=f"127.0.0.1:{server.sip_port}", domain=SIP_DOMAIN,
        codecs=["opus/48000/2"], sine_hz=440,
    )  # fmt: skip
    with (
        carol,
        Phone(
            "dave", server.sip_port, password="dave-secret", tone_hz=1000,
            record_path=heard_by_dave, codecs=[g711], auto_answer=200,
        ) as dave,
    ):  # fmt: skip
        dave.register()
        carol.wait_for("REGISTER_OK")
        carol.dial(f"sip:dave@{SIP_DOMAIN}")
        carol.wait_for("CALL_ESTABLISHED", timeout=15)
        assert dave.wait_for("media_state", status="ACTIVE")["codec"] == g711
        metrics = server.metrics()
        assert metrics["mediaserver_media_transcoding_streams"] == 2
        time.sleep(3)
        dave.send("stop_recording")
        carol.hangup()
        dave.wait_for("call_state", state="DISCONNECTED")
        carol.wait_for("CALL_CLOSED")
        rate, heard_by_carol = read_wav(carol.received_audio_path())
    assert abs(frequency_of(heard_by_carol[int(0.5 * rate) :], rate) - 1000) < 15
    assert np.sqrt(np.mean(heard_by_carol[int(0.5 * rate) :] ** 2)) > 0.01
    assert abs(dominant_frequency(heard_by_dave) - 440) < 15
    assert_no_leaks(server, before)
    a_leg, b_leg = call_records(server)
    assert (a_leg["codec"], b_leg["codec"]) == ("opus", g711)
