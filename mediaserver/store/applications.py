"""Plivo applications: the URLs whose XML drives a call, and the methods they are fetched with.

Every field a user sets is checked in one place, when an `Application` is built, so the
command line and the REST API refuse the same input with the same words. An account (the main
one has sub_account None) has at most one default application for calls from its endpoints and
one for calls to its numbers (plivo.md §4.2, default_endpoint_app and default_number_app):
marking one clears the flag of the account's previous one, as Plivo does, and the database's
partial unique indexes (migration 4) hold to it as well.
"""

import dataclasses
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Protocol, TypedDict, Unpack
from urllib.parse import urlsplit

from mediaserver.store.account_scope import EVERY_ACCOUNT, AccountScope
from mediaserver.store.database import immediate_transaction
from mediaserver.store.errors import InvalidFieldError, UnknownReferenceError
from mediaserver.store.subaccounts import require_subaccount

HTTP_METHODS = ("GET", "POST")
# Plivo's app ids are numeric strings of this length ("20372631212782780"); random, so one
# collides with another only about once in 10^17 pairs (then the insert fails loudly).
APP_ID_DIGITS = 17
_OPTIONAL_URLS = ("hangup_url", "fallback_answer_url", "message_url")
_METHODS = ("answer_method", "hangup_method", "fallback_method", "message_method")
_FLAGS = ("default_number_app", "default_endpoint_app", "public_uri")


class InvalidApplicationError(InvalidFieldError):
    """A field a user set is not acceptable; `field` names it as Plivo's API does."""


class UnknownApplicationError(UnknownReferenceError):
    def __init__(self, app_id: str) -> None:
        super().__init__("app_id", app_id, "application")
        self.app_id = app_id


@dataclass(frozen=True, slots=True)
class Application:
    """Plivo's Application. A URL that is not set is '' (Plivo's own shape for it)."""

    app_id: str
    app_name: str
    answer_url: str
    answer_method: str = "POST"
    hangup_url: str = ""
    hangup_method: str = "POST"
    fallback_answer_url: str = ""
    fallback_method: str = "POST"
    message_url: str = ""
    message_method: str = "POST"
    default_number_app: bool = False
    default_endpoint_app: bool = False
    public_uri: bool = False
    sub_account: str | None = None
    created_at: float = 0.0

    def __post_init__(self) -> None:
        if not self.app_name.strip():
            raise InvalidApplicationError("app_name", "must not be empty")
        _check_url("answer_url", self.answer_url)
        for field in _OPTIONAL_URLS:
            if getattr(self, field):
                _check_url(field, getattr(self, field))
        for field in _METHODS:
            if getattr(self, field) not in HTTP_METHODS:
                raise InvalidApplicationError(
                    field, f"must be GET or POST, not {getattr(self, field)!r}"
                )


class ApplicationOptions(TypedDict, total=False):
    """The fields a user may set beside the two every application needs."""

    answer_method: str
    hangup_url: str
    hangup_method: str
    fallback_answer_url: str
    fallback_method: str
    message_url: str
    message_method: str
    default_number_app: bool
    default_endpoint_app: bool
    public_uri: bool
    sub_account: str | None


class ApplicationChanges(ApplicationOptions, total=False):
    """What an update may change: any field a user sets."""

    app_name: str
    answer_url: str


def _check_url(field: str, url: str) -> None:
    """Plivo fetches these itself, so only absolute http(s) URLs with a host make sense."""
    try:
        parts = urlsplit(url)
        # Reading .port parses it: 'host:x' or 'host:99999' raise ValueError.
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        valid = valid and parts.port != 0 and not any(char.isspace() for char in url)
    except ValueError:
        valid = False
    if not valid:
        raise InvalidApplicationError(field, f"must be an absolute http or https URL, not {url!r}")


class Applications(Protocol):
    """What routing reads: an application by id, and an account's defaults."""

    def get(self, app_id: str) -> Application | None: ...

    def default_endpoint_app(self, sub_account: str | None = None) -> Application | None: ...

    def default_number_app(self, sub_account: str | None = None) -> Application | None: ...


def require_application(
    connection: sqlite3.Connection, app_id: str | None, sub_account: str | None
) -> None:
    """UnknownApplicationError unless `app_id` is None or names an application of the same
    account: what endpoints and numbers check, inside the transaction that attaches them. An
    application of another account looks exactly like none (no enumeration across accounts)."""
    if app_id is None:
        return
    found = connection.execute(
        "SELECT 1 FROM applications WHERE app_id = ? AND sub_account IS ?", (app_id, sub_account)
    )
    if found.fetchone() is None:
        raise UnknownApplicationError(app_id)


def new_app_id() -> str:
    return str(secrets.randbelow(9 * 10 ** (APP_ID_DIGITS - 1)) + 10 ** (APP_ID_DIGITS - 1))


