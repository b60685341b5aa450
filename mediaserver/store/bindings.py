"""Registrar bindings (RFC 3261 §10.3): address-of-record -> contact addresses, with expiry.

Expiry times are wall-clock seconds since the Unix epoch, so a binding outlives a restart of
the server exactly as long as the client was told.
"""

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Binding:
    username: str
    contact: str  # the Contact URI, as re-serialised by the parser (RFC 3261 §19.1.4)
    expires_at: float
    q: float | None
    call_id: str
    cseq: int
    transport: str  # "udp" | "tcp" | "ws" | "wss": how the REGISTER arrived
    source_host: str
    source_port: int
    user_agent: str = ""

    def expires_in(self, now: float) -> int:
        """Whole seconds left, for the Contact `expires` parameter of a 200 (§10.3 step 8)."""
        return max(0, round(self.expires_at - now))


class Bindings(Protocol):
    def for_user(self, username: str, now: float) -> list[Binding]:
        """The unexpired bindings of one user, oldest contact first."""
        ...

    def update(self, username: str, upserts: Sequence[Binding], removals: Sequence[str]) -> None:
        """Add or replace `upserts` and delete the `removals` contacts, all or nothing."""
        ...

    def remove_all(self, username: str) -> int: ...

    def remove_flow(self, transport: str, host: str, port: int) -> int:
        """Delete every binding registered over one connection (its source address)."""
        ...

    def remove_transports(self, transports: Sequence[str]) -> int:
        """Delete every binding registered over any of `transports`."""
        ...

    def remove_expired(self, now: float) -> int: ...

    def count(self, now: float) -> int: ...


_COLUMNS = (
    "username, contact, expires_at, q, call_id, cseq, transport, source_host, source_port,"
    " user_agent"
)
_DELETE = "DELETE FROM bindings WHERE username = ? AND contact = ?"
_UPSERT = (
    f"INSERT INTO bindings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (username, contact) DO UPDATE SET expires_at = excluded.expires_at,"
    " q = excluded.q, call_id = excluded.call_id, cseq = excluded.cseq,"
    " transport = excluded.transport, source_host = excluded.source_host,"
    " source_port = excluded.source_port, user_agent = excluded.user_agent"
)


class SqliteBindings:
    """The `bindings` table of migration 1; each update is one committed transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def for_user(self, username: str, now: float) -> list[Binding]:
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM bindings WHERE username = ? AND expires_at > ? ORDER BY rowid",
            (username, now),
        ).fetchall()
        return [Binding(*row) for row in rows]

    def update(self, username: str, upserts: Sequence[Binding], removals: Sequence[str]) -> None:
        deletions = [(username, contact) for contact in removals]
        insertions = [_row(binding) for binding in upserts]
        if len(deletions) + len(insertions) == 1:
            # One statement is atomic by itself (autocommit): the common refresh is one write.
            statement, rows = (_DELETE, deletions) if deletions else (_UPSERT, insertions)
            self._connection.execute(statement, rows[0])
            return
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._connection.executemany(_DELETE, deletions)
            self._connection.executemany(_UPSERT, insertions)
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def remove_all(self, username: str) -> int:
        cursor = self._connection.execute("DELETE FROM bindings WHERE username = ?", (username,))
        return cursor.rowcount

    def remove_flow(self, transport: str, host: str, port: int) -> int:
        cursor = self._connection.execute(
            "DELETE FROM bindings WHERE transport = ? AND source_host = ? AND source_port = ?",
            (transport, host, port),
        )
        return cursor.rowcount

    def remove_transports(self, transports: Sequence[str]) -> int:
        marks = ", ".join("?" * len(transports))
        cursor = self._connection.execute(
            f"DELETE FROM bindings WHERE transport IN ({marks})", tuple(transports)
        )
        return cursor.rowcount

    def remove_expired(self, now: float) -> int:
        cursor = self._connection.execute("DELETE FROM bindings WHERE expires_at <= ?", (now,))
        return cursor.rowcount

    def count(self, now: float) -> int:
        row = self._connection.execute(
            "SELECT COUNT(*) FROM bindings WHERE expires_at > ?", (now,)
        ).fetchone()
        return int(row[0])


def _row(binding: Binding) -> tuple[str, str, float, float | None, str, int, str, str, int, str]:
    return (
        binding.username,
        binding.contact,
        binding.expires_at,
        binding.q,
        binding.call_id,
        binding.cseq,
        binding.transport,
        binding.source_host,
        binding.source_port,
        binding.user_agent,
    )
