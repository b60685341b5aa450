"""Hangup, Redirect and PreAnswer (plivo.md §2.9): a Hangup's reason is the SIP answer an
unanswered caller gets and the cause the hangup URL hears, schedule hangs up later while the
document goes on; Redirect's method is honoured (not plivoframework #133) and drops the rest
of the document; PreAnswer runs each kind of child on early media, unanswered."""

import numpy as np
import pytest

from mediaserver.calls.leg_events import DigitSource
from mediaserver.plivoxml.session import ApplicationUrls, FetchError
from tests.plivoxml.application_harness import ANSWER_URL, running_application
from tests.plivoxml.caller import call, caller_media, spoken

HANGUP_URL = "http://app.test/hangup"
NEXT_URL = "http://app.test/next"
URLS = ApplicationUrls(ANSWER_URL, hangup_url=HANGUP_URL)
Documents = dict[str, str | Exception]


@pytest.mark.parametrize(
    ("reason", "status", "code", "cause"),
    [
        ('reason="rejected"', 603, 3020, "CALL_REJECTED"),
        ('reason="busy"', 486, 3010, "USER_BUSY"),
        ("", 480, 4000, "NORMAL_CLEARING"),
    ],
)
async def test_hangup_reason_is_the_answer_an_unanswered_caller_gets(
    reason: str, status: int, code: int, cause: str
) -> None:
    document = f"<Response><Hangup {reason}/></Response>"
    async with running_application({ANSWER_URL: document}, URLS) as harness:
        alice = await call(harness)
        assert alice.statuses[-1] == status
        assert harness.calls.causes() == [("inbound", code, "Answer XML")]
        [hangup] = harness.app.to(HANGUP_URL)
        assert hangup.params["HangupCause"] == cause
        assert hangup.params["HangupCauseCode"] == str(code)
        assert hangup.params["HangupSource"] == "Answer XML"


async def test_hangup_reason_after_the_answer_is_the_cause_reported() -> None:
    document = '<Response><Speak>Bye</Speak><Hangup reason="rejected"/></Response>'
    async with running_application({ANSWER_URL: document}, URLS) as harness:
        alice = await call(harness)
        caller_media(harness).finish_playing()
        await harness.calls.settle()
        assert alice.statuses[-1] == 200
        assert harness.calls.causes() == [("inbound", 3020, "Answer XML")]
        assert harness.app.to(HANGUP_URL)[0].params["HangupCauseName"] == "Rejected"


async def test_hangup_schedule_hangs_up_later_while_the_document_goes_on() -> None:
    document = '<Response><Hangup schedule="5"/><Speak>One</Speak><Wait length="30"/></Response>'
    async with running_application({ANSWER_URL: document}, URLS) as harness:
        alice = await call(harness)
        assert spoken(harness) == ["One"]  # went on at once
        caller_media(harness).finish_playing()
        await harness.calls.advance(4.5)
        assert harness.calls.causes() == []
        await harness.calls.advance(0.5)
        assert alice.statuses[-1] == 200
        assert harness.calls.causes() == [("inbound", 6000, "Answer XML")]
        assert harness.app.to(HANGUP_URL)[0].params["HangupCause"] == "ALLOTTED_TIMEOUT"


@pytest.mark.parametrize(("method", "expected"), [("", "POST"), ('method="GET"', "GET")])
async def test_redirect_fetches_its_url_with_its_method_and_drops_the_rest(
    method: str, expected: str
) -> None:
    documents: Documents = {
        ANSWER_URL: f"<Response><Redirect {method}>{NEXT_URL}</Redirect>"
        "<Speak>Dropped</Speak></Response>",
        NEXT_URL: "<Response><Speak>Next</Speak></Response>",
    }
    async with running_application(documents) as harness:
        await call(harness)
        [request] = harness.app.to(NEXT_URL)
        assert (request.method, request.fetched) == (expected, True)
        # Redirect is not one of PF's NO_ANSWER_ELEMENTS (§1): the call is answered first.
        assert request.params["CallStatus"] == "in-progress"
        assert spoken(harness) == ["Next"]


@pytest.mark.parametrize(
    ("next_document", "code"), [(FetchError("HTTP 500"), 7014), ("<Response><Oops/>", 8014)]
)
async def test_a_redirect_that_fails_ends_the_call_with_the_redirect_cause(
    next_document: str | Exception, code: int
) -> None:
    documents: Documents = {
        ANSWER_URL: f"<Response><Redirect>{NEXT_URL}</Redirect></Response>",
        NEXT_URL: next_document,
    }
    async with running_application(documents) as harness:
        await call(harness)
        assert harness.calls.causes() == [("inbound", code, "Error")]


async def test_pre_answer_runs_speak_play_wait_and_dtmf_on_early_media() -> None:
    sound = "http://sounds.test/early.wav"
    document = (
        f"<Response><PreAnswer><Speak>Early</Speak><Play>{sound}</Play><Wait length='2'/>"
        '<DTMF async="false">12</DTMF></PreAnswer><Speak>Answered</Speak></Response>'
    )
    async with running_application({ANSWER_URL: document}) as harness:
        harness.sounds.sounds[sound] = np.full(800, 500, np.int16)
        alice = await call(harness)
        media = caller_media(harness)
        assert alice.statuses[-1] == 183
        media.finish_playing()  # Speak
        await harness.calls.settle()
        media.finish_playing()  # Play
        await harness.calls.settle()
        assert len(media.played) == 2
        await harness.calls.advance(1.5)
        assert media.digits_sent == []  # still in the Wait
        assert 200 not in alice.statuses  # every child so far ran unanswered
        await harness.calls.advance(0.5)
        assert media.digits_sent == ["12"]
        assert spoken(harness) == ["Early", "Answered"]
        assert alice.statuses[-1] == 200  # the first verb after PreAnswer answers


async def test_pre_answer_get_digits_collects_before_the_answer() -> None:
    action = "http://app.test/action"
    documents: Documents = {
        ANSWER_URL: f'<Response><PreAnswer><GetDigits action="{action}" numDigits="1">'
        "<Speak>Press</Speak></GetDigits></PreAnswer></Response>",
        action: "<Response><Hangup/></Response>",
    }
    async with running_application(documents) as harness:
        alice = await call(harness)
        caller_media(harness).press("4", DigitSource.RFC4733)
        await harness.calls.settle()
        [request] = harness.app.to(action)
        assert (request.params["Digits"], request.params["CallStatus"]) == ("4", "ringing")
        assert 200 not in alice.statuses
        assert alice.statuses[-1] == 480


async def test_pre_answer_redirect_leaves_the_document() -> None:
    documents: Documents = {
        ANSWER_URL: f"<Response><PreAnswer><Redirect>{NEXT_URL}</Redirect>"
        "<Speak>Dropped</Speak></PreAnswer><Speak>Dropped too</Speak></Response>",
        NEXT_URL: "<Response><Speak>Next</Speak></Response>",
    }
    async with running_application(documents) as harness:
        alice = await call(harness)
        assert 183 in alice.statuses
        assert spoken(harness) == ["Next"]


async def test_pre_answer_message_ends_the_call_8011_naming_it() -> None:
    document = "<Response><PreAnswer><Message>Hi</Message></PreAnswer></Response>"
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert harness.calls.causes() == [("inbound", 8011, "Error")]
        assert any("<Message>" in entry for entry in harness.debug)
