"""The web phone at /phone, used in headless Chromium as a person uses it: fields filled in,
buttons clicked, the page's own status read back. Its microphone is a file of a 440 Hz tone;
a pjsua2 phone sends 1000 Hz and speaks only PCMU, so every call crosses ICE-lite, DTLS-SRTP
and the engine's Opus <-> PCMU transcoding. Audio is proven both ways by frequency: the
page's tone in what pjsua2 recorded, pjsua2's in what the page plays (measured with WebAudio).

A keypad key reaches an application's GetDigits action URL as Digits, sent as RFC 4733
events and as SIP INFO. The call test writes a screenshot of the phone in a call to
test-artifacts/ (ignored by git) and prints its path.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from plivo import plivoxml

from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.browser_calls import (
    BROWSER_TONE_HZ,
    MEASURE_MS,
    PHONE_USER,
    assert_page_heard,
    assert_phone_heard_the_browser,
    pjsua_phone,
    webrtc_server,
)
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.chromium import REPOSITORY, Chromium, requires_chromium, write_tone
from tests.interop.web_phone import WebPhone
from tests.websocket_server import WsServerProcess, bindings, until_gone

pytestmark = [pytest.mark.interop, requires_chromium]
pytest.importorskip("pjsua2")

SCREENSHOT = REPOSITORY / "test-artifacts" / "web-phone-in-call.png"
MENU = "Press a key, any key."


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[Chromium]:
    browser = await Chromium.with_microphone(write_tone(tmp_path / "440.wav", BROWSER_TONE_HZ))
    yield browser
    await browser.close()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> WsServerProcess:
    return webrtc_server(server_factory, "alice", "s3cret", *PHONE_USER)


async def signed_in(chromium: Chromium, server: WsServerProcess) -> WebPhone:
    """The page, signed in as alice over the WebSocket it suggests, voice processing off so
    the microphone's tone reaches the far side as it is."""
    phone = await WebPhone.open(chromium, server)
    status = await phone.sign_in("alice", "s3cret", voice_processing=False)
    assert status == f"Registered as alice@{SIP_DOMAIN}"
    return phone


async def assert_page_hears_the_phone(phone: WebPhone) -> str:
    """pjsua2's tone in what the page plays, and both directions on the page's own meters (a
    half-scale sine reads about 0.5); the figures, said in words."""
    heard = await phone.hears(MEASURE_MS)
    assert_page_heard(heard)
    levels = (await phone.meter("speaker-level"), await phone.meter("microphone-level"))
    assert levels[0] > 0.05
    assert levels[1] > 0.2
    return (
        f"the page heard {heard['frequency']:.0f} Hz at {heard['level']:.1f} dBFS; "
        f"its meters: speaker {levels[0]:.2f}, microphone {levels[1]:.2f}"
    )


@pytest.mark.parametrize("transport", ["ws", "wss"])
async def test_signs_in_registers_and_signs_out(
    server: WsServerProcess, chromium: Chromium, transport: str
) -> None:
    phone = await WebPhone.open(chromium, server)
    # The page suggests this server's ws listener on the host it was loaded from.
    assert await phone.value("#socket") == server.url("ws")
    assert await phone.value("#domain") == SIP_DOMAIN
    socket = server.url(transport) if transport == "wss" else ""
    assert await phone.sign_in("alice", "s3cret", socket) == f"Registered as alice@{SIP_DOMAIN}"
    [row] = bindings(server)
    assert (row["username"], row["transport"]) == ("alice", transport)
    assert str(row["user_agent"]).startswith("JsSIP")
    assert await phone.state() == "idle"

    await phone.click("#logout")  # JsSIP un-REGISTERs (Expires: 0), then closes its socket
    await until_gone(server, transport)
    assert await phone.text("#registration") == "Signed out"
    await phone.until(lambda: websocket_connections(server), lambda count: count == 0)


async def websocket_connections(server: ServerProcess) -> float:
    return server.metrics()["mediaserver_sip_ws_connections"]


async def test_a_sip_uri_jssip_cannot_use_is_shown(
    server: WsServerProcess, chromium: Chromium
) -> None:
    phone = await WebPhone.open(chromium, server)
    status = await phone.sign_in("alice smith", "s3cret")
    assert status.startswith("Cannot sign in: "), status
    assert bindings(server) == []


@dataclass
class HttpsServerProcess(WsServerProcess):
    """The API listener on https (api.tls), with the wss listener's self-signed pair."""

    def write_config(self) -> None:
        super().write_config()
        text = self.config_path.read_text()
        self.config_path.write_text(text.replace("[api]\n", "[api]\ntls = true\n", 1))


async def test_served_over_https_it_signs_in_over_wss(
    server_factory: Callable[..., ServerProcess], chromium: Chromium
) -> None:
    server = server_factory(kind=HttpsServerProcess)
    assert isinstance(server, HttpsServerProcess)
    server.cli("endpoint", "add", "alice", "s3cret", "--exact")
    phone = await WebPhone.open(chromium, server, "https")
    # An https page may not open a ws:// socket (mixed content): it suggests wss.
    assert await phone.value("#socket") == server.url("wss")
    assert await phone.sign_in("alice", "s3cret") == f"Registered as alice@{SIP_DOMAIN}"
    [row] = bindings(server)
    assert row["transport"] == "wss"


