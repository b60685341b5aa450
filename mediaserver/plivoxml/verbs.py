"""Plivo XML verbs as values: what the parser gives and the interpreter runs.

Each element of a Plivo XML document becomes one frozen dataclass with every attribute
resolved: names in snake_case, units in the name where they are not seconds, Plivo's defaults
filled in (the current documents' values where the current and legacy ones differ; README
"Plivo XML" lists those choices). The parser (parser.py) is the only place that reads
attribute strings; nothing after it sees camelCase or an unparsed value.
"""

from dataclasses import dataclass, field
from typing import Literal

Method = Literal["GET", "POST"]
FileFormat = Literal["mp3", "wav"]
ChannelType = Literal["mono", "stereo"]
HangupReason = Literal["rejected", "busy"]

LOOP_FOREVER = 0  # Speak/Play loop="0"
ALL_DIGITS = "1234567890*#"


@dataclass(frozen=True, slots=True)
class Speak:
    text: str  # plain text, or SSML markup when `ssml`
    voice: str = "WOMAN"  # WOMAN, MAN or Polly.<Name>
    language: str = "en-US"
    loop: int = 1  # LOOP_FOREVER repeats until something else ends it
    ssml: bool = False  # the body held SSML elements (kept as markup in `text`)


@dataclass(frozen=True, slots=True)
class Play:
    url: str
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Wait:
    length: int = 1  # seconds
    silence: bool = False  # end early after `min_silence_ms` of silence (VAD)
    min_silence_ms: int = 2000
    beep: bool = False  # end when a voicemail beep is heard


Prompt = Speak | Play | Wait


@dataclass(frozen=True, slots=True)
class Dtmf:
    digits: str  # 0-9 * # A-D, with w (0.5 s) and W (1 s) pauses
    asynchronous: bool = True  # the `async` attribute: go on while the digits are sent


@dataclass(frozen=True, slots=True)
class GetDigits:
    action: str | None = None
    method: Method = "POST"
    timeout: int = 5  # seconds to the first digit, and for each retry
    digit_timeout: int = 2  # seconds between digits
    finish_on_key: str = "#"  # "" when disabled (attribute "" or "none")
    num_digits: int = 99
    retries: int = 1
    redirect: bool = True
    play_beep: bool = False
    valid_digits: str = ALL_DIGITS
    invalid_digits_sound: str | None = None
    log: bool = True
    prompts: tuple[Prompt, ...] = ()


@dataclass(frozen=True, slots=True)
class GetInput:
    """Only `input_type="dtmf"` runs; speech needs an ASR engine the server does not have."""

    action: str
    input_type: str  # "dtmf", "speech" or "dtmf speech"
    method: Method = "POST"
    execution_timeout: int = 15
    digit_end_timeout: int | None = None  # None: "auto"
    speech_end_timeout: int | None = None
    finish_on_key: str = "#"
    num_digits: int = 32
    language: str = "en-US"
    speech_model: str = "default"
    hints: str = ""
    profanity_filter: bool = False
    interim_speech_results_callback: str | None = None
    interim_speech_results_callback_method: Method = "POST"
    redirect: bool = True
    log: bool = True
    prompts: tuple[Prompt, ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    action: str | None = None
    method: Method = "POST"
    file_format: FileFormat = "mp3"
    redirect: bool = True
    timeout: int = 15  # seconds of silence that end the recording
    max_length: int = 60
    play_beep: bool = True
    finish_on_key: str = "#"  # "" when disabled
    record_session: bool = False
    start_on_dial_answer: bool = False
    record_channel_type: ChannelType = "stereo"
    transcription_type: str | None = None
    transcription_url: str | None = None
    transcription_method: Method = "POST"
    transcription_report_type: str | None = None  # written by the Python SDK's builder
    callback_url: str | None = None
    callback_method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Number:
    number: str
    send_digits: str = ""
    send_on_preanswer: bool = False
    send_digits_mode: str = ""
    caller_id: str | None = None
    caller_name: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    uri: str  # sip:alice@domain
    send_digits: str = ""
    send_on_preanswer: bool = False
    sip_headers: tuple[tuple[str, str], ...] = ()
    caller_id: str | None = None
    caller_name: str | None = None


DialTarget = Number | User


@dataclass(frozen=True, slots=True)
class Dial:
    targets: tuple[DialTarget, ...]
    action: str | None = None
    method: Method = "POST"
    redirect: bool = True
    timeout: int | None = None  # ring time; None: the server's ring timeout
    time_limit: int = 14400
    caller_id: str | None = None  # None: the A leg's; "" when "none" blanks it
    caller_name: str | None = None
    hangup_on_star: bool = False
    confirm_sound: str | None = None
    confirm_key: str | None = None
    confirm_timeout: int = 120
    dial_music: str | None = None  # None: ringback tone; "real": the B leg's early media
    callback_url: str | None = None
    callback_method: Method = "POST"
    digits_match: tuple[str, ...] = ()
    digits_match_b_leg: tuple[str, ...] = ()
    sip_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: HangupReason | None = None
    schedule: int = 0  # seconds; > 0 schedules the hangup and goes on


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str
    method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Conference:
    """§2.8, the latest documents' defaults (PF's maxMembers 200 and timeLimit 0 differ)."""

    name: str  # the room, scoped to the account
    muted: bool = False
    enter_sound: str = ""  # "", "beep:1", "beep:2" or a URL of Play/Speak/Wait XML
    exit_sound: str = ""
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    stay_alone: bool = True
    wait_sound: str | None = None  # URL of Play/Speak/Wait XML, looped while waiting
    max_members: int | None = None  # None: the server's (calls.conference_max_members, 20)
    time_limit: int = 86400
    hangup_on_star: bool = False
    record: bool = False
    record_file_format: FileFormat = "mp3"
    record_when_alone: bool = False
    transcription_type: str | None = None
    transcription_url: str | None = None
    transcription_method: Method = "POST"
    action: str | None = None
    method: Method = "POST"
    redirect: bool = True
    callback_url: str | None = None
    callback_method: Method = "POST"
    digits_match: tuple[str, ...] = ()
    floor_event: bool = False
    relay_dtmf: bool = True
    send_digits: str = ""  # the Python SDK's builder writes it; sent to the member on entry


@dataclass(frozen=True, slots=True)
class Stream:
    """Parsed and validated; refused when run (no audio streaming yet)."""

    url: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class MultiPartyCall:
    """Parsed and validated; refused when run (no multi-party calls yet)."""

    name: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    """SMS from XML: parsed and validated; refused when run (the server carries voice only)."""

    text: str
    attributes: tuple[tuple[str, str], ...] = ()


PreAnswerChild = Speak | Play | Wait | GetDigits | Redirect | Message | Dtmf


@dataclass(frozen=True, slots=True)
class PreAnswer:
    children: tuple[PreAnswerChild, ...] = ()


Verb = (
    Speak
    | Play
    | Wait
    | Dtmf
    | GetDigits
    | GetInput
    | Record
    | Dial
    | Hangup
    | Redirect
    | PreAnswer
    | Conference
    | Stream
    | MultiPartyCall
    | Message
)

# Plivo's lazy answer (§1): the call is answered just before the first verb not in this set.
ANSWERLESS_VERBS: tuple[type, ...] = (Wait, PreAnswer, Hangup, Dial)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed <Response>: the verbs in order."""

    verbs: tuple[Verb, ...] = field(default=())
