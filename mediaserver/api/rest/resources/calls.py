"""Call/ (plivo.md §4.1): place calls (POST Call/, with `callback_url` the async mode),
withdraw one not yet answered (DELETE Request/), transfer a live call's legs to other
documents (POST Call/{uuid}/: the A leg, its bridged B leg, or both), hang it up
(DELETE Call/{uuid}/), and read its debug log (GET Call/{uuid}/DebugLog/: every webhook
exchange and XML error of the call).

A call belongs to an account (calls/leg.py): a sub-account reaches its own calls only, the
main account every call; another account's call is a 404, as an unknown one.

`machine_detection` (true or hangup) listens for an answering machine from the answer on
(plivoxml/machine_detection.py); its knobs take Plivo's defaults and ranges. Plivo's
`machine_detection_answer_time` is not offered: given, it is refused naming it.
"""

from collections.abc import Callable
from dataclasses import asdict
from http import HTTPStatus
from urllib.parse import urlsplit

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import Reply, RestRequest, Route
from mediaserver.api.rest.schema import reply_schema
from mediaserver.calls.call_service import CallService
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg import Leg
from mediaserver.media.machine_detector import DetectionSettings
from mediaserver.plivoxml.call_debug_log import CallDebugLog
from mediaserver.plivoxml.call_requests import CallOrder, CallRequests
from mediaserver.plivoxml.machine_detection import MachineDetection
from mediaserver.plivoxml.session import ApplicationUrls, Webhooks
from mediaserver.store.call_records import SqliteCallRecords

