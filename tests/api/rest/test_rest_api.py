"""The dispatcher over a few toy routes, through aiohttp's own test client: credentials,
scope, parameters, Plivo's error bodies and status codes, pagination, size and rate limits,
and the OpenAPI document written from the same declarations."""

import base64
import sqlite3
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.caller import Authenticator
from mediaserver.api.rest.page import PAGE_PARAMETERS, list_schema, page_reply
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.rate_limit import RateLimit, RateLimiter
from mediaserver.api.rest.rest_api import MAX_REQUEST_BYTES, RestApi
from mediaserver.api.rest.route import Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.clock import ManualClock
from mediaserver.store.database import open_database
from mediaserver.store.errors import InvalidFieldError
from mediaserver.store.subaccounts import SqliteSubaccounts, new_subaccount

MAIN = ("MA00000000000000000A", "main-token-123")
THINGS = [{"n": str(index)} for index in range(45)]


def basic(auth_id: str, token: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{auth_id}:{token}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def create(request: RestRequest) -> Reply:
    if request.text("name") == "taken":
        raise InvalidFieldError("name", "already taken")
    body = {"name": request.text("name"), "count": request.integer("count")}
    return Reply(201, {**body, "flag": request.optional_boolean("flag")})


def get_thing(request: RestRequest) -> Reply:
    raise ApiError.not_found("thing", request.text("thing_id"))


def broken(request: RestRequest) -> Reply:
    raise RuntimeError("a bug")


async def remove(request: RestRequest) -> Reply:
    return Reply(204) if request.optional_boolean("cascade") else Reply(200, {"kept": True})


ROUTES = [
    Route(
        "GET",
        "Thing/",
        lambda request: page_reply(request, THINGS),
        "list things",
        parameters=PAGE_PARAMETERS,
        response=list_schema(object_schema(n="string")),
    ),
    Route(
        "POST",
        "Thing/",
        create,
        "create a thing",
        status=201,
        parameters=(
            Parameter("name", required=True),
            Parameter("count", "integer", default=1),
            Parameter("flag", "boolean"),
        ),
        response=reply_schema(name="string", count="integer", flag="boolean?"),
    ),
    Route("GET", "Thing/{thing_id}/", get_thing, "get a thing"),
    Route(
        "DELETE",
        "Thing/{thing_id}/",
        remove,
        "delete",
        parameters=(Parameter("cascade", "boolean"),),
    ),
    Route("GET", "Broken/", broken, "always fails"),
    Route("GET", "Operator/", lambda request: Reply(body={}), "main only", scope="main"),
]


@pytest.fixture
def database() -> sqlite3.Connection:
    return open_database(":memory:")


@pytest.fixture
def rest(database: sqlite3.Connection) -> RestApi:
    authenticator = Authenticator(*MAIN, SqliteSubaccounts(database))
    limiter = RateLimiter(RateLimit(requests=50, window_seconds=60), ManualClock())
    return RestApi(ROUTES, authenticator, limiter)


@pytest.fixture
async def client(rest: RestApi) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    application = web.Application(
        middlewares=[rest.errors_middleware], client_max_size=MAX_REQUEST_BYTES
    )
    application.router.add_routes(rest.routes())
    async with TestClient(TestServer(application)) as test_client:
        yield test_client


URL = f"/v1/Account/{MAIN[0]}/Thing/"


def assert_error(body: dict[str, object], *words: str) -> None:
    assert set(body) == {"api_id", "error"}
    uuid.UUID(str(body["api_id"]))
    for word in words:
        assert word in str(body["error"])


async def test_created_with_json_types_or_strings(
    client: TestClient[web.Request, web.Application],
) -> None:
    for payload in (
        {"name": "a", "count": 3, "flag": True},
        {"name": "a", "count": "3", "flag": "true"},
    ):
        response = await client.post(URL, json=payload, headers=basic(*MAIN))
        body = await response.json()
        assert response.status == 201
        uuid.UUID(body.pop("api_id"))
        assert body == {"name": "a", "count": 3, "flag": True}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({}, ("name parameter is missing",)),
        ({"name": "a", "count": "x"}, ("count", "integer")),
        ({"name": "a", "colour": "red"}, ("colour", "not a parameter")),
        ({"name": "taken"}, ("name: already taken",)),
    ],
)
async def test_bad_parameters_are_400_naming_the_field(
    client: TestClient[web.Request, web.Application],
    payload: dict[str, object],
    words: tuple[str, ...],
) -> None:
    response = await client.post(URL, json=payload, headers=basic(*MAIN))
    assert response.status == 400
    assert_error(await response.json(), *words)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
async def test_body_that_is_not_a_json_object_is_400(
    client: TestClient[web.Request, web.Application], body: bytes
) -> None:
    response = await client.post(URL, data=body, headers=basic(*MAIN))
    assert response.status == 400
    assert_error(await response.json(), "JSON")


