"""Sub-accounts through the SDK: each works in its own scope and nothing outside it, for every
resource type; the main account sees everything. Bad requests get Plivo's 4xx naming the
field, and nothing is half-written."""

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import plivo
import pytest

from mediaserver.store.applications import SqliteApplications
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.store.recordings import Recording, SqliteRecordings
from tests.conftest import ServerProcess
from tests.interop.rest.conftest import AUTH_ID, http

pytestmark = pytest.mark.interop

ANSWER = "https://app.example.com/answer"


@dataclass
class Owned:
    """One sub-account's credentials and one resource of each type it owns."""

    auth_id: str
    auth_token: str
    client: plivo.RestClient
    app_id: str
    endpoint_id: str
    number: str
    recording_id: str


@pytest.fixture
def store(rest_server: ServerProcess) -> Iterator[sqlite3.Connection]:
    connection = open_database(rest_server.database_path)
    yield connection
    connection.close()


@pytest.fixture
def carrier_id(base_url: str) -> str:
    created = http(
        base_url,
        "POST",
        f"/v1/Account/{AUTH_ID}/IncomingCarrier/",
        {"name": f"iso-{id(base_url)}", "addresses": "198.51.100.1"},
    )
    return str(created.body["carrier_id"])


def owner(
    client: plivo.RestClient,
    sdk_for: Callable[..., plivo.RestClient],
    store: sqlite3.Connection,
    carrier_id: str,
    number: str,
) -> Owned:
    account = client.subaccounts.create(name=f"owner{number}", enabled=True)
    own = sdk_for(account.auth_id, account.auth_token)
    app_id = own.applications.create(app_name="mine", answer_url=ANSWER).app_id
    endpoint = own.endpoints.create(
        username=f"u{number}", password="pass-word", alias="a", app_id=app_id
    )
    own.numbers.create(numbers=number, carrier=carrier_id, region="r", app_id=app_id)
    recording_id = f"{number:0>32}"
    SqliteRecordings(store).add(
        Recording(
            recording_id,
            "call",
            "wav",
            "call",
            f"{recording_id}.wav",
            1000,
            0,
            1000,
            1.0,
            sub_account=account.auth_id,
        )
    )
    return Owned(
        account.auth_id, account.auth_token, own, app_id, endpoint.endpoint_id, number, recording_id
    )


