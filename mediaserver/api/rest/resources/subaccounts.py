"""Subaccount/ (the SDK's `client.subaccounts`): create with a generated `SA` auth_id and
token, get, list, update, delete (with Plivo's `cascade`). The main account only."""

from http import HTTPStatus

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.page import PAGE_PARAMETERS, list_schema, page_reply
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import JsonObject, Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.api.rest.timestamp import plivo_time
from mediaserver.clock import Clock
from mediaserver.store.subaccounts import SqliteSubaccounts, Subaccount, new_subaccount

_SUBACCOUNT_FIELDS = {
    **dict.fromkeys(("account", "auth_id", "auth_token", "name", "resource_uri"), "string"),
    **dict.fromkeys(("created", "modified"), "string"),
    "enabled": "boolean",
}
# The SDK repeats the sub-account's id among the parameters of update and delete.
_REPEATED_ID = Parameter("auth_id", description="the sub-account's auth_id again, if sent")


class SubaccountResource:
    def __init__(self, subaccounts: SqliteSubaccounts, clock: Clock) -> None:
        self._subaccounts = subaccounts
        self._clock = clock

    def routes(self) -> list[Route]:
        one = "Subaccount/{subaccount_id}/"
        return [
            Route(
                "POST",
                "Subaccount/",
                self._create,
                "create a sub-account",
                status=HTTPStatus.CREATED,
                parameters=(Parameter("name", required=True), Parameter("enabled", "boolean")),
                response=reply_schema(auth_id="string", auth_token="string", message="string"),
                scope="main",
            ),
            Route(
                "GET",
                "Subaccount/",
                self._list,
                "list sub-accounts",
                parameters=PAGE_PARAMETERS,
                response=list_schema(object_schema(**_SUBACCOUNT_FIELDS)),
                scope="main",
            ),
            Route(
                "GET",
                one,
                self._get,
                "get a sub-account",
                response=reply_schema(**_SUBACCOUNT_FIELDS),
                scope="main",
            ),
            Route(
                "POST",
                one,
                self._update,
                "rename, enable or disable a sub-account",
                status=HTTPStatus.ACCEPTED,
                parameters=(
                    Parameter("name", required=True),
                    Parameter("enabled", "boolean"),
                    _REPEATED_ID,
                ),
                response=reply_schema(message="string"),
                scope="main",
            ),
            Route(
                "DELETE",
                one,
                self._delete,
                "delete a sub-account",
                status=HTTPStatus.NO_CONTENT,
                parameters=(
                    Parameter("cascade", "boolean", description="delete its resources too"),
                    _REPEATED_ID,
                ),
                scope="main",
            ),
        ]

    def _create(self, request: RestRequest) -> Reply:
        enabled = request.optional_boolean("enabled") is True
        subaccount = new_subaccount(request.text("name"), enabled, now=self._clock.wall())
        self._subaccounts.add(subaccount)
        body = {"auth_id": subaccount.auth_id, "auth_token": subaccount.auth_token}
        return Reply(HTTPStatus.CREATED, {**body, "message": "created"})

    def _list(self, request: RestRequest) -> Reply:
        found = self._subaccounts.list()
        return page_reply(request, [_object(request.caller, s) for s in found])

    def _get(self, request: RestRequest) -> Reply:
        return Reply(body=_object(request.caller, self._found(request)))

    def _update(self, request: RestRequest) -> Reply:
        subaccount = self._found(request)
        # Plivo's update sets `enabled` as sent, false when it is not (the SDK's default).
        enabled = request.optional_boolean("enabled") is True
        self._subaccounts.update(
            subaccount.auth_id, request.text("name"), enabled, now=self._clock.wall()
        )
        return Reply(HTTPStatus.ACCEPTED, {"message": "changed"})

    def _delete(self, request: RestRequest) -> Reply:
        subaccount = self._found(request)
        self._subaccounts.remove(subaccount.auth_id, request.optional_boolean("cascade") is True)
        return Reply(HTTPStatus.NO_CONTENT)

    def _found(self, request: RestRequest) -> Subaccount:
        auth_id = request.text("subaccount_id")
        repeated = request.optional_text("auth_id") if "auth_id" in request.values else None
        if repeated is not None and repeated != auth_id:
            raise ApiError.invalid("auth_id", "differs from the one in the URL")
        subaccount = self._subaccounts.get(auth_id)
        if subaccount is None:
            raise ApiError.not_found("sub-account", auth_id)
        return subaccount


def _object(caller: Caller, subaccount: Subaccount) -> JsonObject:
    return {
        "account": caller.uri(),
        "auth_id": subaccount.auth_id,
        "auth_token": subaccount.auth_token,
        "name": subaccount.name,
        "enabled": subaccount.enabled,
        "created": plivo_time(subaccount.created_at),
        "modified": plivo_time(subaccount.modified_at),
        "resource_uri": caller.uri("Subaccount", subaccount.auth_id),
    }
