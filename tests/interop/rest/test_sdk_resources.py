"""The official `plivo` SDK, unchanged but for its base URIs, drives every resource through its
own methods against a running server; what it parses is what the store holds. Where the SDK
has no methods (carriers), plain HTTP does."""

import re
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import plivo
import pytest

from mediaserver.store.applications import SqliteApplications
from mediaserver.store.bindings import SqliteBindings
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.store.recordings import Recording, SqliteRecordings
from mediaserver.store.subaccounts import SqliteSubaccounts
from tests.conftest import ServerProcess
from tests.interop.phone import Phone
from tests.interop.rest.conftest import AUTH_ID, http

pytestmark = pytest.mark.interop

ANSWER = "https://app.example.com/answer"


@pytest.fixture
def store(rest_server: ServerProcess) -> Iterator[sqlite3.Connection]:
    connection = open_database(rest_server.database_path)
    yield connection
    connection.close()


def test_applications_through_the_sdk(client: plivo.RestClient, store: sqlite3.Connection) -> None:
    created = client.applications.create(
        app_name="ivr",
        answer_url=ANSWER,
        answer_method="GET",
        hangup_url="https://app.example.com/hangup",
        hangup_method="POST",
        fallback_answer_url="https://app.example.com/fallback",
        fallback_method="GET",
        message_url="https://app.example.com/message",
        message_method="GET",
        default_number_app=True,
        default_endpoint_app=False,
        public_uri=True,
    )
    assert created.message == "created"
    assert re.fullmatch(r"[0-9]{17}", created.app_id)
    held = SqliteApplications(store).get(created.app_id)
    assert held is not None
    got = client.applications.get(created.app_id)
    for field in (
        "app_name",
        "answer_url",
        "answer_method",
        "hangup_url",
        "fallback_answer_url",
        "fallback_method",
        "message_url",
        "message_method",
        "public_uri",
    ):
        assert getattr(got, field) == getattr(held, field), field
    assert (got.default_app, got.default_endpoint_app) == (True, False)
    assert got.sip_uri == f"sip:{created.app_id}@phone.local"
    assert got.resource_uri == f"/v1/Account/{AUTH_ID}/Application/{created.app_id}/"
    assert got.sub_account is None
    changed = client.applications.update(created.app_id, answer_url="https://app.example.com/b")
    assert changed.message == "changed"
    held = SqliteApplications(store).get(created.app_id)
    assert held is not None
    assert held.answer_url == "https://app.example.com/b"
    # The SDK's update sends its defaults: the number default is cleared, as on Plivo.
    assert not held.default_number_app
    named = client.applications.list(app_name="ivr")
    assert created.app_id in [application.app_id for application in named.objects]
    assert client.applications.delete(created.app_id) is None
    assert SqliteApplications(store).get(created.app_id) is None
    with pytest.raises(plivo.exceptions.ResourceNotFoundError, match="application"):
        client.applications.get(created.app_id)


def test_application_pages(client: plivo.RestClient) -> None:
    ids = [
        client.applications.create(app_name=f"page{n}", answer_url=ANSWER).app_id for n in range(5)
    ]
    first = client.applications.list(limit=2, offset=0, app_name=None)
    assert first.meta.limit == 2
    assert first.meta.total_count >= 5
    assert first.meta.next.startswith(f"/v1/Account/{AUTH_ID}/Application/?")
    assert "offset=2" in first.meta.next
    assert first.meta.previous is None
    seen = [
        a.app_id
        for offset in range(0, first.meta.total_count, 20)
        for a in client.applications.list(limit=20, offset=offset).objects
    ]
    assert set(ids) <= set(seen)
    assert len(seen) == len(set(seen)) == first.meta.total_count
    for app_id in ids:
        client.applications.delete(app_id)