def test_a_sub_account_reaches_nothing_of_another_account(
    client: plivo.RestClient,
    sdk_for: Callable[..., plivo.RestClient],
    store: sqlite3.Connection,
    carrier_id: str,
    base_url: str,
) -> None:
    alice = owner(client, sdk_for, store, carrier_id, "15550007001")
    bob = owner(client, sdk_for, store, carrier_id, "15550007002")
    theirs = bob.client
    # Lists show their own resources only.
    assert [a.app_id for a in theirs.applications.list().objects] == [bob.app_id]
    assert [e.endpoint_id for e in theirs.endpoints.list().objects] == [bob.endpoint_id]
    assert [n.number for n in theirs.numbers.list().objects] == [bob.number]
    assert [r.recording_id for r in theirs.recordings.list().objects] == [bob.recording_id]
    # Reading, changing or deleting another account's resource: 404, as if it did not exist.
    not_found = plivo.exceptions.ResourceNotFoundError
    for attempt in (
        lambda: theirs.applications.get(alice.app_id),
        lambda: theirs.applications.update(alice.app_id, answer_url="https://evil.example/"),
        lambda: theirs.applications.delete(alice.app_id),
        lambda: theirs.endpoints.get(alice.endpoint_id),
        lambda: theirs.endpoints.update(alice.endpoint_id, password="taken-over"),
        lambda: theirs.endpoints.delete(alice.endpoint_id),
        lambda: theirs.numbers.get(alice.number),
        lambda: theirs.numbers.update(alice.number, alias="mine now"),
        lambda: theirs.numbers.delete(alice.number),
        lambda: theirs.recordings.get(alice.recording_id),
        lambda: theirs.recordings.delete(alice.recording_id),
    ):
        with pytest.raises(not_found):
            attempt()
    # Using another account's application, or acting for another account: refused.
    with pytest.raises(plivo.exceptions.ValidationError, match="app_id"):
        theirs.endpoints.create(username="x", password="pass-word", alias="x", app_id=alice.app_id)
    with pytest.raises(plivo.exceptions.ValidationError, match="app_id"):
        theirs.numbers.update(bob.number, app_id=alice.app_id)
    with pytest.raises(plivo.exceptions.ForbiddenError, match="subaccount"):
        theirs.applications.create(app_name="x", answer_url=ANSWER, subaccount=alice.auth_id)
    # Operator resources and another account's URL: 403.
    for path in (
        "IncomingCarrier/",
        "OutgoingCarrier/",
        "Subaccount/",
        f"IncomingCarrier/{carrier_id}/",
    ):
        reply = http(
            base_url,
            "GET",
            f"/v1/Account/{bob.auth_id}/{path}",
            credentials=(bob.auth_id, bob.auth_token),
        )
        assert reply.status == 403, path
    with pytest.raises(plivo.exceptions.ForbiddenError):
        theirs.subaccounts.create(name="nested", enabled=True)
    stolen = http(
        base_url,
        "GET",
        f"/v1/Account/{alice.auth_id}/Application/",
        credentials=(bob.auth_id, bob.auth_token),
    )
    assert stolen.status == 403
    # Alice's resources are untouched; the main account sees both accounts'.
    application = SqliteApplications(store).get(alice.app_id)
    endpoint = SqliteEndpoints(store).by_id(alice.endpoint_id)
    number = SqliteNumbers(store).get(alice.number)
    assert application is not None
    assert application.answer_url == ANSWER
    assert endpoint is not None
    assert endpoint.sub_account == alice.auth_id
    assert number is not None
    assert (number.alias, number.app_id) == ("", alice.app_id)
    assert SqliteRecordings(store).get(alice.recording_id) is not None
    everyone = {a.app_id for a in client.applications.list(limit=20).objects}
    assert {alice.app_id, bob.app_id} <= everyone
    only_alice = client.applications.list(subaccount=alice.auth_id).objects
    assert [(a.app_id, a.sub_account) for a in only_alice] == [(alice.app_id, alice.auth_id)]
    for account in (alice, bob):
        client.subaccounts.delete(account.auth_id, cascade=True)
    assert SqliteApplications(store).get(alice.app_id) is None


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("Application/", {"app_name": "x"}, 400, "answer_url parameter is missing"),
        ("Application/", {"app_name": "x", "answer_url": "ftp://x"}, 400, "answer_url:"),
        (
            "Application/",
            {"app_name": "x", "answer_url": ANSWER, "default_number_app": "maybe"},
            400,
            "default_number_app:",
        ),
        (
            "Application/",
            {"app_name": "x", "answer_url": ANSWER, "answer_method": "PUT"},
            400,
            "answer_method:",
        ),
        (
            "Application/",
            {"app_name": "x", "answer_url": ANSWER, "subaccount": "SA000000000000000000"},
            400,
            "subaccount:",
        ),
        ("Application/", {"app_name": 7, "answer_url": ANSWER}, 400, "app_name:"),
        ("Endpoint/", {"username": "a b", "password": "p", "alias": "a"}, 400, "username:"),
        (
            "Endpoint/",
            {"username": "ab", "password": "p", "alias": "a", "app_id": "1"},
            400,
            "app_id:",
        ),
        ("Endpoint/", {"username": "ab", "alias": "a"}, 400, "password parameter is missing"),
        ("Number/", {"numbers": "1555,x", "carrier": "c", "region": "r"}, 400, "number:"),
        ("OutgoingCarrier/", {"name": "t", "address": "h", "retries": "many"}, 400, "retries:"),
        ("OutgoingCarrier/", {"name": "t", "address": "h", "retries": -1}, 400, "retries:"),
        ("Application/123/", {"answer_url": ANSWER}, 404, "application 123"),
        ("Subaccount/", {"name": ""}, 400, "name:"),
    ],
)
def test_bad_requests_are_4xx_naming_the_field_and_write_nothing(
    base_url: str,
    store: sqlite3.Connection,
    path: str,
    body: dict[str, object],
    status: int,
    words: str,
) -> None:
    before = [store.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _TABLES]
    reply = http(base_url, "POST", f"/v1/Account/{AUTH_ID}/{path}", body)
    assert (reply.status, set(reply.body)) == (status, {"api_id", "error"})
    assert words in str(reply.body["error"])
    after = [store.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _TABLES]
    assert after == before


_TABLES = ("applications", "endpoints", "numbers", "outgoing_carriers", "subaccounts")


def test_a_batch_of_numbers_is_all_or_nothing(
    client: plivo.RestClient, store: sqlite3.Connection, carrier_id: str
) -> None:
    client.numbers.create(numbers="15550008001", carrier=carrier_id, region="r")
    with pytest.raises(plivo.exceptions.ValidationError, match="15550008001 already exists"):
        client.numbers.create(numbers="15550008002,15550008001", carrier=carrier_id, region="r")
    assert SqliteNumbers(store).get("15550008002") is None
    client.numbers.delete("15550008001")


def test_bad_credentials_and_unknown_ids(
    sdk_for: Callable[..., plivo.RestClient], client: plivo.RestClient
) -> None:
    wrong = sdk_for(AUTH_ID, "not-the-token")
    with pytest.raises(plivo.exceptions.AuthenticationError, match="auth_token"):
        wrong.applications.create(app_name="x", answer_url=ANSWER)
    unknown = sdk_for("SA" + "Z" * 18, "whatever-token")
    with pytest.raises(plivo.exceptions.AuthenticationError):
        unknown.endpoints.create(username="x", password="pass-word", alias="x")
    for attempt in (
        lambda: client.endpoints.get("0" * 20),
        lambda: client.recordings.delete("f" * 32),
        lambda: client.numbers.get("19999999999"),
        lambda: client.subaccounts.get("SA" + "0" * 18),
    ):
        with pytest.raises(plivo.exceptions.ResourceNotFoundError):
            attempt()
