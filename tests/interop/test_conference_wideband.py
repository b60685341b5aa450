"""A wideband conference room with real phones: two baresip members on Opus and a pjsua2
member on PCMU in one <Conference>, each sending its own sine, each recording what it hears;
the room records itself too.

Proof by measurement (FFT): wanda's 5.6 kHz reaches xavier, the other Opus member, so the
room mixed at 16 kHz (an 8 kHz mix has nothing above 4 kHz); yann on PCMU hears the
narrowband part (xavier's 1 kHz) and no alias of the 5.6 kHz (at 8 - 5.6 = 2.4 kHz); the Opus
members hear yann. The room's recording, started by an Opus member, is 16 kHz and holds all
three.
"""

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.baresip import Baresip, available
from tests.interop.baresip import read_wav as read_baresip_wav
from tests.interop.call_checks import assert_no_leaks
from tests.interop.phone import Phone, read_wav
from tests.interop.test_application_conference import (
    COUNTERS,
    Samples,
    band_level,
    call_in,
    start,
    wait_for_members,
    window,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not available(), reason="baresip 1.0.0 with its modules is not installed"),
]
pytest.importorskip("pjsua2")

TONES = {"wanda": 5600, "xavier": 1000, "yann": 700}
ALIAS_HZ = 8000 - TONES["wanda"]  # where 5.6 kHz folds to if sampled at 8 kHz unfiltered
ROOM = (
    '<Response><Conference callbackUrl="{events}" record="true" recordFileFormat="wav" '
    'recordWhenAlone="true">wideband</Conference></Response>'
)


def opus_member(tmp_path: Path, server: ServerProcess, name: str) -> Baresip:
    return Baresip(
        tmp_path / name, username=name, password=f"{name}-secret",
        registrar=f"127.0.0.1:{server.sip_port}", domain=SIP_DOMAIN,
        codecs=["opus/48000/2"], sine_hz=TONES[name],
    )  # fmt: skip


def levels(samples: Samples, rate: int, *frequencies: float) -> list[float]:
    return [band_level(samples, rate, hz) for hz in frequencies]


def test_an_opus_members_5_6_khz_reaches_the_other_opus_member_and_pcmu_hears_the_rest(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    with ApplicationServer({"/answer": "", "/events": "<Response/>"}) as app:
        app.routes["/answer"] = ROOM.format(events=app.url("/events"))
        server, before = start(server_factory, app, [*TONES])
        wanda = opus_member(tmp_path, server, "wanda")
        xavier = opus_member(tmp_path, server, "xavier")
        yann = Phone(
            "yann", server.sip_port, password="yann-secret", tone_hz=TONES["yann"],
            record_path=tmp_path / "yann.wav", codecs=["PCMU"],
        )  # fmt: skip
        with wanda, xavier, yann:
            yann.register()
            for member in (wanda, xavier):
                member.wait_for("REGISTER_OK")
                member.dial(f"sip:room@{SIP_DOMAIN}")
                member.wait_for("CALL_ESTABLISHED", timeout=15)
            call_in(yann)
            wait_for_members(server, 3)
            time.sleep(3.5)
            yann.send("stop_recording")
            for member in (wanda, xavier):
                member.hangup()
                member.wait_for("CALL_CLOSED")
            yann.hangup()
            yann.wait_for("call_state", state="DISCONNECTED", timeout=15)
            heard = {name: read_baresip_wav(m.received_audio_path()) for name, m in
                     (("wanda", wanda), ("xavier", xavier))}  # fmt: skip
            room_recording = fetch_room_recording(app, tmp_path / "room.wav")
    rate, by_xavier = heard["xavier"]
    assert rate == 48000
    steady = window(by_xavier.mean(axis=1) * 32768, rate, -3.0, -0.3)
    wide, narrow, own = levels(steady, rate, TONES["wanda"], TONES["yann"], TONES["xavier"])
    assert min(wide, narrow) > 100, (wide, narrow)  # tones, not noise
    assert min(wide, narrow) > 20 * own, (wide, narrow, own)
    rate, by_wanda = heard["wanda"]
    steady = window(by_wanda.mean(axis=1) * 32768, rate, -3.0, -0.3)
    one_khz, seven_hundred, own = levels(
        steady, rate, *(TONES[n] for n in ("xavier", "yann", "wanda"))
    )
    assert min(one_khz, seven_hundred) > 20 * own, (one_khz, seven_hundred, own)
    samples, wav_rate = read_wav(tmp_path / "yann.wav")
    steady = window(samples, wav_rate, -3.0, -0.3)
    one_khz, alias, own_tone = levels(steady, wav_rate, TONES["xavier"], ALIAS_HZ, TONES["yann"])
    assert one_khz > 100, one_khz
    assert one_khz > 20 * max(alias, own_tone), (one_khz, alias, own_tone)
    samples, wav_rate = read_wav(room_recording)
    assert wav_rate == 16000
    steady = window(samples, wav_rate, 1.0, -0.5)
    assert min(levels(steady, wav_rate, *TONES.values())) > 100
    assert_no_leaks(server, before, counters=COUNTERS)


def fetch_room_recording(app: ApplicationServer, path: Path) -> Path:
    """The room's file, once the record callback with its duration says it is in place."""
    deadline = time.monotonic() + 15
    while True:
        finished = [
            request.params["RecordUrl"] for request in app.requests_to("/events")
            if request.params.get("ConferenceAction") == "record"
            and request.params["RecordingDurationMs"] != "-1"
        ]  # fmt: skip
        if finished:
            break
        assert time.monotonic() < deadline, "the room's recording was never finished"
        time.sleep(0.1)
    with urllib.request.urlopen(finished[0], timeout=10) as reply:
        path.write_bytes(reply.read())
    return path
