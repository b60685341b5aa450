"""The REST API on aiohttp: every declared `Route` under /v1/Account/{auth_id}/, and the
OpenAPI document at /v1/openapi.json.

For each request, in order: an api_id; the caller from HTTP Basic (401, or 403 for a disabled
sub-account); the URL's auth_id must be the caller's (403); the account's rate (429); the
route's scope (403); the parameters, from the query string for GET and from the JSON body
(and query string) otherwise, parsed by the route's declarations (400 naming the field); then
the handler. The store's refusals (invalid, unknown or taken values) are a 400 naming the
field; an ApiError becomes Plivo's `{"api_id", "error"}` with its 4xx; anything else is
a server fault: logged, and the one 500.
"""

import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus

from aiohttp import web

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.caller import Authenticator, Caller
from mediaserver.api.rest.openapi import ACCOUNT_PREFIX, openapi_document
from mediaserver.api.rest.parameter import parse_parameters
from mediaserver.api.rest.rate_limit import RateLimiter
from mediaserver.api.rest.route import Reply, RestRequest, Route
from mediaserver.store.errors import AlreadyExistsError, InvalidFieldError, UnknownReferenceError

logger = logging.getLogger(__name__)

OPENAPI_PATH = "/v1/openapi.json"
# Requests are a few parameters; anything larger is a mistake or an attack (413).
MAX_REQUEST_BYTES = 64 * 1024
_WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RestApi:
    def __init__(
        self, routes: Sequence[Route], authenticator: Authenticator, limiter: RateLimiter
    ) -> None:
        self._routes = tuple(routes)
        self._authenticator = authenticator
        self._limiter = limiter
        self._document = openapi_document(self._routes, "mediaserver REST API", "1")
        self._answered = {"requests": 0, "answered_2xx": 0, "refused_4xx": 0, "faults_5xx": 0}

    def statistics(self) -> dict[str, int]:
        """Requests through declared routes, by how they were answered (/metrics)."""
        return {**self._answered, **self._limiter.statistics()}

    def routes(self) -> list[web.RouteDef]:
        declared = [
            web.route(route.method, ACCOUNT_PREFIX + route.path, self._endpoint(route))
            for route in self._routes
        ]
        return [web.get(OPENAPI_PATH, self._openapi), *declared]

    @web.middleware
    async def errors_middleware(
        self, request: web.Request, handler: _WebHandler
    ) -> web.StreamResponse:
        """Plivo's error body for what aiohttp refuses before a route runs (unknown path,
        method, oversized body) under /v1/; other paths are left as they are."""
        try:
            return await handler(request)
        except web.HTTPException as refused:
            own_body = refused.content_type == "application/json"
            if not request.path.startswith("/v1/") or refused.status < 400 or own_body:
                raise
            return _error(str(uuid.uuid4()), ApiError(refused.status, refused.reason.lower()))

    async def _openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self._document)

    def _endpoint(self, route: Route) -> _WebHandler:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            response = await self._answer(route, request)
            self._answered["requests"] += 1
            kind = {2: "answered_2xx", 4: "refused_4xx"}.get(response.status // 100, "faults_5xx")
            self._answered[kind] += 1
            return response

        return endpoint

    async def _answer(self, route: Route, request: web.Request) -> web.StreamResponse:
        api_id = str(uuid.uuid4())
        try:
            reply = await self._dispatch(route, request)
        except ApiError as refused:
            return _error(api_id, refused)
        except (InvalidFieldError, UnknownReferenceError, AlreadyExistsError) as refused:
            return _error(api_id, ApiError.invalid(refused.field, refused.problem))
        except web.HTTPRequestEntityTooLarge:
            return _error(
                api_id, ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
            )
        except Exception:
            logger.exception("REST %s %s failed (api_id %s)", request.method, request.path, api_id)
            return _error(api_id, ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"))
        if reply.body is None:
            return web.Response(status=reply.status)
        return web.json_response({"api_id": api_id, **reply.body}, status=reply.status)

    async def _dispatch(self, route: Route, request: web.Request) -> Reply:
        caller = self._caller(request)
        route.admit(caller)
        path_values = {
            name: value for name, value in request.match_info.items() if name != "auth_id"
        }
        received = _without_path_values(await _received(request), path_values)
        values = parse_parameters(route.parameters, received)
        rest_request = RestRequest(caller, path_values, values, request.path, dict(request.query))
        result = route.handler(rest_request)
        return await result if inspect.isawaitable(result) else result

    def _caller(self, request: web.Request) -> Caller:
        caller = self._authenticator.authenticate(request.headers.get("Authorization", ""))
        if request.match_info["auth_id"] != caller.auth_id:
            raise ApiError.forbidden("the auth_id in the URL is not the caller's")
        if not self._limiter.admit(caller.auth_id):
            raise ApiError(HTTPStatus.TOO_MANY_REQUESTS, "too many requests: 300 per 5 s")
        return caller


async def _received(request: web.Request) -> Mapping[str, object]:
    """GET: the query string. Otherwise the JSON body (the SDK sends one on DELETE too) over
    the query string; an empty body is no parameters."""
    received: dict[str, object] = dict(request.query)
    if request.method == "GET":
        return received
    body = await request.read()
    if not body.strip():
        return received
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(HTTPStatus.BAD_REQUEST, "the request body is not JSON") from None
    if not isinstance(parsed, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
    return {**received, **parsed}


def _without_path_values(
    received: Mapping[str, object], path_values: Mapping[str, str]
) -> Mapping[str, object]:
    """The SDK repeats the URL's id among the parameters of some calls (endpoints.get sends
    endpoint_id, applications.delete app_id): accepted when it agrees with the URL."""
    for name, value in path_values.items():
        if name in received and str(received[name]) != value:
            raise ApiError.invalid(name, "differs from the one in the URL")
    return {name: value for name, value in received.items() if name not in path_values}


def _error(api_id: str, refused: ApiError) -> web.Response:
    # RFC 9110 §11.6.1: a 401 names the scheme that would be accepted.
    challenge = {"WWW-Authenticate": 'Basic realm="mediaserver"'}
    headers = challenge if refused.status == HTTPStatus.UNAUTHORIZED else None
    body = {"api_id": api_id, "error": refused.error}
    return web.json_response(body, status=refused.status, headers=headers)