async def test_credentials(
    client: TestClient[web.Request, web.Application], database: sqlite3.Connection
) -> None:
    anonymous = await client.get(URL)
    assert anonymous.status == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="mediaserver"'
    assert (await client.get(URL, headers={"Authorization": "Basic !!!"})).status == 401
    assert (await client.get(URL, headers=basic(MAIN[0], "wrong"))).status == 401
    other = "/v1/Account/MA99999999999999999Z/Thing/"
    response = await client.get(other, headers=basic(*MAIN))
    assert response.status == 403
    assert_error(await response.json(), "auth_id")
    store = SqliteSubaccounts(database)
    subaccount = store.add(new_subaccount("shop", False))
    own = f"/v1/Account/{subaccount.auth_id}/Thing/"
    assert (
        await client.get(own, headers=basic(subaccount.auth_id, subaccount.auth_token))
    ).status == 403
    store.update(subaccount.auth_id, "shop", True)
    assert (
        await client.get(own, headers=basic(subaccount.auth_id, subaccount.auth_token))
    ).status == 200
    operator = f"/v1/Account/{subaccount.auth_id}/Operator/"
    assert (
        await client.get(operator, headers=basic(subaccount.auth_id, subaccount.auth_token))
    ).status == 403
    assert (
        await client.get(f"/v1/Account/{MAIN[0]}/Operator/", headers=basic(*MAIN))
    ).status == 200


async def test_pages(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get(URL, params={"limit": "20", "offset": "20"}, headers=basic(*MAIN))
    body = await response.json()
    assert [thing["n"] for thing in body["objects"]] == [str(n) for n in range(20, 40)]
    assert body["meta"] == {
        "limit": 20,
        "offset": 20,
        "total_count": 45,
        "next": f"{URL}?limit=20&offset=40",
        "previous": f"{URL}?limit=20&offset=0",
    }
    first = await (await client.get(URL, headers=basic(*MAIN))).json()
    assert (first["meta"]["previous"], first["meta"]["limit"]) == (None, 20)
    last = await (await client.get(URL, params={"offset": "40"}, headers=basic(*MAIN))).json()
    assert (len(last["objects"]), last["meta"]["next"]) == (5, None)
    refused = await client.get(URL, params={"limit": "21"}, headers=basic(*MAIN))
    assert refused.status == 400


async def test_delete_takes_a_json_body_and_answers_204(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.delete(f"{URL}7/", json={"cascade": True}, headers=basic(*MAIN))
    assert (response.status, await response.read()) == (204, b"")
    kept = await client.delete(f"{URL}7/", json={}, headers=basic(*MAIN))
    assert (kept.status, (await kept.json())["kept"]) == (200, True)


async def test_not_found_method_size_and_faults_are_plivo_errors(
    client: TestClient[web.Request, web.Application],
) -> None:
    for response, status in (
        (await client.get(f"{URL}7/", headers=basic(*MAIN)), 404),
        (await client.get(f"/v1/Account/{MAIN[0]}/Nothing/", headers=basic(*MAIN)), 404),
        (await client.put(URL, headers=basic(*MAIN)), 405),
        (
            await client.post(
                URL, data=b"{" + b" " * MAX_REQUEST_BYTES + b"}", headers=basic(*MAIN)
            ),
            413,
        ),
        (await client.get(f"/v1/Account/{MAIN[0]}/Broken/", headers=basic(*MAIN)), 500),
    ):
        assert response.status == status
        assert_error(await response.json())


async def test_rate_limit_is_429(client: TestClient[web.Request, web.Application]) -> None:
    statuses = [(await client.get(URL, headers=basic(*MAIN))).status for _ in range(51)]
    assert statuses == [200] * 50 + [429]


async def test_openapi_describes_every_route(
    client: TestClient[web.Request, web.Application],
) -> None:
    document = await (await client.get("/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.0")
    thing = document["paths"]["/v1/Account/{auth_id}/Thing/"]
    assert set(thing) == {"get", "post"}
    body = thing["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name"]
    assert body["properties"]["count"] == {"type": "integer", "maximum": 2**63 - 1}
    limit = next(p for p in thing["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 20}
    assert "201" in thing["post"]["responses"]
    assert "thing_id" in str(document["paths"]["/v1/Account/{auth_id}/Thing/{thing_id}/"])


async def test_statistics_count_answers_by_class(
    client: TestClient[web.Request, web.Application], rest: RestApi
) -> None:
    await client.get(URL, headers=basic(*MAIN))
    await client.get(URL)
    await client.get(f"/v1/Account/{MAIN[0]}/Broken/", headers=basic(*MAIN))
    statistics = rest.statistics()
    assert statistics["requests"] == 3
    assert (statistics["answered_2xx"], statistics["refused_4xx"], statistics["faults_5xx"]) == (
        1,
        1,
        1,
    )