async def test_a_wrong_password_is_shown(server: WsServerProcess, chromium: Chromium) -> None:
    phone = await WebPhone.open(chromium, server)
    status = await phone.sign_in("alice", "wrong")
    assert status == "Not registered: Rejected (403 Forbidden)"
    assert bindings(server) == []


async def test_calls_a_pjsua2_phone_mutes_and_both_hear_each_other(
    server: WsServerProcess, chromium: Chromium, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    phone = await signed_in(chromium, server)
    before = baseline(server)  # with the page's WebSocket open
    recording = tmp_path / "dave.wav"
    with pjsua_phone(server, recording, auto_answer=200) as dave:
        dave.register()
        await phone.dial("dave")
        assert await phone.until_state("in-call") == "In call with dave"
        assert dave.wait_for("media_state", status="ACTIVE")["codec"] == "PCMU"
        heard = await assert_page_hears_the_phone(phone)
        assert await phone.value("#duration") != "0:00"
        await phone.screenshot(SCREENSHOT)
        with capsys.disabled():
            print(f"\nweb phone in a call: {SCREENSHOT}\n{heard}")
        dave.send("stop_recording")

        await phone.click("#mute")  # the microphone's track is disabled: it sends silence
        await phone.until(lambda: phone.meter("microphone-level"), lambda level: level < 0.01)
        assert await phone.text("#mute") == "Unmute"
        await phone.click("#mute")
        await phone.until(lambda: phone.meter("microphone-level"), lambda level: level > 0.2)

        await phone.click("#hangup")
        dave.wait_for("call_state", state="DISCONNECTED")
        assert await phone.until_state("ended") == "Call ended"
    heard_by_dave = assert_phone_heard_the_browser(recording)
    with capsys.disabled():
        print(f"pjsua2 heard {heard_by_dave:.0f} Hz (the page's microphone: {BROWSER_TONE_HZ} Hz)")
    assert_no_leaks(server, before)
    assert [record["codec"] for record in call_records(server)] == ["opus", "PCMU"]


async def test_a_pjsua2_call_rings_and_is_answered_with_a_click(
    server: WsServerProcess, chromium: Chromium, tmp_path: Path
) -> None:
    phone = await signed_in(chromium, server)
    before = baseline(server)
    recording = tmp_path / "dave.wav"
    with pjsua_phone(server, recording, auto_answer=None) as dave:
        dave.register()
        dave.call(f"sip:alice@{SIP_DOMAIN}")
        assert await phone.until_state("ringing") == "Incoming call from dave"
        await phone.click("#answer")
        dave.wait_for("call_state", state="CONFIRMED", timeout=15)
        await phone.until_state("in-call")
        await assert_page_hears_the_phone(phone)
        dave.send("stop_recording")
        dave.hangup()
        await phone.until_state("ended")
    assert_phone_heard_the_browser(recording)
    assert_no_leaks(server, before)
    assert [record["codec"] for record in call_records(server)] == ["PCMU", "opus"]


def menu(action_url: str) -> str:
    """Speak + GetDigits: the menu is spoken inside GetDigits, one key ends it."""
    digits = plivoxml.GetDigitsElement(action=action_url, method="POST", num_digits=1, timeout=10)
    digits.add(plivoxml.SpeakElement(MENU))
    return plivoxml.ResponseElement().add(digits).to_string()


@pytest.mark.parametrize(("mode", "digit"), [("RFC2833", "5"), ("INFO", "8")])
async def test_a_keypad_key_reaches_the_applications_action_url(
    server_factory: Callable[..., ServerProcess], chromium: Chromium, mode: str, digit: str
) -> None:
    with ApplicationServer({"/answer": "", "/pressed": "<Response/>"}) as app:
        app.routes["/answer"] = menu(app.url("/pressed"))
        # The SIP trace (DEBUG) shows whether the key came as an INFO request or not.
        server = webrtc_server(server_factory, extra_toml='[log]\nlevel = "DEBUG"\n')
        app_id = server.cli("application", "add", "menu", "--answer-url", app.url("/answer"))
        app_id = app_id.splitlines()[-1]
        server.cli("endpoint", "add", "alice", "s3cret", "--exact", "--app", app_id)
        phone = await signed_in(chromium, server)
        before = baseline(server)
        await phone.dial("menu")
        await phone.until_state("in-call")
        # Pressed once the menu is heard, as a caller would: media flows by then.
        await phone.until(lambda: phone.meter("speaker-level"), lambda level: level > 0.01)
        await phone.select("#dtmf-mode", mode)
        await phone.press(digit)
        assert await phone.value("#sent-digits") == digit
        # The action's empty document ends the call (4010 End Of XML Instructions).
        await phone.until_state("ended")
        [pressed] = app.requests_to("/pressed")
    assert pressed.params["Digits"] == digit
    infos = [message for message in server.log().split("<<< from ") if "\nINFO sip:" in message]
    if mode == "INFO":
        [info] = infos
        assert "application/dtmf-relay" in info
        assert f"Signal={digit}" in info
    else:
        assert infos == []  # RFC 4733 events in the SRTP stream
    [record] = call_records(server)
    assert record["hangup_cause_code"] == 4010
    assert_no_leaks(server, before)
