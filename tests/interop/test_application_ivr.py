"""Plivo's IVR example, run by the server for a pjsua2 caller against an application server
the test starts: a menu spoken inside GetDigits numDigits=1; 1 and 2 each speak their own
sentence, 3 dials a registered endpoint, anything else is told so and hung up.

What the caller heard is compared with the TTS audio of each sentence (the loudness envelope,
20 ms frames, cross-correlated): the right sentence must match and stand clear of the others.
Every request the application received carries V2 and V3 signatures that the official SDK's
validators accept. Documents are built with the SDK's own plivoxml builders.
"""

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from plivo import plivoxml

from mediaserver.media.espeak_engine import EspeakEngine
from mediaserver.media.tts_cache import TtsCache
from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer, assert_signed
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone, dominant_between, dominant_frequency, read_wav

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

MENU = "Press one for sales. Press two for support. Press three to talk to Bob."
SENTENCES = {
    "1": "Thank you for calling our sales team. Goodbye.",
    "2": "Support is closed today. Please call again tomorrow morning.",
    "9": "That is not an option on this menu.",
}


def menu(choice_url: str) -> str:
    digits = plivoxml.GetDigitsElement(action=choice_url, method="POST", num_digits=1, timeout=10)
    digits.add(plivoxml.SpeakElement(MENU))
    return plivoxml.ResponseElement().add(digits).add(plivoxml.SpeakElement("Goodbye")).to_string()


def choice(params: Mapping[str, str]) -> str:
    response = plivoxml.ResponseElement()
    digit = params.get("Digits", "")
    if digit == "3":
        return response.add(
            plivoxml.DialElement().add(plivoxml.UserElement("sip:bob@phone.local"))
        ).to_string()
    if digit in ("1", "2"):
        return response.add(plivoxml.SpeakElement(SENTENCES[digit])).to_string()
    response.add(plivoxml.SpeakElement(SENTENCES["9"]))
    return response.add(plivoxml.HangupElement()).to_string()


def envelope(samples: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """Loudness in dB per 20 ms frame."""
    size = rate // 50
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    return np.asarray(20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-3), np.float64)


def similarity(heard: npt.NDArray[np.float64], expected: npt.NDArray[np.float64]) -> float:
    """The best Pearson correlation of `expected` against any stretch of `heard`."""
    width = len(expected)
    reference = (expected - expected.mean()) / (expected.std() + 1e-9)
    best = -1.0
    for start in range(0, max(1, len(heard) - width + 1)):
        window = heard[start : start + width]
        if len(window) < width:
            break
        normalised = (window - window.mean()) / (window.std() + 1e-9)
        best = max(best, float((normalised * reference).mean()))
    return best


def tts_envelope(text: str, cache: Path) -> npt.NDArray[np.float64]:
    samples = asyncio.run(TtsCache(EspeakEngine(), cache).synthesize(text, "WOMAN", "en-US", 8000))
    return envelope(samples.astype(np.float64), 8000)


def start_ivr(
    server_factory: Callable[..., ServerProcess], app: ApplicationServer
) -> tuple[ServerProcess, dict[str, float]]:
    """The server, alice's endpoint under the IVR application, bob's, and the counters'
    baseline."""
    server = server_factory()
    app_id = server.cli("application", "add", "ivr", "--answer-url", app.url("/answer"))
    app_id = app_id.splitlines()[-1]
    server.cli("endpoint", "add", "alice", "alice-secret", "--exact", "--app", app_id)
    server.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    return server, baseline(server)