def test_endpoints_through_the_sdk_with_a_live_registration(
    client: plivo.RestClient, store: sqlite3.Connection, rest_server: ServerProcess
) -> None:
    app_id = client.applications.create(app_name="phones", answer_url=ANSWER).app_id
    created = client.endpoints.create(
        username="carol", password="s3cret-pass", alias="Carol", app_id=app_id
    )
    assert re.fullmatch(r"carol[0-9]{12}", created.username)
    assert created.alias == "Carol"
    held = SqliteEndpoints(store).by_id(created.endpoint_id)
    assert held is not None
    assert (held.username, held.app_id) == (created.username, app_id)
    got = client.endpoints.get(created.endpoint_id)
    assert (got.username, got.alias, got.sip_registered) == (created.username, "Carol", "false")
    assert got.application == f"/v1/Account/{AUTH_ID}/Application/{app_id}/"
    assert got.sip_uri == f"sip:{created.username}@phone.local"
    assert "password" not in got.__dict__
    assert "s3cret-pass" not in str(got.__dict__)
    with Phone(created.username, rest_server.sip_port, password="s3cret-pass") as phone:
        phone.register()
        live = client.endpoints.get(created.endpoint_id)
        assert live.sip_registered == "true"
        assert re.fullmatch(
            rf"sip:{created.username}@127\.0\.0\.1:{phone.port}.*", live.sip_contact
        )
        [binding] = SqliteBindings(store).for_user(created.username, time.time())
        assert (live.sip_contact, live.sip_user_agent) == (binding.contact, binding.user_agent)
        expires = datetime.strptime(live.sip_expires, "%Y-%m-%d %H:%M:%S%z").timestamp()
        assert expires == int(binding.expires_at)
    client.endpoints.update(created.endpoint_id, alias="Caroline", password="n3w-pass")
    changed = SqliteEndpoints(store).by_id(created.endpoint_id)
    assert changed is not None
    assert changed.alias == "Caroline"
    assert changed.ha1_md5 != held.ha1_md5  # a new password, kept only as its HA1
    assert created.endpoint_id in [e.endpoint_id for e in client.endpoints.list().objects]
    client.endpoints.delete(created.endpoint_id)
    assert SqliteEndpoints(store).by_id(created.endpoint_id) is None
    client.applications.delete(app_id)


def test_numbers_through_the_sdk(
    client: plivo.RestClient, store: sqlite3.Connection, base_url: str
) -> None:
    carrier = http(
        base_url,
        "POST",
        f"/v1/Account/{AUTH_ID}/IncomingCarrier/",
        {"name": "numbers-trunk", "addresses": "192.0.2.0/24"},
    )
    assert carrier.status == 201
    carrier_id = str(carrier.body["carrier_id"])
    app_id = client.applications.create(app_name="numbers", answer_url=ANSWER).app_id
    added = client.numbers.create(
        numbers="+1 415 555 0100,14155550101",
        carrier=carrier_id,
        region="California",
        number_type="local",
        app_id=app_id,
    )
    assert added.numbers == ["14155550100", "14155550101"]
    got = client.numbers.get("14155550100")
    held = SqliteNumbers(store).get("14155550100")
    assert held is not None
    assert (got.number, got.carrier, got.region, got.number_type, got.app_id) == (
        held.number,
        carrier_id,
        "California",
        "local",
        app_id,
    )
    client.numbers.update("14155550100", alias="support", app_id="")
    held = SqliteNumbers(store).get("14155550100")
    assert held is not None
    assert (held.alias, held.app_id) == ("support", None)
    listed = client.numbers.list(number_startswith="1415555", type="local")
    assert [n.number for n in listed.objects] == ["14155550100", "14155550101"]
    assert [n.number for n in client.numbers.list(alias="support").objects] == ["14155550100"]
    client.numbers.delete("14155550100")
    client.numbers.delete("14155550101")
    assert SqliteNumbers(store).list(number_startswith="1415555") == []
    client.applications.delete(app_id)
    assert (
        http(base_url, "DELETE", f"/v1/Account/{AUTH_ID}/IncomingCarrier/{carrier_id}/").status
        == 204
    )


