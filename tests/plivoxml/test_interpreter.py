"""The Plivo XML interpreter on the in-memory SIP peer and a manual clock, document by
document: lazy answer, the end of the document, redirect loops, fetch and XML failures, a
failing Play URL, verbs not run yet, the caller hanging up midway; each checked by what the
caller's SIP sees and what the application server is asked. Each verb's attributes have their
own files (test_verb_*.py)."""

import numpy as np

from mediaserver.calls.leg_events import DigitSource
from mediaserver.plivoxml.session import ApplicationUrls, FetchError
from tests.calls.in_memory import in_dialog
from tests.plivoxml.application_harness import ANSWER_URL, running_application
from tests.plivoxml.caller import call, caller_media

ACTION_URL = "http://app.test/action"
HANGUP_URL = "http://app.test/hangup"


async def test_speak_answers_lazily_and_the_end_of_the_document_hangs_up_4010() -> None:
    document = '<Response><Speak voice="MAN">Hello there</Speak></Response>'
    urls = ApplicationUrls(ANSWER_URL, hangup_url=HANGUP_URL)
    async with running_application({ANSWER_URL: document}, urls) as harness:
        alice = await call(harness)
        assert alice.statuses[-1] == 200
        [answer] = harness.app.to(ANSWER_URL)
        assert answer.method == "POST"
        assert answer.params["CallStatus"] == "ringing"  # fetched before the answer
        assert answer.params["Direction"] == "inbound"
        assert answer.params["From"] == "sip:alice@phone.local"
        assert answer.params["X-PH-Customer"] == "42"
        assert harness.tts.spoken == [("Hello there", "MAN", "en-US")]
        caller_media(harness).finish_playing()
        await harness.calls.settle()
        assert harness.calls.causes() == [("inbound", 4010, "Plivo")]
        [hangup] = harness.app.to(HANGUP_URL)
        assert not hangup.fetched
        assert hangup.params["HangupCauseCode"] == "4010"
        assert hangup.params["HangupCauseName"] == "End Of XML Instructions"
        assert hangup.params["HangupCause"] == "NORMAL_CLEARING"
        assert hangup.params["HangupSource"] == "Plivo"
        assert hangup.params["CallStatus"] == "completed"
        assert set(hangup.params) >= {"Duration", "BillDuration", "StartTime", "EndTime"}


async def test_wait_and_hangup_before_answer_refuse_with_486() -> None:
    document = '<Response><Wait length="3"/><Hangup reason="busy"/></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        alice = await call(harness)
        await harness.calls.advance(2.5)
        assert 200 not in alice.statuses
        assert all(status < 200 for status in alice.statuses)
        await harness.calls.advance(1)
        assert alice.statuses[-1] == 486
        assert harness.calls.causes() == [("inbound", 3010, "Answer XML")]
        # No hangup_url: the answer URL hears the hangup (§3).
        assert [r.fetched for r in harness.app.to(ANSWER_URL)] == [True, False]


async def test_redirect_honours_its_method_and_a_redirect_loop_is_cut_off() -> None:
    loop = f'<Response><Redirect method="GET">{ANSWER_URL}</Redirect></Response>'
    async with running_application({ANSWER_URL: loop}) as harness:
        await call(harness)
        requests = harness.app.to(ANSWER_URL)
        assert [r.method for r in requests[:3]] == ["POST", "GET", "GET"]
        assert harness.calls.causes() == [("inbound", 2060, "Error")]
        assert any("redirects" in entry for entry in harness.debug)


async def test_answer_url_down_uses_the_fallback() -> None:
    fallback = "http://fallback.test/answer"
    urls = ApplicationUrls(ANSWER_URL, fallback_url=fallback, fallback_method="GET")
    documents: dict[str, str | Exception] = {
        ANSWER_URL: FetchError("connection refused"),
        fallback: "<Response><Hangup/></Response>",
    }
    async with running_application(documents, urls) as harness:
        await call(harness)
        assert [r.method for r in harness.app.to(fallback) if r.fetched] == ["GET"]
        assert harness.calls.causes() == [("inbound", 4000, "Answer XML")]


async def test_answer_and_fallback_down_end_the_call_7011() -> None:
    urls = ApplicationUrls(ANSWER_URL, fallback_url="http://fallback.test/")
    async with running_application({}, urls) as harness:
        alice = await call(harness)
        assert alice.statuses[-1] == 500
        assert harness.calls.causes() == [("inbound", 7011, "Error")]


async def test_invalid_xml_ends_the_call_8011_with_a_debug_entry() -> None:
    async with running_application({ANSWER_URL: "<Response><Speak>"}) as harness:
        await call(harness)
        assert harness.calls.causes() == [("inbound", 8011, "Error")]
        assert any("invalid XML" in entry for entry in harness.debug)


async def test_an_action_document_that_is_invalid_ends_the_call_8012() -> None:
    menu = f'<Response><GetDigits action="{ACTION_URL}" numDigits="1"/></Response>'
    documents = {ANSWER_URL: menu, ACTION_URL: "<Response><Nope/></Response>"}
    async with running_application(documents) as harness:
        await call(harness)
        caller_media(harness).press("5", DigitSource.INBAND)
        await harness.calls.settle()
        assert harness.calls.causes() == [("inbound", 8012, "Error")]


async def test_dtmf_sends_the_digits_and_a_failing_play_url_is_skipped() -> None:
    document = (
        '<Response><DTMF async="false">12w3</DTMF><Play>http://sounds.test/missing.wav</Play>'
        '<Play loop="2">http://sounds.test/tone.wav</Play></Response>'
    )
    async with running_application({ANSWER_URL: document}) as harness:
        harness.sounds.sounds["http://sounds.test/tone.wav"] = np.ones(800, np.int16)
        await call(harness)
        media = caller_media(harness)
        assert media.digits_sent == ["12w3"]
        assert len(media.played) == 1
        assert any("missing.wav" in entry for entry in harness.debug)


async def test_a_verb_not_supported_yet_ends_the_call_8011_naming_it() -> None:
    document = "<Response><Stream>wss://stream.example.com/audio</Stream></Response>"
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert harness.calls.causes() == [("inbound", 8011, "Error")]
        assert any("<Stream>" in entry for entry in harness.debug)


async def test_the_caller_hanging_up_mid_document_stops_it_and_tells_the_hangup_url() -> None:
    document = '<Response><Speak loop="0">Hold on</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        alice = await call(harness)
        bye = in_dialog(alice, "BYE", 2)
        harness.calls.service.handle_in_dialog(bye)
        await harness.calls.settle()
        assert harness.calls.causes() == [("inbound", 4000, "Caller")]
        hangups = [r for r in harness.app.to(ANSWER_URL) if not r.fetched]
        assert hangups[0].params["HangupSource"] == "Caller"
        assert harness.calls.service.statistics()["call_timers"] == 0
