"""Applications: Plivo's fields and defaults, one validation, one default per account and
kind, and deletion that detaches the endpoints and numbers using the application."""

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from mediaserver.store.account_scope import one_account
from mediaserver.store.applications import (
    Application,
    InvalidApplicationError,
    SqliteApplications,
    UnknownApplicationError,
    new_application,
)
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.store.errors import InvalidFieldError
from mediaserver.store.migrations import MIGRATIONS
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.store.subaccounts import SqliteSubaccounts, new_subaccount

ANSWER = "https://app.example.com/answer"


@pytest.fixture
def connection() -> sqlite3.Connection:
    return open_database(":memory:")


def test_add_fills_plivo_defaults_and_gives_a_numeric_app_id(
    connection: sqlite3.Connection,
) -> None:
    applications = SqliteApplications(connection)
    added = applications.add(new_application("ivr", ANSWER, now=7.0))
    assert added.app_id.isdigit()
    assert len(added.app_id) == 17
    assert added == Application(added.app_id, "ivr", ANSWER, created_at=7.0)
    assert (added.answer_method, added.hangup_method) == ("POST", "POST")
    assert (added.fallback_method, added.message_method) == ("POST", "POST")
    assert (added.hangup_url, added.fallback_answer_url, added.message_url) == ("", "", "")
    assert applications.get(added.app_id) == added
    assert applications.list() == [added]
    assert applications.add(new_application("other", ANSWER)).app_id != added.app_id


def add_subaccount(connection: sqlite3.Connection, auth_id: str) -> None:
    subaccount = dataclasses.replace(new_subaccount("sub", True), auth_id=auth_id)
    SqliteSubaccounts(connection).add(subaccount)


def test_every_field_round_trips(connection: sqlite3.Connection) -> None:
    add_subaccount(connection, "SA00000000000000000A")
    applications = SqliteApplications(connection)
    added = applications.add(new_application(
        "full", "http://10.0.0.1:8000/a?x=1", answer_method="GET",
        hangup_url="https://h.example/h", hangup_method="GET",
        fallback_answer_url="https://f.example/f", fallback_method="GET",
        message_url="https://m.example/m", message_method="GET",
        default_number_app=True, default_endpoint_app=True, public_uri=True,
        sub_account="SA00000000000000000A", now=1.0,
    ))  # fmt: skip
    assert applications.get(added.app_id) == added
    assert applications.default_number_app("SA00000000000000000A") == added
    assert applications.default_endpoint_app("SA00000000000000000A") == added
    assert applications.default_endpoint_app() is None  # the main account has none


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"answer_url": "ftp://example.com/x"}, "answer_url"),
        ({"answer_url": "/answer"}, "answer_url"),
        ({"answer_url": "example.com/answer"}, "answer_url"),
        ({"answer_url": "https:///nohost"}, "answer_url"),
        ({"answer_url": "http://host:port/x"}, "answer_url"),
        ({"answer_url": "http://exa mple.com/"}, "answer_url"),
        ({"answer_url": ""}, "answer_url"),
        ({"app_name": " "}, "app_name"),
        ({"hangup_url": "mailto:a@b"}, "hangup_url"),
        ({"fallback_answer_url": "//x.example/f"}, "fallback_answer_url"),
        ({"message_url": "x"}, "message_url"),
        ({"answer_method": "PUT"}, "answer_method"),
        ({"hangup_method": "get"}, "hangup_method"),
        ({"fallback_method": ""}, "fallback_method"),
        ({"message_method": "DELETE"}, "message_method"),
    ],
)
def test_bad_fields_are_refused_by_name_and_nothing_is_written(
    connection: sqlite3.Connection, fields: dict[str, str], field: str
) -> None:
    applications = SqliteApplications(connection)
    arguments = {"app_name": "app", "answer_url": ANSWER, **fields}
    with pytest.raises(InvalidApplicationError) as refused:
        applications.add(new_application(**arguments))  # type: ignore[arg-type]
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert applications.list() == []


def test_update_changes_only_what_is_given_and_validates_the_result(
    connection: sqlite3.Connection,
) -> None:
    applications = SqliteApplications(connection)
    added = applications.add(new_application("ivr", ANSWER, hangup_url="https://h.example/h"))
    updated = applications.update(added.app_id, answer_method="GET", app_name="menu")
    assert (updated.app_name, updated.answer_method) == ("menu", "GET")
    assert (updated.answer_url, updated.hangup_url) == (ANSWER, "https://h.example/h")
    assert applications.get(added.app_id) == updated
    with pytest.raises(InvalidApplicationError, match="hangup_url"):
        applications.update(added.app_id, hangup_url="nowhere")
    assert applications.get(added.app_id) == updated
    cleared = applications.update(added.app_id, hangup_url="")
    assert cleared.hangup_url == ""
    with pytest.raises(UnknownApplicationError, match="no application 123"):
        applications.update("123", app_name="x")


