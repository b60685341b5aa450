"""A browser calls, is called and presses keys: headless Chromium runs JsSIP in a page, its
microphone a file of a 440 Hz tone (--use-file-for-fake-audio-capture); a pjsua2 phone sends
1000 Hz and speaks only PCMU. Every call crosses ICE-lite, DTLS-SRTP and the engine's Opus <-> PCMU
transcoding; audio is proven both ways: the browser's tone is found by FFT in what pjsua2
recorded, pjsua2's by the page's AnalyserNode in what the browser received.

Closing the tab mid-call sends no BYE (JsSIP has no unload handler): the legs end because the
WebSocket closed, well within the ICE consent timeout, and every counter returns to baseline.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.browser_calls import (
    BROWSER_TONE_HZ,
    MEASURE_MS,
    PHONE_TONE_HZ,
    PHONE_USER,
    assert_page_heard,
    assert_phone_heard_the_browser,
    pjsua_phone,
    webrtc_server,
)
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.chromium import Chromium, PageServer, requires_chromium, write_tone
from tests.websocket_server import WsServerProcess

pytestmark = [pytest.mark.interop, requires_chromium]
pytest.importorskip("pjsua2")

OTHER_BROWSER_TONE_HZ = 660
CONSENT_TIMEOUT = 30.0  # RFC 7675 §5.1


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[Chromium]:
    browser = await Chromium.with_microphone(write_tone(tmp_path / "440.wav", BROWSER_TONE_HZ))
    yield browser
    await browser.close()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> WsServerProcess:
    return webrtc_server(server_factory, "alice", "s3cret", *PHONE_USER, "bob", "s3cret")


async def open_phone_page(
    chromium: Chromium, pages: PageServer, server: WsServerProcess, user: str = "alice"
) -> int:
    answer = await chromium.command(command="open", page=f"{pages.origin}/call.html")
    page = int(answer["page"])
    registered = await chromium.invoke(
        page, "start", server.url("ws"), f"sip:{user}@{SIP_DOMAIN}", "s3cret"
    )
    assert ".invalid;transport=ws" in registered["contact"]
    return page


async def assert_browser_hears_the_phone(
    chromium: Chromium, page: int, frequency: int = PHONE_TONE_HZ
) -> None:
    assert_page_heard(await chromium.invoke(page, "measure", MEASURE_MS), frequency)


def assert_phone_heard_the_browser_and_no_leaks(
    server: ServerProcess, before: dict[str, float], recording: Path, codecs: tuple[str, str]
) -> None:
    """After the call: the browser's tone in pjsua2's recording, nothing left open, and the
    call records' codecs (A leg, B leg)."""
    assert_phone_heard_the_browser(recording)
    assert_no_leaks(server, before)
    assert tuple(record["codec"] for record in call_records(server)) == codecs


def assert_media_is_webrtc(server: ServerProcess) -> None:
    metrics = server.metrics()
    assert metrics["mediaserver_media_webrtc_streams"] == 1
    assert metrics["mediaserver_media_transcoding_streams"] == 2


async def test_browser_calls_a_pjsua2_phone_and_both_hear_each_other(
    server: WsServerProcess, pages: PageServer, chromium: Chromium, tmp_path: Path
) -> None:
    page = await open_phone_page(chromium, pages, server)
    before = baseline(server)  # with the page's WebSocket open
    recording = tmp_path / "dave.wav"
    with pjsua_phone(server, recording, auto_answer=200) as dave:
        dave.register()
        await chromium.invoke(page, "call", f"sip:dave@{SIP_DOMAIN}")
        assert dave.wait_for("media_state", status="ACTIVE")["codec"] == "PCMU"
        assert_media_is_webrtc(server)
        await assert_browser_hears_the_phone(chromium, page)
        dave.send("stop_recording")
        # The browser's keypad: RFC 4733 at 48 kHz (Opus's clock), then SIP INFO; both
        # reach the PCMU phone as RFC 4733 events at 8 kHz.
        await chromium.invoke(page, "sendDtmf", "5", "RFC2833")
        assert dave.wait_for("dtmf", timeout=5)["digit"] == "5"
        await chromium.invoke(page, "sendDtmf", "#", "INFO")
        assert dave.wait_for("dtmf", timeout=5)["digit"] == "#"
        await chromium.invoke(page, "hangup")
        dave.wait_for("call_state", state="DISCONNECTED")
    assert_phone_heard_the_browser_and_no_leaks(server, before, recording, ("opus", "PCMU"))


