"""Golden documents built with the official Python SDK's `plivo.plivoxml` builders.

Each function builds one document the way a Plivo user's web application would; the fixture of
the same name under fixtures/plivoxml/ is what `to_string()` wrote, and
test_golden_documents.py checks that it still is. Values differ from every default, so a
parser that ignored an attribute would give a different verb.
"""

from collections.abc import Callable

from plivo import plivoxml

ANSWER = "https://apps.example.com"


def ivr() -> plivoxml.ResponseElement:
    """Plivo's IVR example: a one-key menu spoken inside GetDigits, then a no-input Speak."""
    menu = plivoxml.GetDigitsElement(
        action=f"{ANSWER}/ivr/choice", method="POST", timeout=7, num_digits=1, retries=1
    )
    menu.add_speak(
        "Press 1 for opening hours, 2 for our address, 3 to talk to an operator.",
        voice="WOMAN",
        language="en-US",
    )
    response = plivoxml.ResponseElement()
    response.add(menu)
    response.add_speak("We did not receive any input. Goodbye.")
    return response


def ivr_operator() -> plivoxml.ResponseElement:
    """What the IVR's action URL answers for key 3: connect the caller to an endpoint."""
    dial = plivoxml.DialElement(action=f"{ANSWER}/ivr/dialled", timeout=20)
    dial.add_user("sip:operator@phone.local")
    response = plivoxml.ResponseElement()
    response.add_speak("Connecting you to an operator.")
    response.add(dial)
    return response


def speak_ssml() -> plivoxml.ResponseElement:
    """Every SSML tag and attribute Plivo accepts (§2.1), on a Polly voice."""
    speak = plivoxml.SpeakElement("Hello", voice="Polly.Joanna-Neural", language="en-GB", loop=2)
    speak.add_break(strength="strong", time="750ms")
    speak.add_emphasis("really", level="moderate")
    speak.add_lang("bonjour", xmllang="fr-FR")
    speak.add_p("A paragraph.")
    speak.add_phoneme("pecan", alphabet="ipa", ph="pɪˈkɑːn")
    speak.add_prosody("slowly", volume="loud", rate="slow", pitch="+10%")
    speak.add_s("A sentence.")
    speak.add_say_as("12/25/2026", interpret_as="date", format="mdy")
    speak.add_sub("W3C", alias="World Wide Web Consortium")
    speak.add_w("read", role="amazon:VBD")
    response = plivoxml.ResponseElement()
    response.add(speak)
    return response


def get_input() -> plivoxml.ResponseElement:
    get_input = plivoxml.GetInputElement(
        action=f"{ANSWER}/input",
        method="GET",
        input_type="dtmf speech",
        execution_timeout=30,
        digit_end_timeout=4,
        speech_end_timeout=3,
        finish_on_key="*",
        num_digits=4,
        speech_model="phone_call",
        hints="sales,support",
        language="en-GB",
        interim_speech_results_callback=f"{ANSWER}/interim",
        interim_speech_results_callback_method="GET",
        log=False,
        redirect=False,
        profanity_filter=True,
    )
    get_input.add_speak("Say or type your account number.")
    response = plivoxml.ResponseElement()
    response.add(get_input)
    return response


def record() -> plivoxml.ResponseElement:
    response = plivoxml.ResponseElement()
    # ResponseElement.add_record() lacks record_channel_type; the element itself has it.
    response.add(
        plivoxml.RecordElement(
            action=f"{ANSWER}/recorded",
            method="GET",
            file_format="wav",
            redirect=False,
            timeout=5,
            max_length=120,
            play_beep=False,
            finish_on_key="*#",
            record_session=True,
            start_on_dial_answer=True,
            transcription_type="auto",
            transcription_url=f"{ANSWER}/transcribed",
            transcription_method="GET",
            transcription_report_type="full",
            callback_url=f"{ANSWER}/recording-ready",
            callback_method="GET",
            record_channel_type="mono",
        )
    )
    return response


