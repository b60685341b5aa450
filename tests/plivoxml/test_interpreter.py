"""The Plivo XML interpreter on the in-memory SIP peer and a manual clock: lazy answer, the
end of the document, redirects, fetch and XML failures, GetDigits, Dial, Hangup, PreAnswer,
DTMF and Play, each checked by what the caller's SIP sees and what the application server is
asked."""

import asyncio

import numpy as np

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import DigitSource
from mediaserver.plivoxml.session import ApplicationUrls, FetchError
from tests.calls.in_memory import in_dialog, invite, sdp
from tests.plivoxml.application_harness import ANSWER_URL, AppHarness, running_application

ACTION_URL = "http://app.test/action"
HANGUP_URL = "http://app.test/hangup"


async def call(harness: AppHarness) -> object:
    harness.calls.directory.register("bob", 5080)
    alice = invite("bob")
    harness.calls.service.handle_invite(alice)
    await harness.calls.settle()
    return alice


def caller_media(harness: AppHarness) -> object:
    return harness.calls.media[0]


async def test_speak_answers_lazily_and_the_end_of_the_document_hangs_up_4010() -> None:
    document = '<Response><Speak voice="MAN">Hello there</Speak></Response>'
    urls = ApplicationUrls(ANSWER_URL, hangup_url=HANGUP_URL)
    async with running_application({ANSWER_URL: document}, urls) as harness:
        alice = await call(harness)
        assert alice.statuses[-1] == 200  # type: ignore[attr-defined]
        [answer] = harness.app.to(ANSWER_URL)
        assert answer.method == "POST"
        assert answer.params["CallStatus"] == "ringing"  # fetched before the answer
        assert answer.params["Direction"] == "inbound"
        assert answer.params["From"] == "sip:alice@phone.local"
        assert answer.params["X-PH-Customer"] == "42"
        assert harness.tts.spoken == [("Hello there", "MAN", "en-US")]
        caller_media(harness).finish_playing()  # type: ignore[attr-defined]
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
        assert 200 not in alice.statuses  # type: ignore[attr-defined]
        assert all(status < 200 for status in alice.statuses)  # type: ignore[attr-defined]
        await harness.calls.advance(1)
        assert alice.statuses[-1] == 486  # type: ignore[attr-defined]
        assert harness.calls.causes() == [("inbound", 3010, "Answer XML")]
        # No hangup_url: the answer URL hears the hangup (§3).
        assert [r.fetched for r in harness.app.to(ANSWER_URL)] == [True, False]


async def test_get_digits_posts_the_digits_to_the_action_and_runs_its_document() -> None:
    menu = (
        f'<Response><GetDigits action="{ACTION_URL}" method="GET" numDigits="1">'
        "<Speak>Press one</Speak></GetDigits><Speak>Nothing pressed</Speak></Response>"
    )
    action = "<Response><Speak>You pressed one</Speak></Response>"
    async with running_application({ANSWER_URL: menu, ACTION_URL: action}) as harness:
        await call(harness)
        media = caller_media(harness)
        media.press("1", DigitSource.RFC4733)  # type: ignore[attr-defined]
        await harness.calls.settle()  # the digit stopped the prompt (barge-in)
        [request] = harness.app.to(ACTION_URL)
        assert (request.method, request.params["Digits"]) == ("GET", "1")
        assert request.params["CallStatus"] == "in-progress"
        assert [text for text, _, _ in harness.tts.spoken] == ["Press one", "You pressed one"]


async def test_get_digits_without_input_makes_no_request_and_goes_on() -> None:
    menu = (
        f'<Response><GetDigits action="{ACTION_URL}" timeout="2" retries="2">'
        "<Speak>Menu</Speak></GetDigits><Speak>Goodbye</Speak></Response>"
    )
    async with running_application({ANSWER_URL: menu}) as harness:
        await call(harness)
        media = caller_media(harness)
        for _ in range(2):
            media.finish_playing()  # type: ignore[attr-defined]
            await harness.calls.settle()
            await harness.calls.advance(2)
        assert harness.app.to(ACTION_URL) == []
        assert [text for text, _, _ in harness.tts.spoken] == ["Menu", "Menu", "Goodbye"]


