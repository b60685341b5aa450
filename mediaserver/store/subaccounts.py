"""Sub-accounts (Plivo's Subaccount resource): their own auth_id and auth_token, and a scope.

Every application, endpoint, number and recording names the sub-account it belongs to in its
sub_account column (NULL: the main account's). Plivo's ids are `SA` and 18 capitals or digits
(the SDK refuses any other on the client side, plivo.md §4); tokens are 40 letters and digits.
"""

import secrets
import sqlite3
import string
import time
from dataclasses import dataclass, fields

from mediaserver.store.database import immediate_transaction
from mediaserver.store.errors import InvalidFieldError, UnknownReferenceError

AUTH_ID_LENGTH = 18
AUTH_TOKEN_LENGTH = 40
NAME_MAX_LENGTH = 100
_ID_ALPHABET = string.ascii_uppercase + string.digits
_TOKEN_ALPHABET = string.ascii_letters + string.digits
# Resources a sub-account owns, each with a sub_account column.
OWNED_TABLES = ("applications", "endpoints", "numbers", "recordings")


@dataclass(frozen=True, slots=True)
class Subaccount:
    auth_id: str
    name: str
    auth_token: str
    enabled: bool
    created_at: float
    modified_at: float

    def __post_init__(self) -> None:
        check_name(self.name)


def check_name(name: str) -> None:
    if not name.strip():
        raise InvalidFieldError("name", "must not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidFieldError("name", f"must be at most {NAME_MAX_LENGTH} characters")


def new_subaccount(name: str, enabled: bool, *, now: float | None = None) -> Subaccount:
    created_at = time.time() if now is None else now
    auth_id = "SA" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(AUTH_ID_LENGTH))
    token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(AUTH_TOKEN_LENGTH))
    return Subaccount(auth_id, name, token, enabled, created_at, created_at)


_COLUMNS = tuple(field.name for field in fields(Subaccount))


class UnknownSubaccountError(UnknownReferenceError):
    def __init__(self, auth_id: str) -> None:
        super().__init__("subaccount", auth_id, "sub-account")


def require_subaccount(connection: sqlite3.Connection, auth_id: str | None) -> None:
    """UnknownSubaccountError unless `auth_id` is None (the main account) or a sub-account:
    what a resource given to a sub-account checks, inside the transaction that writes it."""
    if auth_id is None:
        return
    found = connection.execute("SELECT 1 FROM subaccounts WHERE auth_id = ?", (auth_id,))
    if found.fetchone() is None:
        raise UnknownSubaccountError(auth_id)


class SqliteSubaccounts:
    """The `subaccounts` table of migration 6."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add(self, subaccount: Subaccount) -> Subaccount:
        placeholders = ", ".join("?" * len(_COLUMNS))
        with immediate_transaction(self._connection):
            self._connection.execute(
                f"INSERT INTO subaccounts ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                _row(subaccount),
            )
        return subaccount

    def get(self, auth_id: str) -> Subaccount | None:
        row = self._connection.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM subaccounts WHERE auth_id = ?", (auth_id,)
        ).fetchone()
        return None if row is None else _subaccount(row)

    def list(self) -> list[Subaccount]:
        rows = self._connection.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM subaccounts ORDER BY created_at, auth_id"
        ).fetchall()
        return [_subaccount(row) for row in rows]

    def update(self, auth_id: str, name: str, enabled: bool, *, now: float | None = None) -> bool:
        check_name(name)
        cursor = self._connection.execute(
            "UPDATE subaccounts SET name = ?, enabled = ?, modified_at = ? WHERE auth_id = ?",
            (name, int(enabled), time.time() if now is None else now, auth_id),
        )
        return cursor.rowcount > 0

    def remove(self, auth_id: str, cascade: bool) -> bool:
        """Plivo's `cascade`: its resources go with it, else they pass to the main account."""
        with immediate_transaction(self._connection):
            for table in OWNED_TABLES:
                statement = (
                    f"DELETE FROM {table} WHERE sub_account = ?"
                    if cascade
                    else f"UPDATE {table} SET sub_account = NULL WHERE sub_account = ?"
                )
                self._connection.execute(statement, (auth_id,))
            cursor = self._connection.execute(
                "DELETE FROM subaccounts WHERE auth_id = ?", (auth_id,)
            )
        return cursor.rowcount > 0


def _row(subaccount: Subaccount) -> tuple[object, ...]:
    return tuple(getattr(subaccount, name) for name in _COLUMNS)


def _subaccount(row: sqlite3.Row) -> Subaccount:
    return Subaccount(**{**dict(row), "enabled": bool(row["enabled"])})
