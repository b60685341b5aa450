"""Answering-machine detection on calls placed through the official `plivo` SDK (plivo.md §4.1
machine_detection, §3 machine_detection_url): a registered pjsua2 phone answers and plays a
recorded greeting (the project's TTS, espeak-ng), which is reported as a machine, or says
"hello" and stops, which is not. `hangup` mode ends a machine's call with 9100 Machine
Detected. Every request is signed; the counters return to their baseline."""

import asyncio
from dataclasses import dataclass
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
DOCUMENT_SECONDS = 6


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


@dataclass(frozen=True)
class Answered:
    """One call to bob: its request_uuid and what the application server heard of it."""

    request_uuid: str
    answer: AppRequest
    verdict: AppRequest  # machine_detection_url's request
    hangup: AppRequest


def machine_then_person(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path, mode: str
) -> list[Answered]:
    """Two calls with machine_detection=`mode` to bob, whose phone answers and plays the
    greeting, then "hello": every request signed, the counters back at their baseline."""
    speeches = [
        spoken_wav(tmp_path / "greeting.wav", GREETING),
        spoken_wav(tmp_path / "hello.wav", "Hello?"),
    ]
    # The document outlasts the detection: `true` reports, the call goes on to its end.
    document = f'<Response><Wait length="{DOCUMENT_SECONDS}"/></Response>'
    with ApplicationServer({"/answer": document, "/machine": "", "/hangup": ""}) as app:
        before = baseline(server, client)
        calls = [answered_by(server, client, app, speech, mode) for speech in speeches]
        for request in app.requests:
            assert_signed(request)
    assert_no_leaks(server, before, counters=CALL_COUNTERS)
    return calls


def answered_by(
    server: ServerProcess, client: plivo.RestClient, app: ApplicationServer, speech: Path, mode: str
) -> Answered:
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
    return Answered(fired.request_uuid, app.requests_to("/answer")[calls], verdict, hangup)


def test_a_recorded_greeting_is_a_machine_and_a_hello_is_not(
    rest_server: ServerProcess, client: plivo.RestClient, bob: str, tmp_path: Path
) -> None:
    calls = machine_then_person(rest_server, client, tmp_path, "true")
    for call in calls:
        verdict = call.verdict.params
        assert verdict["Event"] == "MachineDetection"
        assert verdict["IfMachine"] == "continue"
        assert verdict["CallStatus"] == "in-progress"
        assert verdict["Direction"] == "outbound"
        assert verdict["CallUUID"] == verdict["ALegUUID"] == call.answer.params["CallUUID"]
        assert verdict["RequestUUID"] == verdict["ALegRequestUUID"] == call.request_uuid
        assert (verdict["From"], verdict["To"]) == (CALLER_ID, "sip:bob@phone.local")
        assert call.hangup.params["HangupCauseCode"] == "4010"  # the document ran to its end
    assert [call.verdict.params["Machine"] for call in calls] == ["true", "false"]


def test_hangup_mode_ends_a_machines_call_as_machine_detected_and_not_a_persons(
    rest_server: ServerProcess, client: plivo.RestClient, bob: str, base_url: str, tmp_path: Path
) -> None:
    machine, person = machine_then_person(rest_server, client, tmp_path, "hangup")
    assert (person.verdict.params["Machine"], person.verdict.params["IfMachine"]) == (
        "false", "hangup",
    )  # fmt: skip
    assert person.hangup.params["HangupCauseCode"] == "4010"  # the document ran to its end
    assert (machine.verdict.params["Machine"], machine.verdict.params["IfMachine"]) == (
        "true", "hangup",
    )  # fmt: skip
    hangup = machine.hangup.params
    assert hangup["HangupCauseCode"] == "9100"
    assert hangup["HangupCauseName"] == "Machine Detected"
    assert hangup["HangupSource"] == "Plivo"
    assert int(hangup["Duration"]) < DOCUMENT_SECONDS - 1  # the greeting's start, not the Wait
    call_uuid = machine.answer.params["CallUUID"]
    record = client.calls.get(call_uuid)
    assert (record.hangup_cause_code, record.hangup_source) == (9100, "Plivo")
    log = http(base_url, "GET", f"/v1/Account/{AUTH_ID}/Call/{call_uuid}/DebugLog/")
    assert any(e["message"].startswith("machine detection: machine") for e in log.body["entries"])