async def test_finish_on_key_and_digit_timeout_end_the_input() -> None:
    menu = (
        f'<Response><GetDigits action="{ACTION_URL}" finishOnKey="*" digitTimeout="3"/>'
        f'<GetDigits action="{ACTION_URL}" digitTimeout="3"/></Response>'
    )
    async with running_application({ANSWER_URL: menu, ACTION_URL: "<Response/>"}) as harness:
        await call(harness)
        media = caller_media(harness)
        for digit in "12*":
            media.press(digit, DigitSource.SIP_INFO)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert [r.params["Digits"] for r in harness.app.to(ACTION_URL)] == ["12"]


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
        assert alice.statuses[-1] == 500  # type: ignore[attr-defined]
        assert harness.calls.causes() == [("inbound", 7011, "Error")]


async def test_invalid_xml_ends_the_call_8011_with_a_debug_entry() -> None:
    async with running_application({ANSWER_URL: "<Response><Speak>"}) as harness:
        await call(harness)
        assert harness.calls.causes() == [("inbound", 8011, "Error")]
        assert any("invalid XML" in entry for entry in harness.debug)


async def test_an_action_document_that_is_invalid_ends_the_call_8012() -> None:
    menu = f'<Response><GetDigits action="{ACTION_URL}" numDigits="1"/></Response>'
    documents = {ANSWER_URL: menu, ACTION_URL: "<Response><Nope/></Response>"}
    async with running_application(documents) as harness:  # type: ignore[arg-type]
        await call(harness)
        caller_media(harness).press("5", DigitSource.INBAND)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert harness.calls.causes() == [("inbound", 8012, "Error")]


async def test_dial_bridges_the_user_then_the_action_hears_how_it_went() -> None:
    dial = (
        f'<Response><Dial action="{ACTION_URL}" callerId="15550001">'
        "<User>sip:bob@phone.local</User></Dial></Response>"
    )
    async with running_application({ANSWER_URL: dial, ACTION_URL: "<Response/>"}) as harness:
        alice = await call(harness)
        [bob] = harness.calls.sip.invites()
        assert "sip:15550001@phone.local" in bob.request.headers.get("From")  # type: ignore[attr-defined]
        bob.answer(180)
        await harness.calls.settle()
        assert 180 in alice.statuses  # type: ignore[attr-defined]
        assert 200 not in alice.statuses  # type: ignore[attr-defined]
        bob.answer(200, sdp(6000))
        await harness.calls.settle()
        assert alice.statuses[-1] == 200  # type: ignore[attr-defined]
        a_media, b_media = harness.calls.media
        assert a_media.connected_to(b_media)
        b_leg = next(
            leg for leg in harness.calls.service.live_legs() if leg.direction == "outbound"
        )
        b_leg.hangup(Cause.NORMAL_CLEARING, HangupSource.CALLEE)
        await harness.calls.settle()
        [action] = harness.app.to(ACTION_URL)
        assert action.params["DialStatus"] == "completed"
        assert action.params["DialBLegUUID"] == b_leg.call_uuid
        assert action.params["DialRingStatus"] == "true"
        assert harness.calls.causes()[-1] == ("inbound", 4010, "Plivo")


async def test_dial_to_a_busy_user_reports_busy_and_goes_on() -> None:
    dial = (
        f'<Response><Dial action="{ACTION_URL}" redirect="false">'
        "<User>sip:bob@phone.local</User></Dial><Speak>Busy</Speak></Response>"
    )
    async with running_application({ANSWER_URL: dial}) as harness:
        await call(harness)
        harness.calls.sip.invites()[0].answer(486)
        await harness.calls.settle()
        [action] = harness.app.to(ACTION_URL)
        assert not action.fetched  # redirect="false": told, not followed
        assert action.params["DialStatus"] == "busy"
        assert action.params["DialBLegUUID"] == ""
        assert [text for text, _, _ in harness.tts.spoken] == ["Busy"]


