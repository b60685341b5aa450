"""The OpenAPI 3.0 document of the REST API, written from the same `Route` declarations the
dispatcher validates requests with (served at /v1/openapi.json)."""

from collections.abc import Sequence

from mediaserver.api.rest.route import JsonObject, Route
from mediaserver.api.rest.schema import ERROR_SCHEMA

ACCOUNT_PREFIX = "/v1/Account/{auth_id}/"
# Every route can refuse with these (bad input, credentials, scope, unknown id, method, size,
# rate); each has Plivo's error body.
_ERRORS = {
    "400": "a parameter is missing or invalid (the error names it)",
    "401": "no or wrong credentials",
    "403": "the URL's account is not the caller's, or outside its scope",
    "404": "no such resource",
    "405": "method not allowed",
    "413": "request body too large",
    "429": "too many requests (300 per 5 s per account)",
}


def openapi_document(routes: Sequence[Route], title: str, version: str) -> JsonObject:
    paths: dict[str, dict[str, object]] = {}
    for route in routes:
        paths.setdefault(ACCOUNT_PREFIX + route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"basic": []}],
    }


def _operation(route: Route) -> JsonObject:
    operation: dict[str, object] = {
        "operationId": _operation_id(route),
        "summary": route.summary,
        "parameters": _path_parameters(route),
        "responses": {str(route.status): _success(route), **_error_responses()},
    }
    if route.method == "GET":
        operation["parameters"] = [*_path_parameters(route), *_query_parameters(route)]
    elif route.parameters:
        operation["requestBody"] = _request_body(route)
    return operation


def _operation_id(route: Route) -> str:
    words = [part.strip("{}") for part in route.path.split("/") if part]
    return "_".join([route.method.lower(), *words])


def _path_parameters(route: Route) -> list[JsonObject]:
    names = ("auth_id", *route.path_parameters)
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


def _query_parameters(route: Route) -> list[JsonObject]:
    return [
        {
            "name": parameter.name,
            "in": "query",
            "required": parameter.required,
            "description": parameter.description,
            "schema": parameter.json_schema(),
        }
        for parameter in route.parameters
    ]


def _request_body(route: Route) -> JsonObject:
    schema = {
        "type": "object",
        "properties": {parameter.name: parameter.json_schema() for parameter in route.parameters},
        "required": [parameter.name for parameter in route.parameters if parameter.required],
        "additionalProperties": False,
    }
    if not schema["required"]:
        del schema["required"]
    required = any(parameter.required for parameter in route.parameters)
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _success(route: Route) -> JsonObject:
    if route.response is None:
        return {"description": "done"}
    return {
        "description": route.summary,
        "content": {"application/json": {"schema": route.response}},
    }


def _error_responses() -> dict[str, JsonObject]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {status: {"description": text, "content": error} for status, text in _ERRORS.items()}
