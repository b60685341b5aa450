"""Recording/ (plivo.md §4.2): list with Plivo's filters, get, delete (the file too). The
recording_url is the signed link the XML callbacks hand out (`RecordUrl`), served beside
these routes by recording_files.py."""

import math
from http import HTTPStatus

from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.page import PAGE_PARAMETERS, list_schema, page_reply
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import JsonObject, Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.api.rest.timestamp import parse_filter_time, plivo_time
from mediaserver.plivoxml.recording_archive import RecordingArchive
from mediaserver.store.recordings import ADD_TIME_COMPARISONS, Recording

_RECORDING_FIELDS = {
    **dict.fromkeys(("recording_id", "call_uuid", "add_time", "recording_url"), "string"),
    **dict.fromkeys(("recording_format", "recording_type", "resource_uri"), "string"),
    # Plivo writes these three as decimal strings.
    **dict.fromkeys(("recording_duration_ms", "recording_start_ms", "recording_end_ms"), "string"),
    "rounded_recording_duration": "integer",
    "conference_name": "string?",
    "sub_account": "string?",
}
_FILTERS = (
    Parameter("subaccount"),
    Parameter("call_uuid"),
    *(
        Parameter(f"add_time__{comparison}", description="YYYY-MM-DD HH:MM[:SS[.ffffff]], UTC")
        for comparison in ADD_TIME_COMPARISONS
    ),
)


class RecordingResource:
    def __init__(self, archive: RecordingArchive) -> None:
        self._archive = archive

    def routes(self) -> list[Route]:
        one = "Recording/{recording_id}/"
        return [
            Route(
                "GET",
                "Recording/",
                self._list,
                "list recordings, oldest first",
                parameters=(*PAGE_PARAMETERS, *_FILTERS),
                response=list_schema(object_schema(**_RECORDING_FIELDS)),
            ),
            Route(
                "GET", one, self._get, "get a recording", response=reply_schema(**_RECORDING_FIELDS)
            ),
            Route(
                "DELETE",
                one,
                self._delete,
                "delete a recording and its file",
                status=HTTPStatus.NO_CONTENT,
            ),
        ]

    def _list(self, request: RestRequest) -> Reply:
        add_time = [
            (comparison, parse_filter_time(f"add_time__{comparison}", text))
            for comparison in ADD_TIME_COMPARISONS
            if (text := request.optional_text(f"add_time__{comparison}")) is not None
        ]
        found = self._archive.rows.matching(
            request.caller.view(request.optional_text("subaccount")),
            request.optional_text("call_uuid"),
            add_time,
        )
        return page_reply(request, [self._object(request.caller, r) for r in found])

    def _get(self, request: RestRequest) -> Reply:
        return Reply(body=self._object(request.caller, self._owned(request)))

    def _delete(self, request: RestRequest) -> Reply:
        self._archive.remove(self._owned(request).recording_id)
        return Reply(HTTPStatus.NO_CONTENT)

    def _owned(self, request: RestRequest) -> Recording:
        recording_id = request.text("recording_id")
        found = self._archive.rows.get(recording_id)
        return request.caller.reach(found, "recording", recording_id)

    def _object(self, caller: Caller, recording: Recording) -> JsonObject:
        return {
            "recording_id": recording.recording_id,
            "call_uuid": recording.call_uuid,
            "add_time": plivo_time(recording.add_time),
            "recording_url": self._archive.url_for(
                recording.recording_id, recording.recording_format
            ),
            "recording_format": recording.recording_format,
            "recording_type": recording.recording_type,
            "recording_duration_ms": str(recording.recording_duration_ms),
            "recording_start_ms": str(recording.recording_start_ms),
            "recording_end_ms": str(recording.recording_end_ms),
            # Whole minutes, in seconds, rounded up: what Plivo bills by.
            "rounded_recording_duration": 60 * math.ceil(recording.recording_duration_ms / 60_000),
            "conference_name": recording.conference_name,
            "resource_uri": caller.uri("Recording", recording.recording_id),
            "sub_account": recording.sub_account,
        }
