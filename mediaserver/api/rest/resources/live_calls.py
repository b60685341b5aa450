"""A live call's media over the API (plivo.md §4.1): Call/{uuid}/Play/, Speak/, DTMF/ and
Record/, started (202) and stopped (DELETE). `legs` picks the leg named by the URL (aleg),
the leg bridged to it (bleg), or both.

A prompt is mixed into a bridged conversation (`mix`, true by default, as Plivo's) or, with
`mix=false`, takes over what the leg hears while it plays; a leg bridged to no one hears the
prompt alone either way. Recordings are mono (the leg and what it hears) or
stereo (the leg left, its bridged leg right: plivoxml/live_media.py); transcription is not
offered and refused naming its parameter.
"""

from http import HTTPStatus

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.resources.calls import HTTP_METHODS, reach_live_leg
from mediaserver.api.rest.route import Reply, RestRequest, Route
from mediaserver.api.rest.schema import reply_schema
from mediaserver.calls.call_service import CallService
from mediaserver.calls.leg import Leg
from mediaserver.media.tts import ESPEAK_VOICES, ONLY_VOICE, VARIANTS
from mediaserver.plivoxml.live_media import LiveMedia, RecordingCallback

_LEGS = Parameter("legs", default="aleg", choices=("aleg", "bleg", "both"))
_MIX = Parameter("mix", "boolean", default=True, description="false: the prompt replaces the peer")
_LOOP = Parameter("loop", "boolean", default=False)
_MESSAGE = reply_schema(message="string")
_STOP = (Parameter("callback_url"), Parameter("callback_method", choices=HTTP_METHODS))
# Recording's transcription knobs: declared so that giving one is refused naming it.
TRANSCRIPTION = tuple(
    Parameter(name, description="not offered: refused when given")
    for name in (
        "transcription_type",
        "transcription_url",
        "transcription_method",
        "transcription_report_type",
    )
)
RECORDING_CALLBACK = (
    Parameter("callback_url"),
    Parameter("callback_method", default="POST", choices=HTTP_METHODS),
)
_RECORD = (
    Parameter("time_limit", "integer", default=60, minimum=1, maximum=86400),
    Parameter("file_format", default="mp3", choices=("mp3", "wav")),
    Parameter("record_channel_type", default="mono", choices=("mono", "stereo")),
    *RECORDING_CALLBACK,
    *TRANSCRIPTION,
)