def test_one_default_of_each_kind_per_account(connection: sqlite3.Connection) -> None:
    applications = SqliteApplications(connection)
    first = applications.add(
        new_application("first", ANSWER, default_endpoint_app=True, default_number_app=True)
    )
    second = applications.add(new_application("second", ANSWER, default_endpoint_app=True))
    assert applications.default_endpoint_app() == second
    assert applications.default_number_app() == applications.get(first.app_id)
    refreshed = applications.get(first.app_id)
    assert refreshed is not None
    assert not refreshed.default_endpoint_app
    assert refreshed.default_number_app
    applications.update(first.app_id, default_endpoint_app=True)
    endpoint_default = applications.default_endpoint_app()
    assert endpoint_default is not None
    assert endpoint_default.app_id == first.app_id
    assert not applications.get(second.app_id).default_endpoint_app  # type: ignore[union-attr]
    add_subaccount(connection, "SA1")
    other = applications.add(
        new_application("sub", ANSWER, default_number_app=True, sub_account="SA1")
    )
    main_default = applications.default_number_app()  # other accounts keep theirs
    assert main_default is not None
    assert main_default.app_id == first.app_id
    assert applications.default_number_app("SA1") == other


def test_the_database_itself_refuses_two_defaults(connection: sqlite3.Connection) -> None:
    applications = SqliteApplications(connection)
    applications.add(new_application("first", ANSWER, default_number_app=True))
    second = applications.add(new_application("second", ANSWER))
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute(
            "UPDATE applications SET default_number_app = 1 WHERE app_id = ?", (second.app_id,)
        )


def test_remove_detaches_endpoints_and_numbers(connection: sqlite3.Connection) -> None:
    applications = SqliteApplications(connection)
    endpoints, numbers = SqliteEndpoints(connection), SqliteNumbers(connection)
    gone = applications.add(new_application("gone", ANSWER))
    kept = applications.add(new_application("kept", ANSWER))
    endpoints.add("alice", "pw", "phone.local", "", gone.app_id, 1.0)
    endpoints.add("bob", "pw", "phone.local", "", kept.app_id, 1.0)
    numbers.add("15550001111", app_id=gone.app_id)
    assert applications.remove(gone.app_id)
    assert applications.get(gone.app_id) is None
    assert [(e.username, e.app_id) for e in endpoints.list()] == [
        ("alice", None),
        ("bob", kept.app_id),
    ]
    assert [n.app_id for n in numbers.list()] == [None]
    assert not applications.remove(gone.app_id)


def test_remove_is_one_transaction(connection: sqlite3.Connection) -> None:
    """A delete that fails part-way leaves the endpoints attached."""
    applications = SqliteApplications(connection)
    app = applications.add(new_application("app", ANSWER))
    SqliteEndpoints(connection).add("alice", "pw", "phone.local", "", app.app_id, 1.0)
    connection.execute(
        "CREATE TRIGGER refuse BEFORE DELETE ON applications BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        applications.remove(app.app_id)
    assert SqliteEndpoints(connection).get("alice").app_id == app.app_id  # type: ignore[union-attr]
    assert not connection.in_transaction


def test_endpoints_and_numbers_refuse_an_unknown_app_id(connection: sqlite3.Connection) -> None:
    endpoints, numbers = SqliteEndpoints(connection), SqliteNumbers(connection)
    with pytest.raises(UnknownApplicationError, match="no application 42"):
        endpoints.add("alice", "pw", "phone.local", "", "42", 1.0)
    with pytest.raises(UnknownApplicationError, match="no application 42"):
        numbers.add("15550001111", app_id="42")
    assert endpoints.list() == []
    assert numbers.list() == []


def test_app_ids_set_before_applications_existed_are_cleared(tmp_path: Path) -> None:
    """Migration 4: such ids named nothing; Plivo's 'no application' is an empty app_id."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:3], start=1):
        old.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    old.execute("INSERT INTO numbers VALUES ('15550001111', 'alice', 'app1', NULL, 1.0)")
    old.close()
    migrated = SqliteNumbers(open_database(path)).get("15550001111")
    assert migrated is not None
    assert (migrated.alias, migrated.app_id) == ("alice", None)


def test_list_filters_by_account_and_name(connection: sqlite3.Connection) -> None:
    add_subaccount(connection, "SA1")
    applications = SqliteApplications(connection)
    main = applications.add(new_application("ivr", ANSWER))
    sub = applications.add(new_application("ivr", ANSWER, sub_account="SA1"))
    other = applications.add(new_application("other", ANSWER))
    assert applications.list() == [main, sub, other]
    assert applications.list(one_account("SA1")) == [sub]
    assert applications.list(one_account(None)) == [main, other]
    assert applications.list(app_name="ivr") == [main, sub]


@pytest.mark.parametrize("cascade", [True, False])
def test_remove_cascades_or_hands_endpoints_over(
    connection: sqlite3.Connection, cascade: bool
) -> None:
    applications = SqliteApplications(connection)
    old = applications.add(new_application("old", ANSWER))
    new = applications.add(new_application("new", ANSWER))
    endpoints = SqliteEndpoints(connection)
    endpoints.add("alice", "p", "phone.local", "", old.app_id, 1.0)
    assert applications.remove(old.app_id, cascade, None if cascade else new.app_id)
    alice = endpoints.get("alice")
    if cascade:
        assert alice is None
    else:
        assert alice is not None
        assert alice.app_id == new.app_id


def test_successor_must_exist_and_differ(connection: sqlite3.Connection) -> None:
    applications = SqliteApplications(connection)
    old = applications.add(new_application("old", ANSWER))
    with pytest.raises(UnknownApplicationError):
        applications.remove(old.app_id, False, "123")
    with pytest.raises(InvalidFieldError):
        applications.remove(old.app_id, False, old.app_id)
    assert applications.get(old.app_id) == old
