"""Reading calls (plivo.md §4.1): GET Call/ lists call detail records with Plivo's filters,
GET Call/{uuid}/ gives one; with `status=live` they list and describe the calls up now, with
`status=queued` the calls waiting for a line (none here: calls are never queued).

Every call belongs to an account: a sub-account reads its own records and live calls only
(another's look like none: 404), the main account every account's, or one sub-account's with
Plivo's `subaccount` filter.
"""

import time
from typing import cast

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.page import (
    PAGE_PARAMETERS,
    counted_page_reply,
    list_schema,
    page_window,
)
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import JsonObject, Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.api.rest.timestamp import parse_filter_time, plivo_time
from mediaserver.calls.call_service import CallService
from mediaserver.calls.leg import Leg
from mediaserver.calls.leg_events import LegState
from mediaserver.plivoxml.call_requests import CallRequests
from mediaserver.store.call_records import (
    COMPARISONS,
    BoundColumn,
    CallRecord,
    CallRecordFilter,
    Direction,
    SqliteCallRecords,
)

_STATUS = Parameter("status", choices=("live", "queued"), description="live or queued calls")
_DIRECTION = Parameter("call_direction", choices=("inbound", "outbound"))
_FILTERS = (
    Parameter("subaccount"),
    _DIRECTION,
    Parameter("from_number"),
    Parameter("to_number"),
    Parameter("parent_call_uuid"),
    Parameter("hangup_cause_code", "integer"),
    Parameter("hangup_source"),
    Parameter("bill_duration", "integer", minimum=0),
    *(Parameter(f"bill_duration__{c}", "integer", minimum=0) for c in COMPARISONS),
    Parameter("end_time", description="YYYY-MM-DD HH:MM[:SS], UTC"),
    *(Parameter(f"end_time__{c}", description="YYYY-MM-DD HH:MM[:SS], UTC") for c in COMPARISONS),
)
_RECORD_FIELDS = {
    **dict.fromkeys(("call_uuid", "call_direction", "from_number", "to_number"), "string"),
    **dict.fromkeys(("initiation_time", "end_time", "resource_uri", "call_state"), "string"),
    **dict.fromkeys(("hangup_cause_name", "hangup_source", "source_ip"), "string"),
    **dict.fromkeys(("total_amount", "total_rate", "stir_verification"), "string"),
    **dict.fromkeys(("bill_duration", "billed_duration", "call_duration"), "integer"),
    "hangup_cause_code": "integer",
    "answer_time": "string?",
    "parent_call_uuid": "string?",
}
_LIVE_FIELDS = {
    **dict.fromkeys(("call_uuid", "call_status", "caller_name", "direction"), "string"),
    **dict.fromkeys(("from", "to", "session_start"), "string"),
    "request_uuid": "string?",
}
_ONE = {"anyOf": [reply_schema(**_RECORD_FIELDS), reply_schema(**_LIVE_FIELDS)]}
_MANY = {"anyOf": [list_schema(object_schema(**_RECORD_FIELDS)), reply_schema(calls="array")]}