def test_carriers_over_http(base_url: str, store: sqlite3.Connection) -> None:
    root = f"/v1/Account/{AUTH_ID}/OutgoingCarrier/"
    created = http(
        base_url,
        "POST",
        root,
        {
            "name": "trunk",
            "address": "203.0.113.5:5060",
            "prefix": "9",
            "retries": 2,
            "retry_seconds": "1.5",
        },
    )
    assert created.status == 201
    one = f"{root}{created.body['carrier_id']}/"
    got = http(base_url, "GET", one).body
    assert {
        k: got[k] for k in ("name", "address", "prefix", "retries", "retry_seconds", "enabled")
    } == {
        "name": "trunk",
        "address": "203.0.113.5:5060",
        "prefix": "9",
        "retries": 2,
        "retry_seconds": 1.5,
        "enabled": True,
    }
    assert http(base_url, "POST", one, {"enabled": False, "suffix": "#"}).status == 202
    assert http(base_url, "GET", one).body["enabled"] is False
    refused = http(base_url, "POST", one, {"address": "a b"})
    assert (refused.status, str(refused.body["error"]).split(":")[0]) == (400, "address")
    assert http(base_url, "GET", one).body["address"] == "203.0.113.5:5060"
    assert http(base_url, "DELETE", one).status == 204
    assert http(base_url, "GET", one).status == 404


def _recording(
    store: sqlite3.Connection, directory: Path, recording_id: str, add_time: float
) -> bytes:
    """A recording as the Record verb leaves one: its file in place, then its row."""
    data = b"RIFF" + recording_id.encode() * 10
    (directory / "recordings").mkdir(exist_ok=True)
    (directory / "recordings" / f"{recording_id}.wav").write_bytes(data)
    row = Recording(
        recording_id,
        f"call-{recording_id[0]}",
        "wav",
        "call",
        f"{recording_id}.wav",
        61_000,
        1_000,
        62_000,
        add_time,
    )
    SqliteRecordings(store).add(row)
    return data


def test_recordings_through_the_sdk(
    client: plivo.RestClient, store: sqlite3.Connection, rest_server: ServerProcess
) -> None:
    first = _recording(store, rest_server.directory, "a" * 32, 1_700_000_000.0)
    _recording(store, rest_server.directory, "b" * 32, 1_700_000_100.0)
    listed = client.recordings.list(call_uuid="call-a")
    assert [r.recording_id for r in listed.objects] == ["a" * 32]
    window = client.recordings.list(
        add_time__gt="2023-11-14 22:13:20", add_time__lte="2023-11-14 22:15:00"
    )
    assert [r.recording_id for r in window.objects] == ["b" * 32]
    got = client.recordings.get("a" * 32)
    assert (got.recording_duration_ms, got.recording_start_ms, got.rounded_recording_duration) == (
        "61000",
        "1000",
        120,
    )
    assert got.add_time == "2023-11-14 22:13:20+00:00"
    with urllib.request.urlopen(got.recording_url, timeout=5) as reply:
        assert reply.read() == first  # the signed link the XML callbacks hand out
    client.recordings.delete("a" * 32)
    assert SqliteRecordings(store).get("a" * 32) is None
    assert not (rest_server.directory / "recordings" / f"{'a' * 32}.wav").exists()
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        client.recordings.get("a" * 32)
    client.recordings.delete("b" * 32)


def test_subaccounts_through_the_sdk(
    client: plivo.RestClient, sdk_for: type[plivo.RestClient], store: sqlite3.Connection
) -> None:
    created = client.subaccounts.create(name="shop", enabled=True)
    assert re.fullmatch(r"SA[A-Z0-9]{18}", created.auth_id)
    held = SqliteSubaccounts(store).get(created.auth_id)
    assert held is not None
    assert held.auth_token == created.auth_token
    got = client.subaccounts.get(created.auth_id)
    assert (got.name, got.enabled, got.auth_token) == ("shop", True, created.auth_token)
    assert created.auth_id in [s.auth_id for s in client.subaccounts.list().objects]
    sub = sdk_for(created.auth_id, created.auth_token)
    assert sub.applications.list().objects == []
    client.subaccounts.update(created.auth_id, name="shop2", enabled=False)
    assert SqliteSubaccounts(store).get(created.auth_id).name == "shop2"  # type: ignore[union-attr]
    # An error answering a list call trips the SDK's own list parsing, so these create.
    with pytest.raises(plivo.exceptions.ForbiddenError, match="disabled"):
        sub.applications.create(app_name="x", answer_url=ANSWER)
    client.subaccounts.delete(created.auth_id, cascade=True)
    assert SqliteSubaccounts(store).get(created.auth_id) is None
    with pytest.raises(plivo.exceptions.AuthenticationError):
        sub.applications.create(app_name="x", answer_url=ANSWER)