def dial() -> plivoxml.ResponseElement:
    dial = plivoxml.DialElement(
        action=f"{ANSWER}/dialled",
        method="GET",
        hangup_on_star=True,
        time_limit=600,
        timeout=25,
        caller_id="15550001111",
        caller_name="Front desk",
        confirm_sound=f"{ANSWER}/confirm",
        confirm_timeout=10,
        confirm_key="5",
        dial_music="real",
        callback_url=f"{ANSWER}/dial-events",
        callback_method="GET",
        redirect=False,
        digits_match="123,*9",
        digits_match_b_leg="#0",
        sip_headers="Team=sales,Tier=2",
    )
    # DialElement.add_number() lacks send_digits_mode; the element itself has it.
    dial.add(
        plivoxml.NumberElement(
            "+15552223333", send_digits="ww12#@250", send_on_preanswer=True, send_digits_mode="rfc"
        )
    )
    dial.add_user(
        "sip:alice@phone.local", send_digits="9", send_on_preanswer=True, sip_headers="Ref=42"
    )
    response = plivoxml.ResponseElement()
    response.add(dial)
    return response


def conference() -> plivoxml.ResponseElement:
    response = plivoxml.ResponseElement()
    response.add_conference(
        "standup",
        muted=True,
        enter_sound="beep:1",
        exit_sound="beep:2",
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        stay_alone=False,
        wait_sound=f"{ANSWER}/hold",
        max_members=5,
        record=True,
        record_file_format="wav",
        time_limit=3600,
        hangup_on_star=True,
        action=f"{ANSWER}/left",
        method="GET",
        callback_url=f"{ANSWER}/conference-events",
        callback_method="GET",
        digits_match="11,22",
        floor_event=True,
        redirect=False,
        relay_dtmf=False,
    )
    return response


def multi_party_call() -> plivoxml.ResponseElement:
    """The SDK writes every MultiPartyCall default, so all of them must parse."""
    response = plivoxml.ResponseElement()
    response.add(
        plivoxml.MultiPartyCallElement(
            "support-42", "Customer", max_participants=3, coach_mode=False
        )
    )
    return response


def stream_message_dtmf() -> plivoxml.ResponseElement:
    pre_answer = plivoxml.PreAnswerElement()
    pre_answer.add_play(f"{ANSWER}/early.wav", loop=2)
    pre_answer.add_dtmf("1w2W3", async_=False)
    pre_answer.add_message("Thanks for calling", src="15550001111", dst="15552223333", type="sms")
    response = plivoxml.ResponseElement()
    response.add(pre_answer)
    response.add(
        plivoxml.StreamElement(
            "wss://stream.example.com/audio",
            bidirectional=True,
            audioTrack="inbound",
            streamTimeout=120,
            statusCallbackUrl=f"{ANSWER}/stream-events",
            statusCallbackMethod="GET",
            contentType="audio/x-mulaw;rate=8000",
            extraHeaders="Tenant=7,Mode=live",
            keepCallAlive=True,
        )
    )
    return response


def prompts_and_control() -> plivoxml.ResponseElement:
    response = plivoxml.ResponseElement()
    response.add_wait(length=3, silence=True, min_silence=500, beep=True)
    response.add_play(f"{ANSWER}/welcome.mp3", loop=0)
    response.add_dtmf("A#")
    response.add_hangup(reason="busy", schedule=30)
    response.add_redirect(f"{ANSWER}/next?step=2", method="GET")
    return response


BUILDERS: dict[str, Callable[[], plivoxml.ResponseElement]] = {
    "ivr.xml": ivr,
    "ivr_operator.xml": ivr_operator,
    "speak_ssml.xml": speak_ssml,
    "get_input.xml": get_input,
    "record.xml": record,
    "dial.xml": dial,
    "conference.xml": conference,
    "multi_party_call.xml": multi_party_call,
    "stream_message_dtmf.xml": stream_message_dtmf,
    "prompts_and_control.xml": prompts_and_control,
}
