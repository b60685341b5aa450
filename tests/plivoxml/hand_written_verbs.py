"""The verbs of the hand-written golden documents (defaults.xml, hand_written.xml).

DEFAULTS spells out every value, each as plivo.md §2 gives it (current documents), so a wrong
default in verbs.py fails the golden test as well as a parser that did not fill one in.
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

DEFAULTS = Document(
    verbs=(
        # §2.2
        Speak(
            "Every verb with no attributes: the parser fills in Plivo's defaults.",
            voice="WOMAN",
            language="en-US",
            loop=1,
            ssml=False,
        ),
        Play(f"{APP}/a.wav", loop=1),  # §2.3
        Wait(length=1, silence=False, min_silence_ms=2000, beep=False),  # §2.9
        Dtmf("1", asynchronous=True),  # §2.9
        GetDigits(  # §2.4, DOCS column
            action=None,
            method="POST",
            timeout=5,
            digit_timeout=2,
            finish_on_key="#",
            num_digits=99,
            retries=1,
            redirect=True,
            play_beep=False,
            valid_digits="1234567890*#",
            invalid_digits_sound=None,
            log=True,
            prompts=(),
        ),
        GetInput(  # §2.5
            action=f"{APP}/input",
            input_type="dtmf",
            method="POST",
            execution_timeout=15,
            digit_end_timeout=None,
            speech_end_timeout=None,
            finish_on_key="#",
            num_digits=32,
            language="en-US",
            speech_model="default",
            hints="",
            profanity_filter=False,
            interim_speech_results_callback=None,
            interim_speech_results_callback_method="POST",
            redirect=True,
            log=True,
            prompts=(),
        ),
        Record(  # §2.6, latest DOCS
            action=None,
            method="POST",
            file_format="mp3",
            redirect=True,
            timeout=15,
            max_length=60,
            play_beep=True,
            finish_on_key="#",
            record_session=False,
            start_on_dial_answer=False,
            record_channel_type="stereo",
            transcription_type=None,
            transcription_url=None,
            transcription_method="POST",
            transcription_report_type=None,
            callback_url=None,
            callback_method="POST",
        ),
        Dial(  # §2.7
            targets=(
                Number(
                    "15552223333",
                    send_digits="",
                    send_on_preanswer=False,
                    send_digits_mode="",
                    caller_id=None,
                    caller_name=None,
                ),
            ),
            action=None,
            method="POST",
            redirect=True,
            timeout=None,
            time_limit=14400,
            caller_id=None,
            caller_name=None,
            hangup_on_star=False,
            confirm_sound=None,
            confirm_key=None,
            confirm_timeout=120,
            dial_music=None,
            callback_url=None,
            callback_method="POST",
            digits_match=(),
            digits_match_b_leg=(),
            sip_headers=(),
        ),
        PreAnswer(children=()),
        Conference("room"),
        Stream("wss://stream.example.com/", attributes=()),
        MultiPartyCall("mpc", attributes=(("role", "agent"),)),
        Message("hi", attributes=()),
        Redirect("http://apps.example.com:8080/next", method="POST"),  # §2.9
        Hangup(reason=None, schedule=0),
    )
)

HAND_WRITTEN = Document(
    verbs=(
        GetDigits(
            action="http://apps.example.com/digits?menu=main",
            method="GET",
            timeout=10,
            digit_timeout=3,
            finish_on_key="",  # finishOnKey="" disables it (§2.4)
            num_digits=4,
            retries=3,
            redirect=False,
            play_beep=True,
            valid_digits="123*",
            invalid_digits_sound=f"{APP}/invalid.mp3",
            log=False,
            prompts=(
                Speak("Tapez 1 & 2", voice="MAN", language="fr-FR", loop=3),  # CDATA
                Wait(length=2),
                Play(f"{APP}/menu.wav"),
            ),
        ),
        # SSML with text around the tags: kept as markup, escaped again where it was.
        Speak(
            'Bonjour <break time="1s" /> &amp; <s>au revoir &lt;3</s> enfin',
            voice="Polly.Mathieu",
            language="fr-FR",
            ssml=True,
        ),
        Speak("Two lines\n    of text."),
        GetInput(
            action=f"{APP}/input",
            input_type="dtmf speech",  # written "speech dtmf"
            digit_end_timeout=None,  # "auto"
            speech_end_timeout=10,
            finish_on_key="",  # "none"
        ),
        Record(finish_on_key="", timeout=1, max_length=1),
        PreAnswer(
            children=(
                Speak("Early media."),
                Wait(length=1),
                GetDigits(action=f"{APP}/early", num_digits=1, prompts=(Speak("Press a key."),)),
                Redirect(f"{APP}/after-early"),
            )
        ),
        Dial(
            targets=(
                Number("+15552223333", caller_id="15550009999", caller_name="Sales"),
                User(
                    "sips:bob@phone.local:5061;transport=tls",
                    caller_id="",
                    caller_name="Desk",
                    send_digits="1W2",
                ),
            ),
            caller_id="",  # "none" blanks it (PF)
            caller_name="",
            time_limit=86400,  # 100000 is cut at 24 h (§2.7)
        ),
        Conference(
            "room 2",
            record_when_alone=True,
            transcription_type="hybrid",
            transcription_url=f"{APP}/conf-text",
            transcription_method="GET",
            send_digits="9",
            enter_sound=f"{APP}/enter",
            exit_sound="",
        ),
        Stream(
            "wss://stream.example.com/two",
            attributes=(
                ("noise_cancellation", "true"),
                ("noise_cancellation_level", "60"),
                ("audio_track", "both"),
            ),
        ),
        MultiPartyCall(
            "mpc 2",
            attributes=(
                ("role", "supervisor"),
                ("wait_music_url", f"{APP}/wait"),
                ("wait_time", "30"),
                ("agent_hold_music_url", f"{APP}/agent-hold"),
                ("customer_hold_music_url", f"{APP}/customer-hold"),
                ("recording_callback_url", f"{APP}/mpc-recorded"),
                ("status_callback_url", f"{APP}/mpc-events"),
                (
                    "status_callback_events",
                    "participant-speak-events,participant-digit-input-events",
                ),
                ("on_exit_action_url", f"{APP}/mpc-exit"),
                ("start_recording_audio", f"{APP}/start.wav"),
                ("stop_recording_audio", f"{APP}/stop.wav"),
                ("transcription_url", f"{APP}/mpc-text"),
                ("enter_sound", "none"),
                ("exit_sound", f"{APP}/bye"),
            ),
        ),
        Message(
            "Sent.",
            attributes=(
                ("type", "mms"),
                ("callback_url", f"{APP}/sms"),
                ("callback_method", "GET"),
            ),
        ),
        Hangup(reason="rejected"),
    )
)
