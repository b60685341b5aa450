import hashlib

import pytest

from mediaserver.store.database import open_database
from mediaserver.store.endpoints import EndpointExistsError, SqliteEndpoints


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