async def test_pre_answer_sends_183_and_runs_its_children_unanswered() -> None:
    document = "<Response><PreAnswer><Speak>Early</Speak></PreAnswer><Hangup/></Response>"
    async with running_application({ANSWER_URL: document}) as harness:
        alice = await call(harness)
        assert 183 in alice.statuses  # type: ignore[attr-defined]
        caller_media(harness).finish_playing()  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert 200 not in alice.statuses  # type: ignore[attr-defined]
        assert harness.calls.causes() == [("inbound", 4000, "Answer XML")]


async def test_dtmf_sends_the_digits_and_a_failing_play_url_is_skipped() -> None:
    document = (
        '<Response><DTMF async="false">12w3</DTMF><Play>http://sounds.test/missing.wav</Play>'
        '<Play loop="2">http://sounds.test/tone.wav</Play></Response>'
    )
    async with running_application({ANSWER_URL: document}) as harness:
        harness.sounds.sounds["http://sounds.test/tone.wav"] = np.ones(800, np.int16)
        await call(harness)
        media = caller_media(harness)
        assert media.digits_sent == ["12w3"]  # type: ignore[attr-defined]
        assert len(media.played) == 1  # type: ignore[attr-defined]
        assert any("missing.wav" in entry for entry in harness.debug)


async def test_scheduled_hangup_ends_the_call_while_the_document_goes_on() -> None:
    document = '<Response><Hangup schedule="5"/><Speak loop="0">Music</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        alice = await call(harness)
        assert alice.statuses[-1] == 200  # type: ignore[attr-defined]
        await harness.calls.advance(4)
        assert harness.calls.causes() == []
        await harness.calls.advance(2)
        assert harness.calls.causes() == [("inbound", 6000, "Answer XML")]


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
        bye = in_dialog(alice, "BYE", 2)  # type: ignore[arg-type]
        harness.calls.service.handle_in_dialog(bye)
        await harness.calls.settle()
        assert harness.calls.causes() == [("inbound", 4000, "Caller")]
        hangups = [r for r in harness.app.to(ANSWER_URL) if not r.fetched]
        assert hangups[0].params["HangupSource"] == "Caller"
        assert harness.calls.service.statistics()["call_timers"] == 0