class CallDetailResource:
    def __init__(
        self, records: SqliteCallRecords, calls: CallService, requests: CallRequests
    ) -> None:
        self._records = records
        self._calls = calls
        self._requests = requests

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                "Call/",
                self._list,
                "list call records, or live or queued calls (status)",
                parameters=(*PAGE_PARAMETERS, _STATUS, *_FILTERS),
                response=_MANY,
            ),
            Route(
                "GET",
                "Call/{call_uuid}/",
                self._get,
                "a call record, or a live or queued call (status)",
                parameters=(_STATUS,),
                response=_ONE,
            ),
        ]

    def _list(self, request: RestRequest) -> Reply:
        status = request.optional_text("status")
        if status is not None:
            return Reply(body={"calls": self._live_ids(request) if status == "live" else []})
        wanted = _record_filter(request)
        found = self._records.matching(wanted, *page_window(request))
        page = [self._record(request, record) for record in found]
        return counted_page_reply(request, page, self._records.count_matching(wanted))

    def _get(self, request: RestRequest) -> Reply:
        call_uuid = request.text("call_uuid")
        status = request.optional_text("status")
        if status == "queued":
            raise ApiError.not_found("queued call", call_uuid)
        if status == "live":
            return Reply(body=self._live(request, call_uuid))
        record = request.caller.reach(self._records.get(call_uuid), "call record", call_uuid)
        return Reply(body=self._record(request, record))

    def _live_ids(self, request: RestRequest) -> list[str]:
        wanted = {
            "direction": request.optional_text("call_direction"),
            "from_number": request.optional_text("from_number"),
            "to_number": request.optional_text("to_number"),
        }
        legs = [leg for leg in self._calls.live_legs() if self._visible(request, leg)]
        chosen = [
            leg
            for leg in legs
            if all(value in (None, getattr(leg, name)) for name, value in wanted.items())
        ]
        offset, limit = request.integer("offset"), request.integer("limit")
        return [leg.call_uuid for leg in chosen[offset : offset + limit]]

    def _visible(self, request: RestRequest, leg: Leg) -> bool:
        return not leg.ended and request.caller.owns(leg.sub_account)

    def _live(self, request: RestRequest, call_uuid: str) -> JsonObject:
        leg = self._calls.find(call_uuid)
        if leg is None or not self._visible(request, leg):
            raise ApiError.not_found("live call", call_uuid)
        placed = self._requests.request_of(call_uuid)
        answered = leg.state is LegState.ANSWERED
        return {
            "call_uuid": leg.call_uuid,
            "call_status": "in-progress" if answered else "ringing",
            "caller_name": "" if placed is None else placed.order.caller_name,
            "direction": leg.direction,
            "from": leg.from_number,
            "to": leg.to_number,
            "request_uuid": None if placed is None else placed.request_uuid,
            # Plivo writes it with microseconds: "2017-05-22 13:17:49.050872".
            "session_start": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(leg.initiation_time))
            + f".{int(leg.initiation_time % 1 * 1_000_000):06d}",
        }

    def _record(self, request: RestRequest, record: CallRecord) -> JsonObject:
        return {
            "call_uuid": record.call_uuid,
            "call_direction": record.direction,
            "from_number": record.from_number,
            "to_number": record.to_number,
            "initiation_time": plivo_time(record.initiation_time),
            "answer_time": None if record.answer_time is None else plivo_time(record.answer_time),
            "end_time": plivo_time(record.end_time),
            "call_duration": record.call_duration,
            "bill_duration": record.bill_duration,
            "billed_duration": record.bill_duration,
            # A server of one's own charges nothing.
            "total_amount": "0.00000",
            "total_rate": "0.00000",
            "hangup_cause_name": record.hangup_cause_name,
            "hangup_cause_code": record.hangup_cause_code,
            "hangup_source": record.hangup_source,
            "call_state": "ANSWER" if record.answer_time is not None else "NO ANSWER",
            "parent_call_uuid": record.parent_call_uuid,
            "source_ip": record.source_ip,
            "stir_verification": "Not Applicable",
            "resource_uri": request.caller.uri("Call", record.call_uuid),
        }


def _record_filter(request: RestRequest) -> CallRecordFilter:
    bounds: list[tuple[BoundColumn, str, float]] = []
    columns: tuple[BoundColumn, ...] = ("bill_duration", "end_time")
    for column in columns:
        exact = request.values[column]
        if exact is not None:
            bounds += [
                (column, "gte", _bound(column, exact)),
                (column, "lte", _bound(column, exact)),
            ]
        for comparison in COMPARISONS:
            name = f"{column}__{comparison}"
            if request.values[name] is not None:
                bounds.append((column, comparison, _bound(name, request.values[name])))
    code = request.values["hangup_cause_code"]
    return CallRecordFilter(
        call_direction=cast(Direction | None, request.optional_text("call_direction")),
        from_number=request.optional_text("from_number"),
        to_number=request.optional_text("to_number"),
        parent_call_uuid=request.optional_text("parent_call_uuid"),
        hangup_cause_code=code if isinstance(code, int) else None,
        hangup_source=request.optional_text("hangup_source"),
        bounds=tuple(bounds),
        scope=request.caller.view(request.optional_text("subaccount")),
    )


def _bound(name: str, value: object) -> float:
    if isinstance(value, int):
        return float(value)
    return parse_filter_time(name, str(value))
