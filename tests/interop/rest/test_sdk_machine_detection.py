"""Answering-machine detection on calls placed through the official `plivo` SDK (plivo.md §4.1
machine_detection, §3 machine_detection_url): a registered pjsua2 phone answers and plays a
recorded greeting (the project's TTS, espeak-ng), which is reported as a machine, or says
"hello" and stops, which is not. `hangup` mode ends a machine's call with 9100 Machine
Detected. Every request is signed; the counters return to their baseline."""

import asyncio
from pathlib import Path

import plivo
import pytest

from mediaserver.media.audio_file import AudioWriter
from mediaserver.media.espeak_engine import EspeakEngine
from mediaserver.media.tts_cache import TtsCache
from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer, AppRequest, assert_signed
from tests.interop.call_checks import assert_no_leaks
from tests.interop.phone import Phone
from tests.interop.rest.conftest import AUTH_ID, http
from tests.interop.rest.test_sdk_calls import CALL_COUNTERS, CALLER_ID, baseline, wait_until

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

# About 7 s of speech without a full stop: a voicemail greeting.
GREETING = (
    "Hi you have reached the voicemail of Robert Smith and I cannot take your call right now "
    "so please leave your name and number after the tone"
)


@pytest.fixture(scope="module")
def bob(rest_server: ServerProcess) -> str:
    rest_server.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    return "bob"


def spoken_wav(path: Path, text: str) -> Path:
    """`text` said by the server's own TTS engine, as an 8 kHz WAV a phone can play."""
    speech = TtsCache(EspeakEngine(), path.parent)
    samples = asyncio.run(speech.synthesize(text, "WOMAN", "en-US", 8000))
    writer = AudioWriter(path)
    writer.write(samples)
    return writer.close()


def answered_by(
    server: ServerProcess,
    client: plivo.RestClient,
    app: ApplicationServer,
    speech: Path,
    mode: str,
) -> tuple[str, AppRequest, AppRequest]:
    """A call to bob, whose phone answers and plays `speech`: the request_uuid, the
    machine_detection_url request and the hangup request."""
    calls = len(app.requests_to("/hangup"))
    with Phone(
        "bob", server.sip_port, password="bob-secret", auto_answer=200, play_path=speech
    ) as phone:
        phone.register()
        fired = client.calls.create(
            from_=CALLER_ID, to_="bob", answer_url=app.url("/answer"),
            hangup_url=app.url("/hangup"), machine_detection=mode,
            machine_detection_url=app.url("/machine"),
        )  # fmt: skip
        phone.wait_for("call_state", state="CONFIRMED")
        phone.wait_for("call_state", state="DISCONNECTED", timeout=20)
    hangup = wait_until(lambda: app.requests_to("/hangup")[calls:])[0]
    verdict = wait_until(lambda: app.requests_to("/machine")[calls:])[0]
    return fired.request_uuid, verdict, hangup


def test_a_recorded_greeting_is_a_machine_and_a_hello_is_not(
    rest_server: ServerProcess, client: plivo.RestClient, bob: str, tmp_path: Path
) -> None:
    greeting = spoken_wav(tmp_path / "greeting.wav", GREETING)
    hello = spoken_wav(tmp_path / "hello.wav", "Hello?")
    # The document outlasts the detection: `true` reports, the call goes on to its end.
    document = '<Response><Wait length="5"/></Response>'
    with ApplicationServer({"/answer": document, "/machine": "", "/hangup": ""}) as app:
        before = baseline(rest_server, client)
        outcomes = [answered_by(rest_server, client, app, wav, "true") for wav in (greeting, hello)]
        answers = app.requests_to("/answer")
        for request in app.requests:
            assert_signed(request)
    for (request_uuid, verdict, hangup), answer in zip(outcomes, answers, strict=True):
        call_uuid = answer.params["CallUUID"]
        assert verdict.params["Event"] == "MachineDetection"
        assert verdict.params["IfMachine"] == "continue"
        assert verdict.params["CallStatus"] == "in-progress"
        assert verdict.params["Direction"] == "outbound"
        assert verdict.params["CallUUID"] == verdict.params["ALegUUID"] == call_uuid
        assert verdict.params["RequestUUID"] == verdict.params["ALegRequestUUID"] == request_uuid
        assert (verdict.params["From"], verdict.params["To"]) == (CALLER_ID, "sip:bob@phone.local")
        assert hangup.params["HangupCauseCode"] == "4010"  # the document ran to its end
    [machine, human] = [verdict.params["Machine"] for _, verdict, _ in outcomes]
    assert (machine, human) == ("true", "false")
    assert_no_leaks(rest_server, before, counters=CALL_COUNTERS)


def test_hangup_mode_ends_a_machines_call_as_machine_detected_and_not_a_persons(
    rest_server: ServerProcess, client: plivo.RestClient, bob: str, base_url: str, tmp_path: Path
) -> None:
    greeting = spoken_wav(tmp_path / "greeting.wav", GREETING)
    hello = spoken_wav(tmp_path / "hello.wav", "Hello?")
    document = '<Response><Wait length="7"/></Response>'
    with ApplicationServer({"/answer": document, "/machine": "", "/hangup": ""}) as app:
        before = baseline(rest_server, client)
        _, verdict, hangup = answered_by(rest_server, client, app, greeting, "hangup")
        _, person, person_hangup = answered_by(rest_server, client, app, hello, "hangup")
        answer = app.requests_to("/answer")[0]
        for request in app.requests:
            assert_signed(request)
    assert (person.params["Machine"], person.params["IfMachine"]) == ("false", "hangup")
    assert person_hangup.params["HangupCauseCode"] == "4010"  # the document ran to its end
    assert (verdict.params["Machine"], verdict.params["IfMachine"]) == ("true", "hangup")
    assert hangup.params["HangupCauseCode"] == "9100"
    assert hangup.params["HangupCauseName"] == "Machine Detected"
    assert hangup.params["HangupSource"] == "Plivo"
    assert int(hangup.params["Duration"]) < 5  # the greeting's first seconds, not the Wait
    call_uuid = answer.params["CallUUID"]
    record = client.calls.get(call_uuid)
    assert (record.hangup_cause_code, record.hangup_source) == (9100, "Plivo")
    log = http(base_url, "GET", f"/v1/Account/{AUTH_ID}/Call/{call_uuid}/DebugLog/")
    assert any(e["message"].startswith("machine detection: machine") for e in log.body["entries"])
    assert_no_leaks(rest_server, before, counters=CALL_COUNTERS)
