"""The verbs each golden document under fixtures/plivoxml/ must give.

`defaults.xml` spells every default out, each as plivo.md §2 gives it, so a wrong default in
verbs.py fails here too; the other expectations name only what differs from the defaults.
"""

from mediaserver.plivoxml.verbs import (
    Conference,
    Dial,
    Document,
    Dtmf,
    GetDigits,
    GetInput,
    Hangup,
    Message,
    MultiPartyCall,
    Number,
    Play,
    PreAnswer,
    Record,
    Redirect,
    Speak,
    Stream,
    User,
    Wait,
)

APP = "https://apps.example.com"

IVR = Document(
    verbs=(
        GetDigits(
            action=f"{APP}/ivr/choice",
            method="POST",
            timeout=7,
            num_digits=1,
            retries=1,
            prompts=(
                Speak(
                    "Press 1 for opening hours, 2 for our address, 3 to talk to an operator.",
                    voice="WOMAN",
                    language="en-US",
                ),
            ),
        ),
        Speak("We did not receive any input. Goodbye."),
    )
)

IVR_OPERATOR = Document(
    verbs=(
        Speak("Connecting you to an operator."),
        Dial(targets=(User("sip:operator@phone.local"),), action=f"{APP}/ivr/dialled", timeout=20),
    )
)

SPEAK_SSML = Document(
    verbs=(
        Speak(
            'Hello<break strength="strong" time="750ms" />'
            '<emphasis level="moderate">really</emphasis>'
            '<lang xml:lang="fr-FR">bonjour</lang>'
            "<p>A paragraph.</p>"
            '<phoneme alphabet="ipa" ph="pɪˈkɑːn">pecan</phoneme>'
            '<prosody volume="loud" rate="slow" pitch="+10%">slowly</prosody>'
            "<s>A sentence.</s>"
            '<say-as interpret-as="date" format="mdy">12/25/2026</say-as>'
            '<sub alias="World Wide Web Consortium">W3C</sub>'
            '<w role="amazon:VBD">read</w>',
            voice="Polly.Joanna-Neural",
            language="en-GB",
            loop=2,
            ssml=True,
        ),
    )
)

GET_INPUT = Document(
    verbs=(
        GetInput(
            action=f"{APP}/input",
            input_type="dtmf speech",
            method="GET",
            execution_timeout=30,
            digit_end_timeout=4,
            speech_end_timeout=3,
            finish_on_key="*",
            num_digits=4,
            language="en-GB",
            speech_model="phone_call",
            hints="sales,support",
            profanity_filter=True,
            interim_speech_results_callback=f"{APP}/interim",
            interim_speech_results_callback_method="GET",
            redirect=False,
            log=False,
            prompts=(Speak("Say or type your account number."),),
        ),
    )
)

RECORD = Document(
    verbs=(
        Record(
            action=f"{APP}/recorded",
            method="GET",
            file_format="wav",
            redirect=False,
            timeout=5,
            max_length=120,
            play_beep=False,
            finish_on_key="*#",
            record_session=True,
            start_on_dial_answer=True,
            record_channel_type="mono",
            transcription_type="auto",
            transcription_url=f"{APP}/transcribed",
            transcription_method="GET",
            transcription_report_type="full",
            callback_url=f"{APP}/recording-ready",
            callback_method="GET",
        ),
    )
)

DIAL = Document(
    verbs=(
        Dial(
            targets=(
                Number(
                    "+15552223333",
                    send_digits="ww12#@250",
                    send_on_preanswer=True,
                    send_digits_mode="rfc",
                ),
                User(
                    "sip:alice@phone.local",
                    send_digits="9",
                    send_on_preanswer=True,
                    sip_headers=(("Ref", "42"),),
                ),
            ),
            action=f"{APP}/dialled",
            method="GET",
            redirect=False,
            timeout=25,
            time_limit=600,
            caller_id="15550001111",
            caller_name="Front desk",
            hangup_on_star=True,
            confirm_sound=f"{APP}/confirm",
            confirm_key="5",
            confirm_timeout=10,
            dial_music="real",
            callback_url=f"{APP}/dial-events",
            callback_method="GET",
            digits_match=("123", "*9"),
            digits_match_b_leg=("#0",),
            sip_headers=(("Team", "sales"), ("Tier", "2")),
        ),
    )
)

CONFERENCE = Document(
    verbs=(
        Conference(
            "standup",
            muted=True,
            enter_sound="beep:1",
            exit_sound="beep:2",
            start_conference_on_enter=False,
            end_conference_on_exit=True,
            stay_alone=False,
            wait_sound=f"{APP}/hold",
            max_members=5,
            record=True,
            record_file_format="wav",
            time_limit=3600,
            hangup_on_star=True,
            action=f"{APP}/left",
            method="GET",
            callback_url=f"{APP}/conference-events",
            callback_method="GET",
            digits_match=("11", "22"),
            floor_event=True,
            redirect=False,
            relay_dtmf=False,
        ),
    )
)

# The SDK writes every default of its MultiPartyCallElement; role comes out in lower case.
MULTI_PARTY_CALL = Document(
    verbs=(
        MultiPartyCall(
            "support-42",
            attributes=(
                ("role", "customer"),
                ("max_duration", "14400"),
                ("max_participants", "3"),
                ("record_min_member_count", "1"),
                ("wait_music_method", "GET"),
                ("agent_hold_music_method", "GET"),
                ("customer_hold_music_method", "GET"),
                ("record", "false"),
                ("record_participant_track", "false"),
                ("record_file_format", "mp3"),
                ("recording_callback_method", "POST"),
                ("status_callback_events", "mpc-state-changes,participant-state-changes"),
                ("status_callback_method", "POST"),
                ("stay_alone", "false"),
                ("coach_mode", "false"),
                ("mute", "false"),
                ("hold", "false"),
                ("start_mpc_on_enter", "true"),
                ("end_mpc_on_exit", "false"),
                ("enter_sound", "beep:1"),
                ("enter_sound_method", "GET"),
                ("exit_sound", "beep:2"),
                ("exit_sound_method", "GET"),
                ("on_exit_action_method", "POST"),
                ("relay_dtmf_inputs", "false"),
                ("start_recording_audio_method", "GET"),
                ("stop_recording_audio_method", "GET"),
                ("transcript", "false"),
            ),
        ),
    )
)

STREAM_MESSAGE_DTMF = Document(
    verbs=(
        PreAnswer(
            children=(
                Play(f"{APP}/early.wav", loop=2),
                Dtmf("1w2W3", asynchronous=False),
                Message(
                    "Thanks for calling",
                    attributes=(("src", "15550001111"), ("dst", "15552223333"), ("type", "sms")),
                ),
            )
        ),
        Stream(
            "wss://stream.example.com/audio",
            attributes=(
                ("bidirectional", "true"),
                ("audio_track", "inbound"),
                ("stream_timeout", "120"),
                ("status_callback_url", f"{APP}/stream-events"),
                ("status_callback_method", "GET"),
                ("content_type", "audio/x-mulaw;rate=8000"),
                ("extra_headers", "Tenant=7,Mode=live"),
                ("keep_call_alive", "true"),
            ),
        ),
    )
)

PROMPTS_AND_CONTROL = Document(
    verbs=(
        Wait(length=3, silence=True, min_silence_ms=500, beep=True),
        Play(f"{APP}/welcome.mp3", loop=0),
        Dtmf("A#"),
        Hangup(reason="busy", schedule=30),
        Redirect(f"{APP}/next?step=2", method="GET"),
    )
)