def frames(seconds: float, level: float = 0.0, hz: float = 0.0) -> list[np.ndarray]:
    """20 ms frames of silence, or of a tone at `hz` with amplitude `level`."""
    count = round(seconds * 50)
    t = np.arange(160 * count) / 8000
    samples = (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return list(samples.reshape(count, 160))


def speech_like(seconds: float) -> list[np.ndarray]:
    """Loud noise shaped like speech enough for the VAD (broadband, voiced-level)."""
    generator = np.random.default_rng(7)
    count = round(seconds * 50)
    noise = generator.normal(0, 4000, 160 * count)
    envelope = 1 + np.sin(2 * np.pi * 4 * np.arange(160 * count) / 8000)
    return list((noise * envelope).clip(-32000, 32000).astype(np.int16).reshape(count, 160))


async def test_record_ends_on_the_finish_key_and_posts_the_recording() -> None:
    document = (
        f'<Response><Record action="{ACTION_URL}" fileFormat="wav" playBeep="false"'
        ' finishOnKey="#" callbackUrl="http://app.test/recorded"/></Response>'
    )
    async with running_application({ANSWER_URL: document, ACTION_URL: "<Response/>"}) as harness:
        await call(harness)
        media = caller_media(harness)
        for frame in frames(3.0, 3000, 440):
            media.sink.write_frame(frame)  # type: ignore[attr-defined]
        media.press("#", DigitSource.RFC4733)  # type: ignore[attr-defined]
        await harness.calls.settle()
        for _ in range(20):  # the file is closed in a worker thread
            if harness.app.to(ACTION_URL):
                break
            await asyncio.sleep(0.05)
        [action] = harness.app.to(ACTION_URL)
        [recording] = harness.recordings.added
        assert action.params["Digits"] == "#"
        assert action.params["RecordingDurationMs"] == "3000"
        assert action.params["RecordingDuration"] == "3"
        assert action.params["RecordingID"] == recording.recording_id
        assert action.params["RecordUrl"].endswith(f"{recording.recording_id}.wav")
        assert harness.app.to("http://app.test/recorded")[0].params["RecordingDurationMs"] == "3000"
        path = harness.recordings.path_for(recording.recording_id, "wav")
        assert path.stat().st_size == 44 + 3 * 8000 * 2  # the WAV header and 3 s of 16-bit


async def test_record_ends_after_timeout_seconds_of_silence() -> None:
    document = f'<Response><Record action="{ACTION_URL}" timeout="2" playBeep="false"/></Response>'
    async with running_application({ANSWER_URL: document, ACTION_URL: "<Response/>"}) as harness:
        await call(harness)
        media = caller_media(harness)
        for frame in speech_like(1.0) + frames(1.5):
            media.sink.write_frame(frame)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert harness.recordings.added == []
        for frame in frames(0.6):
            media.sink.write_frame(frame)  # type: ignore[attr-defined]
        for _ in range(20):
            if harness.recordings.added:
                break
            await asyncio.sleep(0.05)
        [recording] = harness.recordings.added
        assert 3000 <= recording.recording_duration_ms <= 3100


async def test_wait_with_silence_ends_after_min_silence() -> None:
    document = (
        '<Response><Wait length="30" silence="true" minSilence="1000"/>'
        "<Speak>Hello</Speak></Response>"
    )
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        media = caller_media(harness)
        for frame in speech_like(1.0):
            media.sink.write_frame(frame)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert harness.tts.spoken == []
        for frame in frames(1.1):
            media.sink.write_frame(frame)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert [text for text, _, _ in harness.tts.spoken] == ["Hello"]


async def test_wait_with_beep_ends_when_a_voicemail_beep_ends() -> None:
    document = '<Response><Wait length="30" beep="true"/><Speak>Message</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        media = caller_media(harness)
        for frame in speech_like(1.0) + frames(0.5, 6000, 1000):
            media.sink.write_frame(frame)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert harness.tts.spoken == []  # still beeping
        for frame in frames(0.1):
            media.sink.write_frame(frame)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert [text for text, _, _ in harness.tts.spoken] == ["Message"]


async def test_dial_sip_headers_time_limit_and_hangup_on_star() -> None:
    dial = (
        '<Response><Dial sipHeaders="Team=blue,Tier=2" timeLimit="30" hangupOnStar="true">'
        "<User>sip:bob@phone.local</User></Dial><Speak>Back</Speak>"
        '<Dial timeLimit="5"><User>sip:bob@phone.local</User></Dial></Response>'
    )
    async with running_application({ANSWER_URL: dial}) as harness:
        await call(harness)
        first = harness.calls.sip.invites()[0]
        assert first.request.headers.get("X-PH-Team") == "blue"  # type: ignore[attr-defined]
        assert first.request.headers.get("X-PH-Tier") == "2"  # type: ignore[attr-defined]
        first.answer(200, sdp(6000))
        await harness.calls.settle()
        caller_media(harness).press("*", DigitSource.RFC4733)  # type: ignore[attr-defined]
        await harness.calls.settle()
        assert harness.calls.causes() == [("outbound", 4000, "Caller")]
        assert [text for text, _, _ in harness.tts.spoken] == ["Back"]
        caller_media(harness).finish_playing()  # type: ignore[attr-defined]
        await harness.calls.settle()
        second = harness.calls.sip.invites()[1]
        second.answer(200, sdp(6002))
        await harness.calls.settle()
        await harness.calls.advance(6)
        assert harness.calls.causes()[1] == ("outbound", 6000, "Plivo")
        assert harness.calls.causes()[2] == ("inbound", 4010, "Plivo")


async def test_ssml_is_spoken_as_words_and_a_polly_voice_falls_back_to_woman() -> None:
    document = (
        '<Response><Speak voice="Polly.Joey">Hello <break time="1s"/>'
        '<sub alias="World Wide Web">WWW</sub> <emphasis>now</emphasis></Speak></Response>'
    )
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert harness.tts.spoken == [("Hello World Wide Web now", "WOMAN", "en-US")]
        assert any("Polly" in entry for entry in harness.debug)
