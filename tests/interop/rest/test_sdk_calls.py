"""Calls through the official `plivo` SDK's own methods (plivo.md §4.1), to a registered pjsua2
phone: the answer URL's XML is heard (FFT of what the phone recorded), ring_url and hangup_url
are told, the call's record is in the SDK's list afterwards; live Play, Speak, DTMF, Record,
transfer and hangup act on the real call; requests withdrawn before the answer ring no more;
mistakes are 4xx naming the field. Every test ends with the server's counters at baseline."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import plivo
import pytest

from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.call_checks import LEAK_COUNTERS, assert_no_leaks
from tests.interop.phone import Phone, dominant_between, read_wav
from tests.interop.rest.conftest import _BASE_URIS, AUTH_ID, AUTH_TOKEN, http
from tests.interop.test_application_media import tone_file
from tests.interop.test_application_record import channels, dominant, download

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

CALL_COUNTERS = (
    *LEAK_COUNTERS,
    "mediaserver_api_calls_api_call_requests",
    "mediaserver_api_calls_api_machine_detections",
    "mediaserver_live_media_prompts",
    "mediaserver_live_media_recordings",
)
CALLER_ID = "15550001111"
HOLD = '<Response><Wait length="60"/></Response>'


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    running = server_factory('[log]\nlevel = "DEBUG"\n')
    running.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    running.cli("endpoint", "add", "carol", "carol-secret", "--exact")
    return running


@pytest.fixture
def client(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> plivo.RestClient:
    for name in _BASE_URIS:
        monkeypatch.setattr(
            plivo.rest.client, name, f"http://127.0.0.1:{server.api_port}/v1/Account"
        )
    return plivo.RestClient(AUTH_ID, AUTH_TOKEN)


def baseline(server: ServerProcess, client: plivo.RestClient) -> dict[str, float]:
    """The counters once the SDK holds its keep-alive connection (a task and a descriptor
    on the server for as long as the client lives)."""
    client.live_calls.list_ids()
    metrics = server.metrics()
    return {name: metrics.get(name, 0.0) for name in CALL_COUNTERS}


def wait_until(found: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def rms_between(path: Path, start: float, end: float) -> float:
    samples, rate = read_wav(path)
    window = samples[int(start * rate) : int(end * rate)]
    return float(np.sqrt(np.mean(window**2)))


def test_an_sdk_call_rings_the_phone_runs_the_answer_xml_and_leaves_a_record(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path
) -> None:
    wav = tone_file(tmp_path / "tone.wav", 600, 2.0)
    with ApplicationServer({"/ring": "", "/hangup": ""}, files={"/600.wav": wav}) as app:
        app.routes["/answer"] = f"<Response><Play>{app.url('/600.wav')}</Play></Response>"
        before = baseline(server, client)
        heard = tmp_path / "bob.wav"
        with Phone(
            "bob", server.sip_port, password="bob-secret", record_path=heard, auto_answer=200
        ) as bob:
            bob.register()
            fired = client.calls.create(
                from_=CALLER_ID, to_="bob", answer_url=app.url("/answer"),
                ring_url=app.url("/ring"), hangup_url=app.url("/hangup"), caller_name="Front desk",
            )  # fmt: skip
            bob.wait_for("call_state", state="CONFIRMED")
            bob.wait_for("call_state", state="DISCONNECTED", timeout=20)
        [hangup] = wait_until(lambda: app.requests_to("/hangup"))
        [answer] = app.requests_to("/answer")
        [ring] = app.requests_to("/ring")
    assert fired.message == "call fired"
    assert abs(dominant_between(heard, 0.3, 1.7) - 600) < 15
    request_uuid = fired.request_uuid
    assert answer.params["Direction"] == "outbound"
    assert answer.params["RequestUUID"] == answer.params["ALegRequestUUID"] == request_uuid
    assert answer.params["From"] == CALLER_ID
    assert answer.params["To"] == "sip:bob@phone.local"
    assert answer.params["CallerName"] == "Front desk"
    assert ring.params["CallStatus"] == "ringing"
    assert ring.params["RequestUUID"] == request_uuid
    call_uuid = answer.params["CallUUID"]
    assert hangup.params["HangupCauseCode"] == "4010"  # End Of XML Instructions
    assert_no_leaks(server, before, counters=CALL_COUNTERS)

    listed = client.calls.list(call_direction="outbound", limit=5)
    record = next(call for call in listed if call.call_uuid == call_uuid)
    assert record.to_number == "bob"
    assert record.from_number == CALLER_ID
    assert record.hangup_cause_code == 4010
    assert record.hangup_source == "Plivo"
    assert record.call_state == "ANSWER"
    assert record.bill_duration >= 2
    assert client.calls.get(call_uuid).end_time == record.end_time

    log = http(
        f"http://127.0.0.1:{server.api_port}",
        "GET",
        f"/v1/Account/{AUTH_ID}/Call/{call_uuid}/DebugLog/",
    )
    fetched = [e for e in log.body["entries"] if e["kind"] == "webhook" and "/answer" in e["url"]]
    assert fetched[0]["status"] == 200
    assert "X-Plivo-Signature-V3" in fetched[0]["signature_headers"]


def test_live_play_speak_digits_record_transfer_and_hangup_on_a_real_call(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path
) -> None:
    files = {
        "/1000.wav": tone_file(tmp_path / "a.wav", 1000, 1.5),
        "/800.wav": tone_file(tmp_path / "b.wav", 800, 1.5),
    }
    with ApplicationServer({"/answer": HOLD, "/hangup": ""}, files=files) as app:
        app.routes["/moved"] = f"<Response><Play>{app.url('/800.wav')}</Play>{HOLD[10:]}"
        before = baseline(server, client)
        heard = tmp_path / "bob.wav"
        with Phone(
            "bob", server.sip_port, password="bob-secret", record_path=heard, auto_answer=200,
            tone_hz=440,
        ) as bob:  # fmt: skip
            bob.register()
            client.calls.create(
                from_=CALLER_ID, to_="bob", answer_url=app.url("/answer"),
                hangup_url=app.url("/hangup"),
            )  # fmt: skip
            bob.wait_for("call_state", state="CONFIRMED")
            call_uuid = wait_until(lambda: app.requests_to("/answer"))[0].params["CallUUID"]
            started = time.monotonic()
            live = client.live_calls.get(call_uuid)
            assert (live.direction, live.call_status) == ("outbound", "in-progress")
            assert call_uuid in client.live_calls.list_ids().calls

            assert client.calls.play(call_uuid, urls=app.url("/1000.wav")).message == "play started"
            played_at = time.monotonic() - started
            time.sleep(2.0)
            client.calls.speak(call_uuid, text="Hello from the REST interface, this is a test")
            spoken_at = time.monotonic() - started
            time.sleep(2.5)
            client.calls.stop_speaking(call_uuid)
            client.calls.send_digits(call_uuid, digits="1234", leg="aleg")
            recording = client.calls.record(call_uuid, file_format="wav")
            time.sleep(2.0)
            client.calls.stop_recording(call_uuid, callback_url=None, callback_method=None)
            quiet_at = time.monotonic() - started

            client.calls.transfer(call_uuid, legs="aleg", aleg_url=app.url("/moved"))
            wait_until(lambda: app.requests_to("/moved"))
            moved_at = time.monotonic() - started
            time.sleep(2.0)
            client.calls.delete(call_uuid)
            bob.wait_for("call_state", state="DISCONNECTED")
            time.sleep(0.2)
            digits = "".join(event["digit"] for event in bob.drain() if event["event"] == "dtmf")
        [hangup] = wait_until(lambda: app.requests_to("/hangup"))
    assert abs(dominant_between(heard, played_at + 0.3, played_at + 1.2) - 1000) < 15
    speech = rms_between(heard, spoken_at + 0.5, spoken_at + 2.0)
    silence = rms_between(heard, quiet_at - 1.5, quiet_at - 0.2)  # the held call: Wait
    assert speech > 10 * max(silence, 1.0)
    assert digits == "1234"
    assert abs(dominant_between(heard, moved_at + 0.2, moved_at + 1.2) - 800) < 15
    assert hangup.params["HangupSource"] == "API Request"
    stored = wait_until(lambda: recording_or_none(client, recording.recording_id))
    assert 1500 <= int(stored.recording_duration_ms) <= 3000
    assert_no_leaks(server, before, counters=CALL_COUNTERS)
    assert client.calls.get(call_uuid).hangup_source == "API Request"


def recording_or_none(client: plivo.RestClient, recording_id: str) -> Any:
    try:
        return client.recordings.get(recording_id)
    except plivo.exceptions.ResourceNotFoundError:
        return None


def test_a_bridged_call_hears_a_mixed_play_records_in_stereo_and_hangs_up_as_an_api_request(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path
) -> None:
    document = "<Response><Dial><User>sip:carol@phone.local</User></Dial></Response>"
    files = {"/1500.wav": tone_file(tmp_path / "prompt.wav", 1500, 1.5)}
    heard = tmp_path / "bob.wav"
    with ApplicationServer({"/answer": document}, files=files) as app:
        before = baseline(server, client)
        with (
            Phone(
                "bob",
                server.sip_port,
                password="bob-secret",
                auto_answer=200,
                tone_hz=440,
                record_path=heard,
            ) as bob,
            Phone(
                "carol", server.sip_port, password="carol-secret", auto_answer=200, tone_hz=1000
            ) as carol,
        ):
            bob.register()
            carol.register()
            client.calls.create(from_=CALLER_ID, to_="bob", answer_url=app.url("/answer"))
            bob.wait_for("call_state", state="CONFIRMED")
            started = time.monotonic()
            carol.wait_for("call_state", state="CONFIRMED")
            call_uuid = app.requests_to("/answer")[0].params["CallUUID"]
            assert_out_of_a_subaccounts_reach(client, call_uuid)
            client.calls.send_digits(call_uuid, digits="7", leg="bleg")
            client.calls.play(call_uuid, urls=app.url("/1500.wav"))  # mix: true by default
            played_at = time.monotonic() - started
            time.sleep(1.5)
            recording = client.calls.record(
                call_uuid, file_format="wav", record_channel_type="stereo"
            )
            time.sleep(2.0)
            client.calls.stop_recording(call_uuid, callback_url=None, callback_method=None)
            time.sleep(0.5)
            client.calls.hangup(call_uuid)
            bob.wait_for("call_state", state="DISCONNECTED")
            carol.wait_for("call_state", state="DISCONNECTED")
            carol_digits = [e["digit"] for e in carol.drain() if e["event"] == "dtmf"]
    assert carol_digits == ["7"]
    # bob hears carol and the prompt together: each within 10 dB of the other
    carol_level, prompt_level = levels_between(heard, played_at + 0.3, played_at + 1.2, 1000, 1500)
    assert 0.3 < carol_level / prompt_level < 3.3
    (left, right), rate = channels(download(recording.url, tmp_path / "stereo.wav"))
    assert abs(dominant(left, rate) - 440) < 15  # bob, the leg the URL names
    assert abs(dominant(right, rate) - 1000) < 15  # carol, bridged to it
    assert 1500 <= 1000 * len(left) / rate <= 3000
    assert_no_leaks(server, before, counters=CALL_COUNTERS)
    legs = client.calls.list(limit=5)
    sources = {leg.call_uuid: leg.hangup_source for leg in legs}
    assert sources[call_uuid] == "API Request"
    [b_leg] = [leg for leg in legs if leg.parent_call_uuid == call_uuid]
    assert b_leg.hangup_source == "API Request"


def levels_between(path: Path, start: float, end: float, *frequencies: float) -> list[float]:
    """The spectrum's peak within 20 Hz of each frequency, between `start` and `end` s."""
    samples, rate = read_wav(path)
    window = samples[int(start * rate) : int(end * rate)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    bins = np.fft.rfftfreq(len(window), 1 / rate)
    return [float(spectrum[np.abs(bins - hz) < 20].max()) for hz in frequencies]


def assert_out_of_a_subaccounts_reach(client: plivo.RestClient, call_uuid: str) -> None:
    """The main account's live call is not a sub-account's to see or touch, nor its record."""
    created = client.subaccounts.create(name="shop", enabled=True)
    shop = plivo.RestClient(created.auth_id, created.auth_token)
    assert call_uuid not in shop.live_calls.list_ids().calls
    for act in (
        lambda: shop.live_calls.get(call_uuid),
        lambda: shop.calls.play(call_uuid, urls="http://127.0.0.1:9/a.wav"),
        lambda: shop.calls.send_digits(call_uuid, digits="1", leg="aleg"),
        lambda: shop.calls.transfer(call_uuid, legs="aleg", aleg_url="http://127.0.0.1:9/x"),
        lambda: shop.calls.hangup(call_uuid),
    ):
        with pytest.raises(plivo.exceptions.ResourceNotFoundError):
            act()
    assert call_uuid not in [record.call_uuid for record in shop.calls.list(limit=20)]
    shop.session.close()  # its keep-alive connection is not the call's to leave behind


def test_a_request_withdrawn_before_the_answer_stops_ringing(
    server: ServerProcess, client: plivo.RestClient
) -> None:
    with ApplicationServer({"/answer": HOLD, "/hangup": ""}) as app:
        before = baseline(server, client)
        with Phone("bob", server.sip_port, password="bob-secret", auto_answer=180) as bob:
            bob.register()
            fired = client.calls.create(
                from_=CALLER_ID, to_="bob", answer_url=app.url("/answer"),
                hangup_url=app.url("/hangup"),
            )  # fmt: skip
            bob.wait_for("incoming_call")
            time.sleep(0.5)
            client.calls.cancel(fired.request_uuid)
            bob.wait_for("call_state", state="DISCONNECTED")
        [hangup] = wait_until(lambda: app.requests_to("/hangup"))
    assert not app.requests_to("/answer")
    assert hangup.params["CallStatus"] == "cancel"
    assert hangup.params["HangupSource"] == "API Request"
    assert hangup.params["RequestUUID"] == fired.request_uuid
    assert_no_leaks(server, before, counters=CALL_COUNTERS)


def test_mistakes_are_4xx_naming_the_field(server: ServerProcess) -> None:
    base = f"http://127.0.0.1:{server.api_port}"
    calls = f"/v1/Account/{AUTH_ID}/Call/"
    good = {"from": CALLER_ID, "to": "bob", "answer_url": "http://127.0.0.1:9/answer"}
    cases = [
        ({k: v for k, v in good.items() if k != "answer_url"}, "answer_url"),
        ({**good, "answer_url": "ftp://x/answer"}, "answer_url"),
        ({**good, "machine_detection": "maybe"}, "machine_detection"),
        (
            {**good, "machine_detection": "true", "machine_detection_time": 1000},
            "machine_detection_time",
        ),
        ({**good, "machine_detection_url": "x"}, "machine_detection_url"),
        ({**good, "machine_detection_answer_time": 100}, "machine_detection_answer_time"),
        ({**good, "to": CALLER_ID}, "to"),
        ({**good, "time_limit": "soon"}, "time_limit"),
        ({**good, "sip_headers": "a-b=c"}, "sip_headers"),
        ({**good, "answer_method": "PUT"}, "answer_method"),
        ({**good, "send_digits": "12x"}, "send_digits"),
    ]
    for body, field in cases:
        reply = http(base, "POST", calls, body)
        assert reply.status == 400, (body, reply)
        assert field in str(reply.body["error"]), (body, reply)
    unknown = "00000000-0000-0000-0000-000000000000"
    for method, path, body in (
        ("DELETE", f"Request/{unknown}/", None),
        ("DELETE", f"Call/{unknown}/", None),
        ("POST", f"Call/{unknown}/Play/", {"urls": "http://127.0.0.1:9/a.wav"}),
        ("POST", f"Call/{unknown}/DTMF/", {"digits": "1"}),
        ("GET", f"Call/{unknown}/", None),
        ("GET", f"Call/{unknown}/?status=live", None),
        ("GET", f"Call/{unknown}/DebugLog/", None),
    ):
        assert http(base, method, f"/v1/Account/{AUTH_ID}/{path}", body).status == 404, path
    wrong = http(base, "GET", calls, credentials=(AUTH_ID, "wrong"))
    assert wrong.status == 401


def test_ring_timeout_hangup_on_ring_and_time_limit_end_calls_as_plivo_says(
    server: ServerProcess, client: plivo.RestClient
) -> None:
    with ApplicationServer({"/answer": HOLD, "/hangup": ""}) as app:
        before = baseline(server, client)
        outcomes = []
        for auto_answer, limits in (
            (180, {"ring_timeout": 2}),
            (180, {"hangup_on_ring": 1}),
            (200, {"time_limit": 2}),
        ):
            with Phone(
                "bob", server.sip_port, password="bob-secret", auto_answer=auto_answer
            ) as bob:
                bob.register()
                started = time.monotonic()
                client.calls.create(
                    from_=CALLER_ID, to_="bob", answer_url=app.url("/answer"),
                    hangup_url=app.url("/hangup"), **limits,
                )  # fmt: skip
                bob.wait_for("call_state", state="DISCONNECTED", timeout=15)
                lasted = time.monotonic() - started
            [hangup] = wait_until(lambda: app.requests_to("/hangup")[len(outcomes) :])
            outcomes.append((hangup.params["CallStatus"], hangup.params["HangupCauseCode"], lasted))
    (ring_status, ring_code, ring_lasted), (_, on_ring_code, on_ring_lasted), limited = outcomes
    assert (ring_status, ring_code) == ("timeout", "6010")  # Ring Timeout Reached
    assert 1.5 < ring_lasted < 5
    assert on_ring_code == "6000"
    assert 0.5 < on_ring_lasted < 4
    assert limited[:2] == ("completed", "6000")
    assert 1.5 < limited[2] < 5
    assert_no_leaks(server, before, counters=CALL_COUNTERS)
