"""Number/ (plivo.md §4.2): the numbers we own. Several numbers from a carrier are added in one
request (comma-separated, all or none); a number is found however it is written (E.164 with
or without '+', with separators)."""

from http import HTTPStatus
from typing import cast

from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.page import PAGE_PARAMETERS, list_schema, page_reply
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.api.rest.timestamp import plivo_date
from mediaserver.clock import Clock
from mediaserver.store.numbers import (
    NUMBER_TYPES,
    Number,
    NumberChanges,
    SqliteNumbers,
    normalise_number,
)

# Plivo writes added_on as a date; we answer voice calls only (no messaging).
_NUMBER_FIELDS = {
    **dict.fromkeys(("number", "alias", "application", "carrier", "region"), "string"),
    **dict.fromkeys(("number_type", "added_on", "resource_uri"), "string"),
    **dict.fromkeys(("voice_enabled", "sms_enabled", "mms_enabled"), "boolean"),
    "app_id": "string?",
    "sub_account": "string?",
}


class NumberResource:
    def __init__(self, numbers: SqliteNumbers, clock: Clock) -> None:
        self._numbers = numbers
        self._clock = clock

    def routes(self) -> list[Route]:
        one = "Number/{number}/"
        return [
            Route(
                "POST",
                "Number/",
                self._create,
                "add numbers from an incoming carrier (comma-separated, all or none)",
                status=HTTPStatus.CREATED,
                parameters=(
                    *(Parameter(name, required=True) for name in ("numbers", "carrier", "region")),
                    Parameter("number_type", default="local", choices=NUMBER_TYPES),
                    *(Parameter(name) for name in ("app_id", "alias", "subaccount")),
                ),
                response=reply_schema(message="string", numbers="array"),
            ),
            Route(
                "GET",
                "Number/",
                self._list,
                "list our numbers",
                parameters=(
                    *PAGE_PARAMETERS,
                    Parameter("type", choices=NUMBER_TYPES),
                    *(Parameter(name) for name in ("number_startswith", "subaccount", "alias")),
                ),
                response=list_schema(object_schema(**_NUMBER_FIELDS)),
            ),
            Route("GET", one, self._get, "get a number", response=reply_schema(**_NUMBER_FIELDS)),
            Route(
                "POST",
                one,
                self._update,
                "change its application, alias or sub-account",
                status=HTTPStatus.ACCEPTED,
                parameters=tuple(Parameter(name) for name in ("app_id", "alias", "subaccount")),
                response=reply_schema(message="string"),
            ),
            Route("DELETE", one, self._delete, "give a number up", status=HTTPStatus.NO_CONTENT),
        ]

    def _create(self, request: RestRequest) -> Reply:
        sub_account = request.caller.scope_for(request.optional_text("subaccount"))
        now = self._clock.wall()
        added = self._numbers.add_all(
            [
                Number(
                    normalise_number(written),
                    request.optional_text("alias") or "",
                    request.optional_text("app_id") or None,
                    sub_account,
                    now,
                    request.text("carrier"),
                    request.text("region"),
                    request.text("number_type"),
                )
                for written in request.text("numbers").split(",")
            ]
        )
        return Reply(
            HTTPStatus.CREATED, {"message": "created", "numbers": [n.number for n in added]}
        )

    def _list(self, request: RestRequest) -> Reply:
        found = self._numbers.list(
            request.caller.view(request.optional_text("subaccount")),
            request.optional_text("type"),
            request.optional_text("number_startswith"),
            request.optional_text("alias"),
        )
        return page_reply(request, [_object(request.caller, number) for number in found])

    def _get(self, request: RestRequest) -> Reply:
        return Reply(body=_object(request.caller, self._owned(request)))

    def _update(self, request: RestRequest) -> Reply:
        number = self._owned(request)
        changes = cast(NumberChanges, request.given("alias"))
        if request.optional_text("app_id") is not None:
            changes["app_id"] = request.optional_text("app_id") or None  # '' detaches it
        if request.optional_text("subaccount") is not None:
            changes["sub_account"] = request.caller.scope_for(request.optional_text("subaccount"))
        self._numbers.update(number.number, changes)
        return Reply(HTTPStatus.ACCEPTED, {"message": "changed"})

    def _delete(self, request: RestRequest) -> Reply:
        self._numbers.remove(self._owned(request).number)
        return Reply(HTTPStatus.NO_CONTENT)

    def _owned(self, request: RestRequest) -> Number:
        written = request.text("number")
        return request.caller.reach(self._numbers.get(written), "number", written)


def _object(caller: Caller, number: Number) -> dict[str, object]:
    return {
        "number": number.number,
        "alias": number.alias,
        "app_id": number.app_id,
        "application": caller.uri("Application", number.app_id) if number.app_id else "",
        "carrier": number.carrier,
        "region": number.region,
        "number_type": number.number_type,
        "added_on": plivo_date(number.created_at),
        "resource_uri": caller.uri("Number", number.number),
        "voice_enabled": True,
        "sms_enabled": False,
        "mms_enabled": False,
        "sub_account": number.sub_account,
    }