@pytest.mark.parametrize(("digit", "command"), [("1", "dial_dtmf"), ("2", "inband_dtmf")])
def test_each_key_speaks_its_own_sentence(
    server_factory: Callable[..., ServerProcess], tmp_path: Path, digit: str, command: str
) -> None:
    """Key 1 pressed as RFC 4733 events, key 2 as in-band tones."""
    routes = {"/answer": "", "/choice": choice}
    with ApplicationServer(routes) as app:  # type: ignore[arg-type]
        app.routes["/answer"] = menu(app.url("/choice"))
        server, before = start_ivr(server_factory, app)
        heard = tmp_path / "alice.wav"
        with Phone("alice", server.sip_port, password="alice-secret", record_path=heard) as alice:
            alice.register()
            alice.call("sip:ivr@phone.local")
            alice.wait_for("call_state", state="CONFIRMED")
            time.sleep(1.5)
            alice.send(command, digits=digit)
            alice.wait_for("call_state", state="DISCONNECTED", timeout=20)
        answer, hangup = app.requests_to("/answer")  # no hangup_url: the answer URL hears it
        [chosen] = app.requests_to("/choice")
    assert hangup.params["HangupCauseCode"] == "4010"
    assert answer.params["Direction"] == "inbound"
    assert answer.params["CallStatus"] == "ringing"
    assert chosen.params["Digits"] == digit
    assert chosen.params["CallUUID"] == answer.params["CallUUID"]
    for request in (answer, chosen, hangup):
        assert_signed(request)
    samples, rate = read_wav(heard)
    heard_envelope = envelope(samples, rate)
    scores = {
        key: similarity(heard_envelope, tts_envelope(text, tmp_path))
        for key, text in SENTENCES.items()
    }
    others = [score for key, score in scores.items() if key != digit]
    assert scores[digit] > 0.8, scores
    assert scores[digit] > max(others) + 0.15, scores
    [record] = call_records(server)
    assert (record["hangup_cause_code"], record["hangup_source"]) == (4010, "Plivo")
    assert_no_leaks(server, before)


def test_three_dials_the_registered_endpoint_with_audio_both_ways(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    routes = {"/answer": "", "/choice": choice}
    with ApplicationServer(routes) as app:  # type: ignore[arg-type]
        app.routes["/answer"] = menu(app.url("/choice"))
        server, before = start_ivr(server_factory, app)
        heard_by_alice, heard_by_bob = tmp_path / "alice.wav", tmp_path / "bob.wav"
        with (
            Phone(
                "alice", server.sip_port, password="alice-secret", tone_hz=440,
                record_path=heard_by_alice,
            ) as alice,
            Phone(
                "bob", server.sip_port, password="bob-secret", tone_hz=1000,
                record_path=heard_by_bob, auto_answer=200,
            ) as bob,
        ):  # fmt: skip
            alice.register()
            bob.register()
            alice.call("sip:ivr@phone.local")
            alice.wait_for("call_state", state="CONFIRMED")
            time.sleep(1.0)
            alice.send("dial_dtmf", digits="3")
            bob.wait_for("call_state", state="CONFIRMED", timeout=15)
            time.sleep(2.5)
            alice.send("stop_recording")
            bob.send("stop_recording")
            alice.hangup()
            bob.wait_for("call_state", state="DISCONNECTED")
        [chosen] = app.requests_to("/choice")
    assert chosen.params["Digits"] == "3"
    end = len(read_wav(heard_by_alice)[0]) / read_wav(heard_by_alice)[1]
    assert abs(dominant_between(heard_by_alice, end - 1.5, end - 0.2) - 1000) < 15
    assert abs(dominant_frequency(heard_by_bob) - 440) < 15
    assert_no_leaks(server, before)


def test_another_key_is_told_so_and_hung_up(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    routes = {"/answer": "", "/choice": choice}
    with ApplicationServer(routes) as app:  # type: ignore[arg-type]
        app.routes["/answer"] = menu(app.url("/choice"))
        server, before = start_ivr(server_factory, app)
        with Phone("alice", server.sip_port, password="alice-secret") as alice:
            alice.register()
            alice.call("sip:ivr@phone.local")
            alice.wait_for("call_state", state="CONFIRMED")
            time.sleep(1.0)
            alice.send("info_dtmf", digits="7")  # SIP INFO this time
            alice.wait_for("call_state", state="DISCONNECTED", timeout=20)
        [chosen] = app.requests_to("/choice")
        hangups = [r for r in app.requests_to("/answer") if "HangupCause" in r.params]
    assert chosen.params["Digits"] == "7"
    [hangup] = hangups
    assert hangup.params["HangupCauseCode"] == "4000"
    assert hangup.params["HangupSource"] == "Answer XML"
    assert_signed(hangup)
    assert_no_leaks(server, before)
