import sqlite3
from pathlib import Path

import pytest

from mediaserver.store.bindings import Binding, SqliteBindings
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints


def binding(contact: str, expires_at: float = 100.0, cseq: int = 1, **changes: object) -> Binding:
    values: dict[str, object] = {
        "username": "alice",
        "contact": contact,
        "expires_at": expires_at,
        "q": None,
        "call_id": "call-1",
        "cseq": cseq,
        "transport": "udp",
        "source_host": "127.0.0.1",
        "source_port": 5070,
        "user_agent": "test",
    }
    values.update(changes)
    return Binding(**values)  # type: ignore[arg-type]


@pytest.fixture
def connection() -> sqlite3.Connection:
    connection = open_database(":memory:")
    endpoints = SqliteEndpoints(connection)
    endpoints.add("alice", "pw", "phone.local", "", None, 0.0)
    endpoints.add("bob", "pw", "phone.local", "", None, 0.0)
    return connection


def test_update_adds_replaces_and_removes(connection: sqlite3.Connection) -> None:
    bindings = SqliteBindings(connection)
    bindings.update("alice", [binding("sip:a@h1"), binding("sip:a@h2", q=0.5)], [])
    bindings.update("alice", [binding("sip:a@h1", expires_at=200.0, cseq=2)], ["sip:a@h2"])
    assert bindings.for_user("alice", now=0.0) == [binding("sip:a@h1", expires_at=200.0, cseq=2)]


def test_expired_bindings_are_hidden_then_swept(connection: sqlite3.Connection) -> None:
    bindings = SqliteBindings(connection)
    bindings.update("alice", [binding("sip:a@h1", 50.0), binding("sip:a@h2", 150.0)], [])
    bindings.update("bob", [binding("sip:b@h", 50.0, username="bob")], [])
    assert [b.contact for b in bindings.for_user("alice", now=100.0)] == ["sip:a@h2"]
    assert bindings.count(now=100.0) == 1
    assert bindings.remove_expired(now=100.0) == 2
    assert connection.execute("SELECT COUNT(*) FROM bindings").fetchone()[0] == 1


def test_failed_update_changes_nothing(connection: sqlite3.Connection) -> None:
    bindings = SqliteBindings(connection)
    bindings.update("alice", [binding("sip:a@h1")], [])
    unknown_user = binding("sip:x@h", username="nobody")
    with pytest.raises(sqlite3.IntegrityError):
        bindings.update("alice", [binding("sip:a@h2"), unknown_user], ["sip:a@h1"])
    assert [b.contact for b in bindings.for_user("alice", now=0.0)] == ["sip:a@h1"]


def test_remove_all_and_cascade_on_endpoint_removal(connection: sqlite3.Connection) -> None:
    bindings = SqliteBindings(connection)
    bindings.update("alice", [binding("sip:a@h1"), binding("sip:a@h2")], [])
    bindings.update("bob", [binding("sip:b@h", username="bob")], [])
    assert bindings.remove_all("alice") == 2
    SqliteEndpoints(connection).remove("bob")
    assert bindings.count(now=0.0) == 0


def test_bindings_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    first = open_database(path)
    SqliteEndpoints(first).add("alice", "pw", "phone.local", "", None, 0.0)
    SqliteBindings(first).update("alice", [binding("sip:a@h1")], [])
    first.close()
    assert SqliteBindings(open_database(path)).for_user("alice", now=0.0) == [binding("sip:a@h1")]


def test_single_removal_and_single_refresh(connection: sqlite3.Connection) -> None:
    bindings = SqliteBindings(connection)
    bindings.update("alice", [binding("sip:a@h1"), binding("sip:a@h2")], [])
    bindings.update("alice", [], ["sip:a@h1"])
    bindings.update("alice", [binding("sip:a@h2", expires_at=300.0, cseq=3)], [])
    assert bindings.for_user("alice", now=0.0) == [binding("sip:a@h2", expires_at=300.0, cseq=3)]


def test_bindings_of_one_connection_removed_together(connection: sqlite3.Connection) -> None:
    bindings = SqliteBindings(connection)
    flow = {"transport": "ws", "source_host": "127.0.0.1", "source_port": 40000}
    other_flow = {**flow, "source_port": 40001}
    bindings.update(
        "alice", [binding("sip:a@x.invalid", **flow), binding("sip:a@h", **other_flow)], []
    )
    bindings.update("bob", [binding("sip:b@h", username="bob")], [])
    assert bindings.remove_flow("ws", "127.0.0.1", 40000) == 1
    assert bindings.remove_flow("udp", "127.0.0.1", 40001) == 0  # same port, another transport
    assert [b.contact for b in bindings.for_user("alice", now=0.0)] == ["sip:a@h"]
    assert bindings.remove_transports(["ws", "wss"]) == 1
    assert [b.contact for b in bindings.for_user("bob", now=0.0)] == ["sip:b@h"]
