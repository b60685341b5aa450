"""Endpoint/ (plivo.md §4.2): SIP users. The username gets Plivo's creation-time suffix; a GET
shows the live registration (the registrar's bindings); passwords are never returned, the
store keeps only their digest HA1s."""

import time
from http import HTTPStatus
from typing import Protocol, cast

from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.page import PAGE_PARAMETERS, list_schema, page_reply
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.api.rest.timestamp import plivo_time
from mediaserver.clock import Clock
from mediaserver.store.bindings import Binding
from mediaserver.store.endpoints import Endpoint, EndpointChanges, SqliteEndpoints

_ENDPOINT_FIELDS = {
    **dict.fromkeys(("endpoint_id", "username", "alias", "application", "resource_uri"), "string"),
    **dict.fromkeys(("sip_uri", "sip_registered", "sip_contact", "sip_expires"), "string"),
    "sip_user_agent": "string",
    "sub_account": "string?",
}


class Registrations(Protocol):
    """The registrar's live bindings of a user (calls/registrar.py)."""

    def contacts_for(self, username: str) -> list[Binding]: ...


class EndpointResource:
    def __init__(
        self,
        endpoints: SqliteEndpoints,
        registrations: Registrations,
        clock: Clock,
        sip_domain: str,
    ) -> None:
        self._endpoints = endpoints
        self._registrations = registrations
        self._clock = clock
        self._sip_domain = sip_domain

    def routes(self) -> list[Route]:
        one = "Endpoint/{endpoint_id}/"
        fields = (Parameter("password"), Parameter("alias"), Parameter("app_id"))
        return [
            Route(
                "POST",
                "Endpoint/",
                self._create,
                "create a SIP user (its username gets a yymmddHHMMSS suffix)",
                status=HTTPStatus.CREATED,
                parameters=(
                    *(Parameter(name, required=True) for name in ("username", "password", "alias")),
                    Parameter("app_id"),
                    Parameter("subaccount"),
                ),
                response=reply_schema(
                    username="string", alias="string", endpoint_id="string", message="string"
                ),
            ),
            Route(
                "GET",
                "Endpoint/",
                self._list,
                "list SIP users",
                parameters=(*PAGE_PARAMETERS, Parameter("subaccount")),
                response=list_schema(object_schema(**_ENDPOINT_FIELDS)),
            ),
            Route(
                "GET", one, self._get, "get a SIP user", response=reply_schema(**_ENDPOINT_FIELDS)
            ),
            Route(
                "POST",
                one,
                self._update,
                "change password, alias or application",
                status=HTTPStatus.ACCEPTED,
                parameters=fields,
                response=reply_schema(message="string"),
            ),
            Route("DELETE", one, self._delete, "delete a SIP user", status=HTTPStatus.NO_CONTENT),
        ]

    def _create(self, request: RestRequest) -> Reply:
        now = self._clock.wall()
        # Plivo appends the creation time (UTC) to the username asked for.
        username = request.text("username") + time.strftime("%y%m%d%H%M%S", time.gmtime(now))
        endpoint = self._endpoints.add(
            username,
            request.text("password"),
            self._sip_domain,
            request.text("alias"),
            request.optional_text("app_id"),
            now,
            request.caller.scope_for(request.optional_text("subaccount")),
        )
        body = {"username": username, "alias": endpoint.alias, "endpoint_id": endpoint.endpoint_id}
        return Reply(HTTPStatus.CREATED, {**body, "message": "created"})

    def _list(self, request: RestRequest) -> Reply:
        found = self._endpoints.list(request.caller.view(request.optional_text("subaccount")))
        return page_reply(request, [self._object(request.caller, e) for e in found])

    def _get(self, request: RestRequest) -> Reply:
        return Reply(body=self._object(request.caller, self._owned(request)))

    def _update(self, request: RestRequest) -> Reply:
        endpoint = self._owned(request)
        changes = cast(EndpointChanges, request.given("password", "alias", "app_id"))
        self._endpoints.update(endpoint.endpoint_id, changes)
        return Reply(HTTPStatus.ACCEPTED, {"message": "changed"})

    def _delete(self, request: RestRequest) -> Reply:
        self._endpoints.remove_by_id(self._owned(request).endpoint_id)
        return Reply(HTTPStatus.NO_CONTENT)

    def _owned(self, request: RestRequest) -> Endpoint:
        endpoint_id = request.text("endpoint_id")
        return request.caller.reach(self._endpoints.by_id(endpoint_id), "endpoint", endpoint_id)

    def _object(self, caller: Caller, endpoint: Endpoint) -> dict[str, object]:
        application = caller.uri("Application", endpoint.app_id) if endpoint.app_id else ""
        return {
            "endpoint_id": endpoint.endpoint_id,
            "username": endpoint.username,
            "alias": endpoint.alias,
            "application": application,
            "resource_uri": caller.uri("Endpoint", endpoint.endpoint_id),
            "sip_uri": f"sip:{endpoint.username}@{self._sip_domain}",
            "sub_account": endpoint.sub_account,
            **self._registration(endpoint.username),
        }

    def _registration(self, username: str) -> dict[str, str]:
        """Plivo's sip_* fields from the newest live binding (strings, "true"/"false")."""
        bindings = self._registrations.contacts_for(username)
        if not bindings:
            return {
                "sip_registered": "false",
                "sip_contact": "",
                "sip_expires": "",
                "sip_user_agent": "",
            }
        newest = bindings[-1]
        return {
            "sip_registered": "true",
            "sip_contact": newest.contact,
            "sip_expires": plivo_time(newest.expires_at),
            "sip_user_agent": newest.user_agent,
        }