class LiveCallResource:
    def __init__(self, calls: CallService, media: LiveMedia) -> None:
        self._calls = calls
        self._media = media

    def routes(self) -> list[Route]:
        base = "Call/{call_uuid}/"
        accepted, stopped = HTTPStatus.ACCEPTED, HTTPStatus.NO_CONTENT
        play = (
            Parameter("urls", required=True, description="comma-separated"),
            Parameter("length", "integer", minimum=1, maximum=86400),
            _LEGS, _LOOP, _MIX,
        )  # fmt: skip
        speak = (
            Parameter("text", required=True),
            Parameter("voice", default="WOMAN"),
            Parameter("language", default="en-US", choices=tuple(ESPEAK_VOICES)),
            Parameter("type", description="accepted as the SDK sends it"),
            _LEGS, _LOOP, _MIX,
        )  # fmt: skip
        digits = (
            Parameter("digits", required=True),
            Parameter("leg", default="aleg", choices=("aleg", "bleg")),
        )
        recording = reply_schema(url="string", message="string", recording_id="string")
        return [
            Route("POST", base + "Play/", self._play, "play sounds to a live call",
                  status=accepted, parameters=play, response=_MESSAGE),
            Route("DELETE", base + "Play/", self._stop_prompt, "stop playing", status=stopped,
                  parameters=_STOP),
            Route("POST", base + "Speak/", self._speak, "speak text to a live call",
                  status=accepted, parameters=speak, response=_MESSAGE),
            Route("DELETE", base + "Speak/", self._stop_prompt, "stop speaking", status=stopped,
                  parameters=_STOP),
            Route("POST", base + "DTMF/", self._digits, "send digits on a live call",
                  status=accepted, parameters=digits, response=_MESSAGE),
            Route("POST", base + "Record/", self._record, "record a live call",
                  status=accepted, parameters=_RECORD, response=recording),
            Route("DELETE", base + "Record/", self._stop_record, "stop recording",
                  status=stopped, parameters=(Parameter("URL"), *_STOP)),
        ]  # fmt: skip

    async def _play(self, request: RestRequest) -> Reply:
        legs = self._legs(request, request.text("legs"))
        urls = [url.strip() for url in request.text("urls").split(",") if url.strip()]
        if not urls:
            raise ApiError.invalid("urls", "no URL given")
        problem = await self._media.check_sounds(urls)
        if problem is not None:
            raise ApiError.invalid("urls", problem)
        length = request.values["length"]
        for leg in legs:
            self._media.play(
                leg, urls, bool(request.values["loop"]), _optional_int(length),
                mixed=bool(request.values["mix"]),
            )  # fmt: skip
        return Reply(HTTPStatus.ACCEPTED, {"message": "play started"})

    def _speak(self, request: RestRequest) -> Reply:
        legs = self._legs(request, request.text("legs"))
        voice, language = speech_voice(request)
        for leg in legs:
            self._media.speak(
                leg, request.text("text"), voice, language, bool(request.values["loop"]),
                mixed=bool(request.values["mix"]),
            )  # fmt: skip
        return Reply(HTTPStatus.ACCEPTED, {"message": "speak started"})

    def _stop_prompt(self, request: RestRequest) -> Reply:
        leg = self._live(request)
        stopped = [self._media.stop_prompt(one) for one in (leg, leg.bridged_to) if one]
        if not any(stopped):
            raise ApiError.not_found("prompt on call", leg.call_uuid)
        return Reply(HTTPStatus.NO_CONTENT)

    def _digits(self, request: RestRequest) -> Reply:
        digits = request.text("digits")
        if not digits or any(digit not in "0123456789*#ABCDwW" for digit in digits):
            raise ApiError.invalid("digits", "digits are 0-9, *, #, A-D and w or W (pauses)")
        (leg,) = self._legs(request, request.text("leg"))
        self._media.send_digits(leg, digits)
        return Reply(HTTPStatus.ACCEPTED, {"message": "digits sent"})

    def _record(self, request: RestRequest) -> Reply:
        refuse_transcription(request)
        leg = self._live(request)
        url = request.optional_text("callback_url")
        callback = None if url is None else RecordingCallback(url, request.text("callback_method"))
        stereo = request.text("record_channel_type") == "stereo"
        started = self._media.record(
            leg, request.text("file_format"), request.integer("time_limit"), callback,
            stereo=stereo, peer=leg.bridged_to, sub_account=leg.sub_account,
        )  # fmt: skip
        body = {"url": started.url, "message": "call recording started"}
        return Reply(HTTPStatus.ACCEPTED, {**body, "recording_id": started.recording_id})

    def _stop_record(self, request: RestRequest) -> Reply:
        leg = self._live(request)
        if not self._media.stop_recording(leg, request.optional_text("URL")):
            raise ApiError.not_found("recording on call", leg.call_uuid)
        return Reply(HTTPStatus.NO_CONTENT)

    def _live(self, request: RestRequest) -> Leg:
        uuid = request.text("call_uuid")
        return reach_live_leg(self._calls, request.caller, uuid)

    def _legs(self, request: RestRequest, legs: str) -> list[Leg]:
        """The legs `legs` names (an unbridged call has no bleg: 400 naming the parameter)."""
        name = "legs" if "legs" in request.values else "leg"
        a_leg = self._live(request)
        b_leg = a_leg.bridged_to
        if legs != "aleg" and b_leg is None:
            raise ApiError.invalid(name, "the call has no bleg (it is not bridged)")
        named: dict[str, list[Leg | None]] = {"aleg": [a_leg], "bleg": [b_leg]}
        chosen = named.get(legs, [a_leg, b_leg])
        return [leg for leg in chosen if leg is not None]


def refuse_transcription(request: RestRequest) -> None:
    """A recording's transcription is not offered: asking for one is a 400 naming it."""
    for name in ("transcription_type", "transcription_url", "transcription_report_type"):
        if request.values.get(name) is not None:
            raise ApiError.invalid(name, "transcription is not offered")


def speech_voice(request: RestRequest) -> tuple[str, str]:
    """The `voice` and `language` of a Speak request, as <Speak> takes them (a Polly.* voice
    speaks as WOMAN); a voice the language does not have is a 400 naming `voice`."""
    voice, language = request.text("voice"), request.text("language")
    voice = "WOMAN" if voice.startswith("Polly.") else voice
    if voice not in VARIANTS:
        raise ApiError.invalid("voice", "must be WOMAN, MAN or a Polly.* voice")
    if ONLY_VOICE.get(language, voice) != voice:
        raise ApiError.invalid("voice", f"{language} is spoken by {ONLY_VOICE[language]} only")
    return voice, language


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) else None