HTTP_METHODS = ("GET", "POST")
# Plivo: "to" takes at most 1000 destinations joined by "<"; caller_name at most 50 characters.
MAX_DESTINATIONS = 1000
MAX_CALLER_NAME = 50
_URL_NAMES = (
    "answer_url",
    "ring_url",
    "hangup_url",
    "fallback_url",
    "callback_url",
    "machine_detection_url",
)
# Plivo's defaults and allowed ranges (milliseconds; words) for each DetectionSettings field.
_MACHINE_KNOBS = {
    "machine_detection_time": ("analysis_ms", 5000, 2000, 10000),
    "machine_detection_maximum_speech_length": ("maximum_speech_ms", 5000, 1000, 6000),
    "machine_detection_initial_silence": ("initial_silence_ms", 4500, 2000, 10000),
    "machine_detection_maximum_words": ("maximum_words", 3, 2, 10),
    "machine_detection_initial_greeting": ("greeting_ms", 1500, 1000, 5000),
    "machine_detection_silence": ("after_greeting_silence_ms", 800, 500, 5000),
}
_MACHINE_DETECTION = (
    Parameter(
        "machine_detection",
        choices=("true", "hangup"),
        description="answering-machine detection: true reports it, hangup also ends the call",
    ),
    Parameter("machine_detection_url", description="where the verdict is posted"),
    Parameter("machine_detection_method", default="POST", choices=HTTP_METHODS),
    *(
        Parameter(name, "integer", default=default, minimum=low, maximum=high)
        for name, (_, default, low, high) in _MACHINE_KNOBS.items()
    ),
    Parameter("machine_detection_answer_time", "integer", description="not offered: refused"),
)
_CREATE = (
    Parameter("from", required=True, description="the caller ID: a number or an endpoint"),
    Parameter("to", required=True, description="destinations joined by '<'"),
    Parameter("answer_url", required=True),
    Parameter("answer_method", default="POST", choices=HTTP_METHODS),
    Parameter("ring_url"),
    Parameter("ring_method", default="POST", choices=HTTP_METHODS),
    Parameter("hangup_url"),
    Parameter("hangup_method", default="POST", choices=HTTP_METHODS),
    Parameter("fallback_url"),
    Parameter("fallback_method", default="POST", choices=HTTP_METHODS),
    Parameter("caller_name", default=""),
    Parameter("send_digits", default=""),
    Parameter("send_on_preanswer", "boolean", default=False),
    Parameter("time_limit", "integer", default=14400, minimum=1, maximum=86400),
    Parameter("hangup_on_ring", "integer", minimum=0),
    Parameter("ring_timeout", "integer", default=120, minimum=1, maximum=86400),
    Parameter("sip_headers", default="", description="k=v,k2=v2: sent as X-PH-k headers"),
    Parameter("parent_call_uuid"),
    Parameter("error_if_parent_not_found", "boolean", default=False),
    *_MACHINE_DETECTION,
    Parameter("callback_url", description="async mode: the result is POSTed here"),
    Parameter("callback_method", default="POST", choices=HTTP_METHODS),
)
_FIRED = {
    "anyOf": [
        reply_schema(message="string", request_uuid="string"),
        reply_schema(message="string", request_uuid="array"),
        reply_schema(message="string"),
    ]
}
_DEBUG_ENTRY = {
    "type": "object",
    "required": ["time", "kind", "message"],
    "properties": {
        "time": {"type": "number"},
        "kind": {"type": "string", "enum": ["webhook", "xml"]},
        "message": {"type": "string"},
        "url": {"type": "string", "nullable": True},
        "method": {"type": "string", "nullable": True},
        "status": {"type": "integer", "nullable": True},
        "error": {"type": "string", "nullable": True},
        "latency_ms": {"type": "number", "nullable": True},
        "attempt": {"type": "integer", "nullable": True},
        "signature_headers": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

_DEBUG_LOG = {
    "type": "object",
    "required": ["api_id", "call_uuid", "entries"],
    "properties": {
        "api_id": {"type": "string"},
        "call_uuid": {"type": "string"},
        "entries": {"type": "array", "items": _DEBUG_ENTRY},
    },
}


def reach_live_leg(calls: CallService, caller: Caller, uuid: str) -> Leg:
    """A live leg the caller may act on: any for the main account, its own calls for a
    sub-account; a 404 otherwise (another account's call looks like none)."""
    leg = calls.find(uuid)
    if leg is None or leg.ended or not caller.owns(leg.sub_account):
        raise ApiError.not_found("live call", uuid)
    return leg


class CallResource:
    def __init__(
        self,
        calls: CallService,
        requests: CallRequests,
        debug_log: CallDebugLog,
        records: SqliteCallRecords,
        webhooks_for: Callable[[str | None], Webhooks],
    ) -> None:
        self._calls = calls
        self._requests = requests
        self._debug_log = debug_log
        self._records = records
        self._webhooks_for = webhooks_for  # an account's webhooks, signed with its token

    def routes(self) -> list[Route]:
        one = "Call/{call_uuid}/"
        transfer = (
            Parameter("legs", default="aleg", choices=("aleg", "bleg", "both")),
            Parameter("aleg_url"),
            Parameter("aleg_method", default="POST", choices=HTTP_METHODS),
            Parameter("bleg_url"),
            Parameter("bleg_method", default="POST", choices=HTTP_METHODS),
        )
        return [
            Route(
                "POST", "Call/", self._create, "place calls", status=HTTPStatus.CREATED,
                parameters=_CREATE, response=_FIRED,
            ),
            Route(
                "DELETE", "Request/{request_uuid}/", self._withdraw,
                "cancel a call not yet answered", status=HTTPStatus.NO_CONTENT,
            ),
            Route(
                "POST", one, self._transfer, "transfer a live call to another document",
                status=HTTPStatus.ACCEPTED, parameters=transfer,
                response=reply_schema(message="string"),
            ),
            Route(
                "DELETE", one, self._hangup, "hang up a live call", status=HTTPStatus.NO_CONTENT
            ),
            Route(
                "GET", "Call/{call_uuid}/DebugLog/", self._debug, "a call's debug log",
                response=_DEBUG_LOG,
            ),
        ]  # fmt: skip

    def _create(self, request: RestRequest) -> Reply:
        if request.values["machine_detection_answer_time"] is not None:
            raise ApiError.invalid("machine_detection_answer_time", "is not offered")
        orders = [self._order(request, to) for to in _destinations(request)]
        parent = request.optional_text("parent_call_uuid")
        wanted = parent is not None and request.values["error_if_parent_not_found"]
        if wanted and self._calls.find(str(parent)) is None:
            raise ApiError.invalid("parent_call_uuid", f"no live call {parent}")
        fired = [self._requests.fire(order) for order in orders]
        request_uuid: str | list[str] = fired[0] if len(fired) == 1 else fired
        body = {"message": "call fired", "request_uuid": request_uuid}
        callback_url = request.optional_text("callback_url")
        if callback_url is None:
            return Reply(HTTPStatus.CREATED, body)
        # Plivo's async mode: the answer says the work is spawned, the result goes to the URL.
        result = {"message": "call fired", "request_uuid": ",".join(fired)}
        webhooks = self._webhooks_for(request.caller.sub_account)
        webhooks.notify(callback_url, request.text("callback_method"), result)
        return Reply(HTTPStatus.CREATED, {"message": "async api spawned"})

    def _order(self, request: RestRequest, to: str) -> CallOrder:
        for name in _URL_NAMES:
            _check_url(name, request.optional_text(name))
        caller_name = request.text("caller_name")
        if len(caller_name) > MAX_CALLER_NAME:
            raise ApiError.invalid("caller_name", f"at most {MAX_CALLER_NAME} characters")
        urls = ApplicationUrls(
            request.text("answer_url"), request.text("answer_method"),
            request.optional_text("hangup_url"), request.text("hangup_method"),
            request.optional_text("fallback_url"), request.text("fallback_method"),
        )  # fmt: skip
        hangup_on_ring = request.values["hangup_on_ring"]
        return CallOrder(
            from_=request.text("from"), to=to, urls=urls, caller_name=caller_name,
            ring_url=request.optional_text("ring_url"), ring_method=request.text("ring_method"),
            send_digits=_digits("send_digits", request.text("send_digits")),
            send_on_preanswer=bool(request.values["send_on_preanswer"]),
            time_limit=request.integer("time_limit"),
            hangup_on_ring=hangup_on_ring if isinstance(hangup_on_ring, int) else None,
            ring_timeout=request.integer("ring_timeout"),
            sip_headers=_sip_headers(request.text("sip_headers")),
            parent_call_uuid=request.optional_text("parent_call_uuid"),
            sub_account=request.caller.sub_account,
            machine_detection=_machine_detection(request),
        )  # fmt: skip

    def _withdraw(self, request: RestRequest) -> Reply:
        request_uuid = request.text("request_uuid")
        if not self._requests.withdraw(request_uuid, request.caller.sub_account):
            raise ApiError.not_found("unanswered call request", request_uuid)
        return Reply(HTTPStatus.NO_CONTENT)

    def _transfer(self, request: RestRequest) -> Reply:
        """Everything is checked before anything moves. The B leg goes first: the A leg's
        Dial lets go of it, then the A leg leaves its document (legs=both); alone, the A leg
        takes its B leg down with its document (Plivo's aleg transfer)."""
        a_leg = self._live(request)
        legs = request.text("legs")
        a_url = _transfer_url(request, "aleg") if legs in ("aleg", "both") else None
        b_url = _transfer_url(request, "bleg") if legs in ("bleg", "both") else None
        if b_url is not None:
            b_leg = a_leg.bridged_to
            if b_leg is None or b_leg.parent_call_uuid != a_leg.call_uuid:
                raise ApiError.invalid("legs", "the call has no bleg (no leg it dialled is up)")
            self._requests.transfer_b_leg(b_leg, b_url, request.text("bleg_method"))
        if a_url is not None:
            self._requests.transfer(a_leg, a_url, request.text("aleg_method"))
        return Reply(HTTPStatus.ACCEPTED, {"message": "call transferred"})

    def _hangup(self, request: RestRequest) -> Reply:
        leg = self._live(request)
        other = leg.bridged_to
        # Both legs end, each with the source "API Request" (§3 hangup sources).
        leg.hangup(Cause.NORMAL_CLEARING, HangupSource.API_REQUEST)
        if other is not None:
            other.hangup(Cause.NORMAL_CLEARING, HangupSource.API_REQUEST)
        return Reply(HTTPStatus.NO_CONTENT)

    def _debug(self, request: RestRequest) -> Reply:
        call_uuid = request.text("call_uuid")
        entries = self._debug_log.entries(call_uuid)
        if entries is None or not request.caller.owns(self._account_of(call_uuid)):
            raise ApiError.not_found("debug log of call", call_uuid)
        return Reply(body={"call_uuid": call_uuid, "entries": [asdict(e) for e in entries]})

    def _account_of(self, call_uuid: str) -> str | None:
        """The account of a call up now or recorded (None: the main account's, or unknown)."""
        leg = self._calls.find(call_uuid)
        found = leg if leg is not None else self._records.get(call_uuid)
        return None if found is None else found.sub_account

    def _live(self, request: RestRequest) -> Leg:
        return reach_live_leg(self._calls, request.caller, request.text("call_uuid"))


def _transfer_url(request: RestRequest, leg: str) -> str:
    """aleg_url or bleg_url, required for the leg `legs` names (§4.1 Transfer)."""
    url = request.optional_text(f"{leg}_url")
    if url is None:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{leg}_url parameter is missing")
    _check_url(f"{leg}_url", url)
    return url


def _destinations(request: RestRequest) -> list[str]:
    destinations = [part.strip() for part in request.text("to").split("<")]
    if not all(destinations):
        raise ApiError.invalid("to", "an empty destination")
    if len(destinations) > MAX_DESTINATIONS:
        raise ApiError.invalid("to", f"at most {MAX_DESTINATIONS} destinations")
    if request.text("from") in destinations:
        raise ApiError.invalid("to", "from and to cannot be the same")
    return destinations


def _machine_detection(request: RestRequest) -> MachineDetection | None:
    mode = request.optional_text("machine_detection")
    if mode is None:
        return None
    knobs = {field: request.integer(name) for name, (field, *_) in _MACHINE_KNOBS.items()}
    return MachineDetection(
        hang_up=mode == "hangup",
        settings=DetectionSettings(**knobs),
        url=request.optional_text("machine_detection_url"),
        method=request.text("machine_detection_method"),
    )


def _check_url(name: str, url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError.invalid(name, "must be an absolute http or https URL")


def _digits(name: str, digits: str) -> str:
    """DTMF as Plivo writes it: 0-9, *, #, A-D, and w/W pauses."""
    if any(digit not in "0123456789*#ABCDwW" for digit in digits):
        raise ApiError.invalid(name, "digits are 0-9, *, #, A-D and w or W (pauses)")
    return digits


def _sip_headers(text: str) -> tuple[tuple[str, str], ...]:
    """`k=v,k2=v2`, alphanumeric keys and values (plivo.md §2.7 sipHeaders)."""
    headers = []
    for pair in filter(None, text.split(",")):
        name, equals, value = pair.partition("=")
        if not (equals and name.isalnum() and value.isalnum() and name.isascii()):
            raise ApiError.invalid("sip_headers", "must be k=v pairs of letters and digits")
        headers.append((name, value))
    return tuple(headers)
