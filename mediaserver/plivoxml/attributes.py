"""Every attribute of every Plivo XML verb: its snake_case field, its type, whether required.

This is the one place camelCase becomes snake_case (plivo.md §2.2-§2.11). An attribute not in
its element's table is refused: a misspelt `numdigits` silently left at its default would be
worse than an 8011 naming it. The tables hold every attribute the current documents give and
every one the official Python SDK's builders write (so what its users produce parses), and
none of the FreeSWITCH-only ones of plivoframework (Speak `engine`, Record `filePath`, Number
`gateways`...). Defaults are not here: they are the verb dataclasses' own (verbs.py), except for
Stream, MultiPartyCall and Message, whose attributes stay (name, value) pairs until their
issues run them.
"""

from dataclasses import dataclass

from mediaserver.plivoxml import attribute_types as types


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    field: str
    parse: types.ValueType
    required: bool = False


def _spec(field: str, parse: types.ValueType, *, required: bool = False) -> AttributeSpec:
    return AttributeSpec(field, parse, required)


_URL = types.HTTP_URL
_BOOL = types.boolean
_METHOD = types.METHOD
_POSITIVE = types.integer(1)
_FORMAT = types.choice("mp3", "wav")

SPEAK = {
    "voice": _spec("voice", types.voice),
    "language": _spec("language", types.language),
    "loop": _spec("loop", types.integer(0)),  # 0 repeats forever
}
PLAY = {"loop": _spec("loop", types.integer(0))}
WAIT = {
    "length": _spec("length", _POSITIVE),  # §2.9: int > 0
    "silence": _spec("silence", _BOOL),
    "minSilence": _spec("min_silence_ms", _POSITIVE),
    "beep": _spec("beep", _BOOL),
}
DTMF = {"async": _spec("asynchronous", _BOOL)}
GET_DIGITS = {
    "action": _spec("action", _URL),
    "method": _spec("method", _METHOD),
    "timeout": _spec("timeout", _POSITIVE),
    "digitTimeout": _spec("digit_timeout", _POSITIVE),
    "finishOnKey": _spec("finish_on_key", types.blank_or(types.key)),
    "numDigits": _spec("num_digits", types.integer(1, 99)),  # PF caps at 99
    "retries": _spec("retries", _POSITIVE),
    "redirect": _spec("redirect", _BOOL),
    "playBeep": _spec("play_beep", _BOOL),
    "validDigits": _spec("valid_digits", types.keys),
    "invalidDigitsSound": _spec("invalid_digits_sound", _URL),
    "log": _spec("log", _BOOL),
}
GET_INPUT = {
    "action": _spec("action", _URL, required=True),
    "method": _spec("method", _METHOD),
    "inputType": _spec("input_type", types.input_type, required=True),
    "executionTimeout": _spec("execution_timeout", types.integer(5, 60)),
    "digitEndTimeout": _spec("digit_end_timeout", types.seconds_or_auto(2, 10)),
    "speechEndTimeout": _spec("speech_end_timeout", types.seconds_or_auto(2, 10)),
    "finishOnKey": _spec("finish_on_key", types.blank_or(types.key)),
    "numDigits": _spec("num_digits", types.integer(1, 32)),
    "language": _spec("language", types.language),
    "speechModel": _spec(
        "speech_model", types.choice("default", "command_and_search", "phone_call")
    ),
    "hints": _spec("hints", types.hints),
    "profanityFilter": _spec("profanity_filter", _BOOL),
    "interimSpeechResultsCallback": _spec("interim_speech_results_callback", _URL),
    "interimSpeechResultsCallbackMethod": _spec("interim_speech_results_callback_method", _METHOD),
    "redirect": _spec("redirect", _BOOL),
    "log": _spec("log", _BOOL),
}
RECORD = {
    "action": _spec("action", _URL),
    "method": _spec("method", _METHOD),
    "fileFormat": _spec("file_format", _FORMAT),
    "redirect": _spec("redirect", _BOOL),
    "timeout": _spec("timeout", _POSITIVE),
    "maxLength": _spec("max_length", _POSITIVE),
    "playBeep": _spec("play_beep", _BOOL),
    "finishOnKey": _spec("finish_on_key", types.blank_or(types.keys)),  # older default: all
    "recordSession": _spec("record_session", _BOOL),
    "startOnDialAnswer": _spec("start_on_dial_answer", _BOOL),
    "recordChannelType": _spec("record_channel_type", types.choice("mono", "stereo")),
    "transcriptionType": _spec("transcription_type", types.choice("auto", "hybrid")),
    "transcriptionUrl": _spec("transcription_url", _URL),
    "transcriptionMethod": _spec("transcription_method", _METHOD),
    "transcriptionReportType": _spec("transcription_report_type", types.text()),  # SDK only
    "callbackUrl": _spec("callback_url", _URL),
    "callbackMethod": _spec("callback_method", _METHOD),
}
_CALLER = {
    "callerId": _spec("caller_id", types.blank_or(types.text())),  # PF: "none" blanks it
    "callerName": _spec("caller_name", types.blank_or(types.text(50))),
}
_SEND_DIGITS = {
    "sendDigits": _spec("send_digits", types.send_digits),
    "sendOnPreanswer": _spec("send_on_preanswer", _BOOL),
}
NUMBER = {
    **_SEND_DIGITS,
    # Values undocumented (PY, NODE); the Python SDK's own tests write sendDigitsMode="".
    "sendDigitsMode": _spec("send_digits_mode", types.blank_or(types.text())),
    **_CALLER,
}
USER = {**_SEND_DIGITS, "sipHeaders": _spec("sip_headers", types.header_pairs), **_CALLER}
DIAL = {
    "action": _spec("action", _URL),
    "method": _spec("method", _METHOD),
    "redirect": _spec("redirect", _BOOL),
    "timeout": _spec("timeout", _POSITIVE),
    "timeLimit": _spec("time_limit", types.capped_integer(1, 86400)),  # cut at 24 h
    **_CALLER,
    "hangupOnStar": _spec("hangup_on_star", _BOOL),
    "confirmSound": _spec("confirm_sound", _URL),
    "confirmKey": _spec("confirm_key", types.key),
    "confirmTimeout": _spec("confirm_timeout", _POSITIVE),
    "dialMusic": _spec("dial_music", types.url_or("real")),
    "callbackUrl": _spec("callback_url", _URL),
    "callbackMethod": _spec("callback_method", _METHOD),
    "digitsMatch": _spec("digits_match", types.digit_patterns),
    "digitsMatchBLeg": _spec("digits_match_b_leg", types.digit_patterns),
    "sipHeaders": _spec("sip_headers", types.header_pairs),
}
HANGUP = {
    "reason": _spec("reason", types.choice("rejected", "busy")),
    "schedule": _spec("schedule", types.integer(0)),
}
REDIRECT = {"method": _spec("method", _METHOD)}
CONFERENCE = {
    "muted": _spec("muted", _BOOL),
    "enterSound": _spec("enter_sound", types.url_or("", "beep:1", "beep:2")),
    "exitSound": _spec("exit_sound", types.url_or("", "beep:1", "beep:2")),
    "startConferenceOnEnter": _spec("start_conference_on_enter", _BOOL),
    "endConferenceOnExit": _spec("end_conference_on_exit", _BOOL),
    "stayAlone": _spec("stay_alone", _BOOL),
    "waitSound": _spec("wait_sound", _URL),
    "maxMembers": _spec("max_members", types.integer(1, 20)),  # latest DOCS: 1 to 20
    "timeLimit": _spec("time_limit", _POSITIVE),
    "hangupOnStar": _spec("hangup_on_star", _BOOL),
    "record": _spec("record", _BOOL),
    "recordFileFormat": _spec("record_file_format", _FORMAT),
    "recordWhenAlone": _spec("record_when_alone", _BOOL),
    "transcriptionType": _spec("transcription_type", types.choice("auto", "hybrid")),
    "transcriptionUrl": _spec("transcription_url", _URL),
    "transcriptionMethod": _spec("transcription_method", _METHOD),
    "action": _spec("action", _URL),
    "method": _spec("method", _METHOD),
    "redirect": _spec("redirect", _BOOL),
    "callbackUrl": _spec("callback_url", _URL),
    "callbackMethod": _spec("callback_method", _METHOD),
    "digitsMatch": _spec("digits_match", types.digit_patterns),
    "floorEvent": _spec("floor_event", _BOOL),
    "relayDTMF": _spec("relay_dtmf", _BOOL),
    "sendDigits": _spec("send_digits", types.send_digits),  # PY only
}
STREAM = {
    "bidirectional": _spec("bidirectional", _BOOL),
    "audioTrack": _spec("audio_track", types.choice("inbound", "outbound", "both")),
    "streamTimeout": _spec("stream_timeout", _POSITIVE),
    "contentType": _spec(
        "content_type",
        types.choice("audio/x-l16;rate=8000", "audio/x-l16;rate=16000", "audio/x-mulaw;rate=8000"),
    ),
    "keepCallAlive": _spec("keep_call_alive", _BOOL),
    "extraHeaders": _spec("extra_headers", types.extra_headers),
    "statusCallbackUrl": _spec("status_callback_url", _URL),
    "statusCallbackMethod": _spec("status_callback_method", _METHOD),
    "noiseCancellation": _spec("noise_cancellation", _BOOL),
    "noiseCancellationLevel": _spec("noise_cancellation_level", types.integer(60, 100)),
}
_MPC_SOUND = types.url_or("beep:1", "beep:2", "none")
_MPC_EVENTS = types.comma_list(
    "mpc-state-changes",
    "participant-state-changes",
    "participant-speak-events",
    "participant-digit-input-events",
    "add-participant-api-events",
)
# §2.11 names a few; the SDK's MultiPartyCallElement writes these, so all of them parse.
MULTI_PARTY_CALL = {
    "role": _spec(
        "role",
        types.choice("agent", "supervisor", "customer", "ai-agent", ignore_case=True),
        required=True,
    ),
    "maxDuration": _spec("max_duration", _POSITIVE),
    "maxParticipants": _spec("max_participants", _POSITIVE),
    "recordMinMemberCount": _spec("record_min_member_count", _POSITIVE),
    "waitMusicUrl": _spec("wait_music_url", _URL),
    "waitMusicMethod": _spec("wait_music_method", _METHOD),
    "waitTime": _spec("wait_time", _POSITIVE),
    "agentHoldMusicUrl": _spec("agent_hold_music_url", _URL),
    "agentHoldMusicMethod": _spec("agent_hold_music_method", _METHOD),
    "customerHoldMusicUrl": _spec("customer_hold_music_url", _URL),
    "customerHoldMusicMethod": _spec("customer_hold_music_method", _METHOD),
    "record": _spec("record", _BOOL),
    "recordParticipantTrack": _spec("record_participant_track", _BOOL),
    "recordFileFormat": _spec("record_file_format", _FORMAT),
    "recordingCallbackUrl": _spec("recording_callback_url", _URL),
    "recordingCallbackMethod": _spec("recording_callback_method", _METHOD),
    "statusCallbackEvents": _spec("status_callback_events", _MPC_EVENTS),
    "statusCallbackUrl": _spec("status_callback_url", _URL),
    "statusCallbackMethod": _spec("status_callback_method", _METHOD),
    "stayAlone": _spec("stay_alone", _BOOL),
    "coachMode": _spec("coach_mode", _BOOL),
    "mute": _spec("mute", _BOOL),
    "hold": _spec("hold", _BOOL),
    "startMpcOnEnter": _spec("start_mpc_on_enter", _BOOL),
    "endMpcOnExit": _spec("end_mpc_on_exit", _BOOL),
    "enterSound": _spec("enter_sound", _MPC_SOUND),
    "enterSoundMethod": _spec("enter_sound_method", _METHOD),
    "exitSound": _spec("exit_sound", _MPC_SOUND),
    "exitSoundMethod": _spec("exit_sound_method", _METHOD),
    "onExitActionUrl": _spec("on_exit_action_url", _URL),
    "onExitActionMethod": _spec("on_exit_action_method", _METHOD),
    "relayDTMFInputs": _spec("relay_dtmf_inputs", _BOOL),
    "startRecordingAudio": _spec("start_recording_audio", _URL),
    "startRecordingAudioMethod": _spec("start_recording_audio_method", _METHOD),
    "stopRecordingAudio": _spec("stop_recording_audio", _URL),
    "stopRecordingAudioMethod": _spec("stop_recording_audio_method", _METHOD),
    "transcript": _spec("transcript", _BOOL),
    "transcriptionUrl": _spec("transcription_url", _URL),
}
MESSAGE = {
    "src": _spec("src", types.text()),
    "dst": _spec("dst", types.text()),
    "type": _spec("type", types.choice("sms", "mms")),
    "callbackUrl": _spec("callback_url", _URL),
    "callbackMethod": _spec("callback_method", _METHOD),
}

