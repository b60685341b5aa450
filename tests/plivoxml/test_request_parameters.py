"""The parameters every request of a call carries (plivo.md §1 "Parameters on every request",
§3 common parameters): answer, action, redirect, callbacks and hangup alike get CallUUID (the
A leg's), From, To, CallStatus, Direction, CallerName and the INVITE's X-PH-* headers."""

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import DigitSource
from mediaserver.plivoxml.session import ApplicationUrls
from tests.calls.in_memory import sdp
from tests.plivoxml.application_harness import ANSWER_URL, running_application
from tests.plivoxml.caller import a_leg, b_legs, call, caller_media, frames, send, until

APP = "http://app.test"
URLS = ApplicationUrls(ANSWER_URL, hangup_url=f"{APP}/hangup")
DOCUMENTS: dict[str, str | Exception] = {
    ANSWER_URL: f'<Response><GetDigits action="{APP}/digits" numDigits="1"/></Response>',
    f"{APP}/digits": (
        f'<Response><Dial action="{APP}/dialled" redirect="false" callbackUrl="{APP}/dial-event">'
        f"<User>sip:bob@phone.local</User></Dial><Redirect>{APP}/next</Redirect></Response>"
    ),
    f"{APP}/next": (
        f'<Response><Record action="{APP}/recorded" redirect="false" playBeep="false"'
        f' fileFormat="wav" callbackUrl="{APP}/record-file"/></Response>'
    ),
}
COMMON = ("CallUUID", "From", "To", "Direction", "CallerName", "X-PH-Customer")
# Each request in the order the call makes it, with the CallStatus it must carry.
EXPECTED = [
    ("/answer", "ringing"),
    ("/digits", "in-progress"),
    ("/dial-event", "in-progress"),  # B answered
    ("/dial-event", "in-progress"),  # B hung up
    ("/dialled", "in-progress"),
    ("/next", "in-progress"),
    ("/record-file", "in-progress"),
    ("/recorded", "in-progress"),
    ("/hangup", "completed"),
]


async def test_every_request_carries_the_call_parameters() -> None:
    async with running_application(DOCUMENTS, URLS) as harness:
        await call(harness)
        call_uuid = a_leg(harness).call_uuid
        caller_media(harness).press("1", DigitSource.RFC4733)
        await harness.calls.settle()
        harness.calls.sip.invites()[0].answer(200, sdp(6000))
        await harness.calls.settle()
        [b_leg] = b_legs(harness)
        b_leg.hangup(Cause.NORMAL_CLEARING, HangupSource.CALLEE)
        await harness.calls.settle()
        send(caller_media(harness).sink, frames(0.5, 3000, 440))
        caller_media(harness).press("#", DigitSource.RFC4733)
        await until(lambda: harness.app.to(f"{APP}/hangup"))
        requests = harness.app.requests
        assert [(r.url.removeprefix(APP), r.params["CallStatus"]) for r in requests] == EXPECTED
        for request in requests:
            assert {name: request.params[name] for name in COMMON} == {
                "CallUUID": call_uuid,
                "From": "sip:alice@phone.local",
                "To": "bob",
                "Direction": "inbound",
                "CallerName": "alice",
                "X-PH-Customer": "42",
            }, request.url
