"""Application/ (plivo.md §4.2): create, get, list, update, delete. The fields and their
checks are the store's (`store/applications.py`), shared with the command line."""

from http import HTTPStatus
from typing import cast

from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.page import PAGE_PARAMETERS, list_schema, page_reply
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.store.applications import (
    HTTP_METHODS,
    Application,
    ApplicationChanges,
    ApplicationOptions,
    SqliteApplications,
    new_application,
)

_URLS = ("hangup_url", "fallback_answer_url", "message_url")
_METHODS = ("answer_method", "hangup_method", "fallback_method", "message_method")
_FLAGS = ("default_number_app", "default_endpoint_app", "public_uri")
_OPTIONS = (*_URLS, *_METHODS, *_FLAGS)
_FIELDS = (
    *(Parameter(name) for name in _URLS),
    *(Parameter(name, choices=HTTP_METHODS) for name in _METHODS),
    *(Parameter(name, "boolean") for name in _FLAGS),
    Parameter("subaccount", description="the sub-account (auth_id) it belongs to"),
    Parameter(
        "log_incoming_messages",
        "boolean",
        description="accepted as the SDK sends it; this server handles no messages",
    ),
)
_APPLICATION_FIELDS = {
    **dict.fromkeys(("app_id", "app_name", "answer_url", *_URLS, *_METHODS), "string"),
    **dict.fromkeys(("default_app", "default_endpoint_app", "enabled", "public_uri"), "boolean"),
    "resource_uri": "string",
    "sip_uri": "string",
    "sub_account": "string?",
}
_CHANGED = reply_schema(message="string")


class ApplicationResource:
    def __init__(self, applications: SqliteApplications, sip_domain: str) -> None:
        self._applications = applications
        self._sip_domain = sip_domain

    def routes(self) -> list[Route]:
        one = "Application/{app_id}/"
        required = (Parameter("app_name", required=True), Parameter("answer_url", required=True))
        removal = (
            Parameter("cascade", "boolean", default=False, description="delete its endpoints"),
            Parameter("new_endpoint_application", description="what its endpoints get instead"),
        )
        return [
            Route(
                "POST",
                "Application/",
                self._create,
                "create an application",
                status=HTTPStatus.CREATED,
                parameters=(*required, *_FIELDS),
                response=reply_schema(app_id="string", message="string"),
            ),
            Route(
                "GET",
                "Application/",
                self._list,
                "list applications",
                parameters=(*PAGE_PARAMETERS, Parameter("subaccount"), Parameter("app_name")),
                response=list_schema(object_schema(**_APPLICATION_FIELDS)),
            ),
            Route(
                "GET",
                one,
                self._get,
                "get an application",
                response=reply_schema(**_APPLICATION_FIELDS),
            ),
            Route(
                "POST",
                one,
                self._update,
                "change the fields given",
                status=HTTPStatus.ACCEPTED,
                parameters=(Parameter("app_name"), Parameter("answer_url"), *_FIELDS),
                response=_CHANGED,
            ),
            Route(
                "DELETE",
                one,
                self._delete,
                "delete an application",
                status=HTTPStatus.NO_CONTENT,
                parameters=removal,
            ),
        ]

    def _create(self, request: RestRequest) -> Reply:
        sub_account = request.caller.scope_for(request.optional_text("subaccount"))
        options = cast(ApplicationOptions, {**request.given(*_OPTIONS), "sub_account": sub_account})
        application = new_application(
            request.text("app_name"), request.text("answer_url"), **options
        )
        self._applications.add(application)
        return Reply(HTTPStatus.CREATED, {"app_id": application.app_id, "message": "created"})

    def _list(self, request: RestRequest) -> Reply:
        scope = request.caller.view(request.optional_text("subaccount"))
        found = self._applications.list(scope, request.optional_text("app_name"))
        return page_reply(request, [self._object(request.caller, app) for app in found])

    def _get(self, request: RestRequest) -> Reply:
        return Reply(body=self._object(request.caller, self._owned(request)))

    def _update(self, request: RestRequest) -> Reply:
        self._owned(request)
        changes = cast(ApplicationChanges, request.given("app_name", "answer_url", *_OPTIONS))
        if request.optional_text("subaccount") is not None:
            changes["sub_account"] = request.caller.scope_for(request.optional_text("subaccount"))
        self._applications.update(request.text("app_id"), **changes)
        return Reply(HTTPStatus.ACCEPTED, {"message": "changed"})

    def _delete(self, request: RestRequest) -> Reply:
        application = self._owned(request)
        cascade = request.optional_boolean("cascade") is True
        successor = request.optional_text("new_endpoint_application")
        self._applications.remove(application.app_id, cascade, successor)
        return Reply(HTTPStatus.NO_CONTENT)

    def _owned(self, request: RestRequest) -> Application:
        app_id = request.text("app_id")
        return request.caller.reach(self._applications.get(app_id), "application", app_id)

    def _object(self, caller: Caller, application: Application) -> dict[str, object]:
        fields = {name: getattr(application, name) for name in (*_URLS, *_METHODS)}
        return {
            **fields,
            "app_id": application.app_id,
            "app_name": application.app_name,
            "answer_url": application.answer_url,
            "default_app": application.default_number_app,
            "default_endpoint_app": application.default_endpoint_app,
            "enabled": True,
            "public_uri": application.public_uri,
            "resource_uri": caller.uri("Application", application.app_id),
            "sip_uri": f"sip:{application.app_id}@{self._sip_domain}",
            "sub_account": application.sub_account,
        }