# Element name -> its attributes. PreAnswer and Response take none (PF: "does not require any
# attributes"); Dial's Number and User are here too.
ATTRIBUTES: dict[str, dict[str, AttributeSpec]] = {
    "Response": {},
    "Speak": SPEAK,
    "Play": PLAY,
    "Wait": WAIT,
    "DTMF": DTMF,
    "GetDigits": GET_DIGITS,
    "GetInput": GET_INPUT,
    "Record": RECORD,
    "Dial": DIAL,
    "Number": NUMBER,
    "User": USER,
    "Hangup": HANGUP,
    "Redirect": REDIRECT,
    "PreAnswer": {},
    "Conference": CONFERENCE,
    "Stream": STREAM,
    "MultiPartyCall": MULTI_PARTY_CALL,
    "Message": MESSAGE,
}

# Element name -> the field its text body fills, and the body's type (§2.2-§2.11).
BODIES: dict[str, AttributeSpec] = {
    "Speak": _spec("text", types.text()),
    "Play": _spec("url", _URL),
    "DTMF": _spec("digits", types.dtmf_digits),
    "Number": _spec("number", types.e164),
    "User": _spec("uri", types.sip_uri),
    "Redirect": _spec("url", _URL),
    "Conference": _spec("name", types.text()),
    "Stream": _spec("url", types.url(("wss",))),
    "MultiPartyCall": _spec("name", types.text()),
    "Message": _spec("text", types.text()),
}
