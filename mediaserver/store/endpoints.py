"""SIP users (Plivo "endpoints"). Passwords are kept only as digest HA1 values.

A username is the user part of the address-of-record phones register (RFC 3261 §25.1
`user`); we allow its unreserved characters only (letters, digits, `-_.!~*'()`), so it can
be written in a SIP URI, a URL path and a shell without escaping.
"""

import dataclasses
import hashlib
import re
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Protocol, TypedDict

from mediaserver.store.account_scope import EVERY_ACCOUNT, AccountScope
from mediaserver.store.applications import require_application
from mediaserver.store.database import immediate_transaction
from mediaserver.store.errors import AlreadyExistsError, InvalidFieldError
from mediaserver.store.subaccounts import require_subaccount

_USERNAME = re.compile(r"[A-Za-z0-9\-_.!~*'()]{1,64}", re.ASCII)
PASSWORD_MAX_LENGTH = 128
ALIAS_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: str
    username: str
    alias: str
    app_id: str | None
    realm: str
    ha1_md5: str
    ha1_sha256: str
    created_at: float
    sub_account: str | None = None  # None: the main account's

    def ha1(self, algorithm: str) -> str:
        """RFC 7616 §3.4.2: HA1 = H(username ":" realm ":" password)."""
        return self.ha1_sha256 if algorithm.upper().startswith("SHA-256") else self.ha1_md5


def compute_ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"
    return hashlib.new(name, f"{username}:{realm}:{password}".encode()).hexdigest()


class EndpointExistsError(AlreadyExistsError):
    def __init__(self, username: str) -> None:
        super().__init__("username", username)


class EndpointChanges(TypedDict, total=False):
    """What an update may change (Plivo's Endpoint update: password, alias, app_id)."""

    password: str
    alias: str
    app_id: str | None


def check_fields(username: str, password: str, alias: str) -> None:
    if not _USERNAME.fullmatch(username):
        raise InvalidFieldError(
            "username", "must be 1 to 64 letters, digits or -_.!~*'() (a SIP URI user part)"
        )
    check_password(password)
    check_alias(alias)


def check_password(password: str) -> None:
    if not password or len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidFieldError("password", f"must be 1 to {PASSWORD_MAX_LENGTH} characters")
    if not password.isprintable():
        raise InvalidFieldError("password", "must not contain control characters")


def check_alias(alias: str) -> None:
    if len(alias) > ALIAS_MAX_LENGTH or not alias.isprintable():
        raise InvalidFieldError("alias", f"must be at most {ALIAS_MAX_LENGTH} printable characters")


class Endpoints(Protocol):
    def get(self, username: str) -> Endpoint | None: ...


_COLUMNS = ", ".join(field.name for field in dataclasses.fields(Endpoint))
_PLACEHOLDERS = ", ".join("?" * len(dataclasses.fields(Endpoint)))


class SqliteEndpoints:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add(
        self,
        username: str,
        password: str,
        realm: str,
        alias: str,
        app_id: str | None,
        now: float,
        sub_account: str | None = None,
    ) -> Endpoint:
        check_fields(username, password, alias)
        endpoint = Endpoint(
            endpoint_id=uuid.uuid4().hex[:20],
            username=username,
            alias=alias,
            app_id=app_id,
            realm=realm,
            ha1_md5=compute_ha1(username, realm, password, "MD5"),
            ha1_sha256=compute_ha1(username, realm, password, "SHA-256"),
            created_at=now,
            sub_account=sub_account,
        )
        try:
            with immediate_transaction(self._connection):
                require_subaccount(self._connection, sub_account)
                require_application(self._connection, app_id, sub_account)
                self._connection.execute(
                    f"INSERT INTO endpoints ({_COLUMNS}) VALUES ({_PLACEHOLDERS})",
                    dataclasses.astuple(endpoint),
                )
        except sqlite3.IntegrityError:
            raise EndpointExistsError(username) from None
        return endpoint

    def update(self, endpoint_id: str, changes: EndpointChanges) -> Endpoint | None:
        """The fields given change (a new password, new HA1s); None when there is no such
        endpoint. The application must be the endpoint's account's."""
        with immediate_transaction(self._connection):
            current = self.by_id(endpoint_id)
            if current is None:
                return None
            updated = _changed(current, changes)
            require_application(self._connection, updated.app_id, updated.sub_account)
            self._connection.execute(
                "UPDATE endpoints SET alias = ?, app_id = ?, ha1_md5 = ?, ha1_sha256 = ?"
                " WHERE endpoint_id = ?",
                (updated.alias, updated.app_id, updated.ha1_md5, updated.ha1_sha256, endpoint_id),
            )
        return updated

    def get(self, username: str) -> Endpoint | None:
        found = self._select("WHERE username = ?", (username,))
        return found[0] if found else None

    def by_id(self, endpoint_id: str) -> Endpoint | None:
        found = self._select("WHERE endpoint_id = ?", (endpoint_id,))
        return found[0] if found else None

    def remove(self, username: str) -> bool:
        cursor = self._connection.execute("DELETE FROM endpoints WHERE username = ?", (username,))
        return cursor.rowcount > 0

    def remove_by_id(self, endpoint_id: str) -> bool:
        cursor = self._connection.execute(
            "DELETE FROM endpoints WHERE endpoint_id = ?", (endpoint_id,)
        )
        return cursor.rowcount > 0

    def _select(self, where: str, parameters: tuple[object, ...]) -> list[Endpoint]:
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM endpoints {where} ORDER BY username", parameters
        ).fetchall()
        return [Endpoint(**dict(row)) for row in rows]

    # Last in the class: its name would shadow the built-in `list` in annotations below it.
    def list(self, scope: AccountScope = EVERY_ACCOUNT) -> list[Endpoint]:
        condition, parameters = scope.sql()
        return self._select(f"WHERE {condition}", parameters)


def _changed(endpoint: Endpoint, changes: EndpointChanges) -> Endpoint:
    alias = changes.get("alias", endpoint.alias)
    check_alias(alias)
    updated = dataclasses.replace(
        endpoint, alias=alias, app_id=changes.get("app_id", endpoint.app_id)
    )
    if "password" not in changes:
        return updated
    password = changes["password"]
    check_password(password)
    return dataclasses.replace(
        updated,
        ha1_md5=compute_ha1(endpoint.username, endpoint.realm, password, "MD5"),
        ha1_sha256=compute_ha1(endpoint.username, endpoint.realm, password, "SHA-256"),
    )