def new_application(
    app_name: str,
    answer_url: str,
    *,
    now: float | None = None,
    **fields: Unpack[ApplicationOptions],
) -> Application:
    """A checked application with a new app_id, not yet stored (InvalidApplicationError)."""
    created_at = time.time() if now is None else now
    return Application(new_app_id(), app_name, answer_url, created_at=created_at, **fields)


_COLUMNS = tuple(field.name for field in dataclasses.fields(Application))


class SqliteApplications:
    """The `applications` table of migration 4; every change is one committed transaction,
    done before the caller is told it happened."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add(self, application: Application) -> Application:
        """Store a `new_application`; marking it a default clears the account's previous one."""
        with immediate_transaction(self._connection):
            require_subaccount(self._connection, application.sub_account)
            self._clear_other_defaults(application)
            placeholders = ", ".join("?" * len(_COLUMNS))
            self._connection.execute(
                f"INSERT INTO applications ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                dataclasses.astuple(application),
            )
        return application

    def update(self, app_id: str, **changes: Unpack[ApplicationChanges]) -> Application:
        """The fields given change, the others stay; the result is checked as a whole."""
        with immediate_transaction(self._connection):
            current = self.get(app_id)
            if current is None:
                raise UnknownApplicationError(app_id)
            updated = dataclasses.replace(current, **changes)
            require_subaccount(self._connection, updated.sub_account)
            self._clear_other_defaults(updated)
            assignments = ", ".join(f"{column} = ?" for column in _COLUMNS)
            self._connection.execute(
                f"UPDATE applications SET {assignments} WHERE app_id = ?",
                (*dataclasses.astuple(updated), app_id),
            )
        return updated

    def remove(
        self, app_id: str, cascade: bool = False, new_endpoint_application: str | None = None
    ) -> bool:
        """Delete it; endpoints and numbers that used it are detached (app_id NULL), as
        Plivo does, in the same transaction. Plivo's `cascade` deletes its endpoints instead,
        and `new_endpoint_application` (of the same account) takes them over. False when
        there is no such application."""
        with immediate_transaction(self._connection):
            self._release_endpoints(app_id, cascade, new_endpoint_application)
            self._connection.execute("UPDATE numbers SET app_id = NULL WHERE app_id = ?", (app_id,))
            deleted = self._connection.execute(
                "DELETE FROM applications WHERE app_id = ?", (app_id,)
            )
        return deleted.rowcount > 0

    def _release_endpoints(self, app_id: str, cascade: bool, successor: str | None) -> None:
        if cascade:
            self._connection.execute("DELETE FROM endpoints WHERE app_id = ?", (app_id,))
            return
        if successor == app_id:
            raise InvalidFieldError("new_endpoint_application", "is the application deleted")
        current = self.get(app_id)
        if current is not None and successor is not None:
            require_application(self._connection, successor, current.sub_account)
        self._connection.execute(
            "UPDATE endpoints SET app_id = ? WHERE app_id = ?", (successor, app_id)
        )

    def get(self, app_id: str) -> Application | None:
        found = self._select("WHERE app_id = ?", (app_id,))
        return found[0] if found else None

    def default_endpoint_app(self, sub_account: str | None = None) -> Application | None:
        found = self._select("WHERE default_endpoint_app = 1 AND sub_account IS ?", (sub_account,))
        return found[0] if found else None

    def default_number_app(self, sub_account: str | None = None) -> Application | None:
        found = self._select("WHERE default_number_app = 1 AND sub_account IS ?", (sub_account,))
        return found[0] if found else None

    def _clear_other_defaults(self, application: Application) -> None:
        for flag in ("default_number_app", "default_endpoint_app"):
            if getattr(application, flag):
                self._connection.execute(
                    f"UPDATE applications SET {flag} = 0 WHERE sub_account IS ? AND app_id != ?",
                    (application.sub_account, application.app_id),
                )

    def _select(self, where: str, parameters: tuple[object, ...] = ()) -> list[Application]:
        rows = self._connection.execute(
            f"SELECT * FROM applications {where} ORDER BY created_at, app_id", parameters
        ).fetchall()
        return [_application(row) for row in rows]

    def list(
        self, scope: AccountScope = EVERY_ACCOUNT, app_name: str | None = None
    ) -> list[Application]:
        """The applications in `scope`, those named `app_name` only when it is given."""
        condition, parameters = scope.sql()
        if app_name is None:
            return self._select(f"WHERE {condition}", parameters)
        return self._select(f"WHERE {condition} AND app_name = ?", (*parameters, app_name))


def _application(row: sqlite3.Row) -> Application:
    values = dict(row)
    return Application(**{**values, **{flag: bool(values[flag]) for flag in _FLAGS}})