async def test_pjsua2_calls_the_browser_which_answers_on_a_click(
    server: WsServerProcess, pages: PageServer, chromium: Chromium, tmp_path: Path
) -> None:
    page = await open_phone_page(chromium, pages, server)
    before = baseline(server)  # with the page's WebSocket open
    recording = tmp_path / "dave.wav"
    with pjsua_phone(server, recording, auto_answer=None) as dave:
        dave.register()
        dave.call(f"sip:alice@{SIP_DOMAIN}")
        await until_state(chromium, page, "ringing")
        await chromium.command(command="click", page=page, selector="#answer")
        dave.wait_for("call_state", state="CONFIRMED", timeout=15)
        await until_state(chromium, page, "in call")
        assert_media_is_webrtc(server)
        await assert_browser_hears_the_phone(chromium, page)
        dave.send("stop_recording")
        dave.hangup()
        await until_state(chromium, page, "ended")
    assert_phone_heard_the_browser_and_no_leaks(server, before, recording, ("PCMU", "opus"))


async def test_closing_the_tab_mid_call_ends_both_legs(
    server: WsServerProcess, pages: PageServer, chromium: Chromium, tmp_path: Path
) -> None:
    before = baseline(server)
    page = await open_phone_page(chromium, pages, server)
    with pjsua_phone(server, tmp_path / "dave.wav", auto_answer=200) as dave:
        dave.register()
        await chromium.invoke(page, "call", f"sip:dave@{SIP_DOMAIN}")
        dave.wait_for("media_state", status="ACTIVE")
        await assert_browser_hears_the_phone(chromium, page)
        closed_at = asyncio.get_running_loop().time()
        await chromium.command(command="close", page=page)
        dave.wait_for("call_state", state="DISCONNECTED", timeout=CONSENT_TIMEOUT)
        ended_after = asyncio.get_running_loop().time() - closed_at
    assert ended_after < CONSENT_TIMEOUT
    assert_no_leaks(server, before)
    assert [record["hangup_cause_name"] for record in call_records(server)][:1] == ["Normal Hangup"]


async def test_two_browsers_keep_opus_end_to_end_relayed_after_srtp(
    server: WsServerProcess, pages: PageServer, chromium: Chromium, tmp_path: Path
) -> None:
    other = await Chromium.with_microphone(write_tone(tmp_path / "660.wav", OTHER_BROWSER_TONE_HZ))
    try:
        alice = await open_phone_page(chromium, pages, server)
        bob = await open_phone_page(other, pages, server, user="bob")
        before = baseline(server)
        calling = asyncio.ensure_future(chromium.invoke(alice, "call", f"sip:bob@{SIP_DOMAIN}"))
        await until_state(other, bob, "ringing")
        await other.command(command="click", page=bob, selector="#answer")
        await calling
        await until_state(other, bob, "in call")
        metrics = server.metrics()
        # Both legs Opus with telephone-event: the relay fast path, never decoded.
        assert metrics["mediaserver_media_webrtc_streams"] == 2
        assert metrics["mediaserver_media_relay_streams"] == 2
        assert metrics["mediaserver_media_transcoding_streams"] == 0
        await assert_browser_hears_the_phone(chromium, alice, OTHER_BROWSER_TONE_HZ)
        await assert_browser_hears_the_phone(other, bob, BROWSER_TONE_HZ)
        await chromium.invoke(alice, "hangup")
        await until_state(other, bob, "ended")
    finally:
        await other.close()
    assert_no_leaks(server, before)
    assert [record["codec"] for record in call_records(server)] == ["opus", "opus"]


async def until_state(chromium: Chromium, page: int, state: str) -> None:
    """The page's call state reaches `state` (the driver's command timeout bounds the wait)."""
    assert await chromium.invoke(page, "waitForState", state) == state
