import hashlib

import pytest

from mediaserver.store.account_scope import one_account
from mediaserver.store.applications import (
    SqliteApplications,
    UnknownApplicationError,
    new_application,
)
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import EndpointExistsError, SqliteEndpoints
from mediaserver.store.errors import InvalidFieldError
from mediaserver.store.subaccounts import SqliteSubaccounts, new_subaccount


def test_password_is_kept_only_as_ha1() -> None:
    connection = open_database(":memory:")
    endpoint = SqliteEndpoints(connection).add("alice", "s3cret", "phone.local", "", None, 1.0)
    assert endpoint.ha1("MD5") == hashlib.md5(b"alice:phone.local:s3cret").hexdigest()
    assert endpoint.ha1("SHA-256") == hashlib.sha256(b"alice:phone.local:s3cret").hexdigest()
    stored = b"".join(
        str(value).encode()
        for row in connection.execute("SELECT * FROM endpoints")
        for value in row
    )
    assert b"s3cret" not in stored


def test_duplicate_username_is_refused() -> None:
    endpoints = SqliteEndpoints(open_database(":memory:"))
    endpoints.add("alice", "a", "phone.local", "", None, 1.0)
    with pytest.raises(EndpointExistsError):
        endpoints.add("alice", "b", "phone.local", "", None, 2.0)
    assert [e.username for e in endpoints.list()] == ["alice"]


@pytest.mark.parametrize(
    ("username", "password", "alias", "field"),
    [
        ("al ice", "p", "", "username"),
        ("alice@x", "p", "", "username"),
        ("", "p", "", "username"),
        ("a" * 65, "p", "", "username"),
        ("alice", "", "", "password"),
        ("alice", "p\n", "", "password"),
        ("alice", "p", "x" * 101, "alias"),
    ],
)
def test_bad_fields_are_refused_naming_them(
    username: str, password: str, alias: str, field: str
) -> None:
    endpoints = SqliteEndpoints(open_database(":memory:"))
    with pytest.raises(InvalidFieldError) as refused:
        endpoints.add(username, password, "phone.local", alias, None, 1.0)
    assert refused.value.field == field
    assert endpoints.list() == []


def test_update_by_id_changes_password_alias_and_application() -> None:
    connection = open_database(":memory:")
    endpoints = SqliteEndpoints(connection)
    added = endpoints.add("alice", "old", "phone.local", "A", None, 1.0)
    app = SqliteApplications(connection).add(new_application("a", "https://e.com/a"))
    updated = endpoints.update(added.endpoint_id, {"password": "new", "app_id": app.app_id})
    assert updated is not None
    assert (updated.alias, updated.app_id) == ("A", app.app_id)
    assert updated.ha1("MD5") == hashlib.md5(b"alice:phone.local:new").hexdigest()
    assert endpoints.by_id(added.endpoint_id) == updated
    assert endpoints.update("nope", {"alias": "x"}) is None
    with pytest.raises(UnknownApplicationError):
        endpoints.update(added.endpoint_id, {"app_id": "123"})
    assert endpoints.get("alice") == updated


def test_scope_and_removal_by_id() -> None:
    connection = open_database(":memory:")
    endpoints = SqliteEndpoints(connection)
    subaccount = SqliteSubaccounts(connection).add(new_subaccount("shop", True))
    mine = endpoints.add("bob", "p", "phone.local", "", None, 1.0, subaccount.auth_id)
    endpoints.add("alice", "p", "phone.local", "", None, 1.0)
    assert endpoints.list(one_account(subaccount.auth_id)) == [mine]
    assert [e.username for e in endpoints.list(one_account(None))] == ["alice"]
    assert endpoints.remove_by_id(mine.endpoint_id)
    assert not endpoints.remove_by_id(mine.endpoint_id)
