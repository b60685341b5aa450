"""SIP users (Plivo "endpoints"). Passwords are kept only as digest HA1 values."""

import dataclasses
import hashlib
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Protocol

from mediaserver.store.applications import require_application
from mediaserver.store.database import immediate_transaction


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


class EndpointExistsError(Exception):
    pass


class Endpoints(Protocol):
    def add(
        self, username: str, password: str, realm: str, alias: str, app_id: str | None, now: float
    ) -> Endpoint: ...

    def get(self, username: str) -> Endpoint | None: ...

    def list(self) -> list[Endpoint]: ...

    def remove(self, username: str) -> bool: ...


_COLUMNS = ", ".join(field.name for field in dataclasses.fields(Endpoint))
_PLACEHOLDERS = ", ".join("?" * len(dataclasses.fields(Endpoint)))


class SqliteEndpoints:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add(
        self, username: str, password: str, realm: str, alias: str, app_id: str | None, now: float
    ) -> Endpoint:
        endpoint = Endpoint(
            endpoint_id=uuid.uuid4().hex[:20],
            username=username,
            alias=alias,
            app_id=app_id,
            realm=realm,
            ha1_md5=compute_ha1(username, realm, password, "MD5"),
            ha1_sha256=compute_ha1(username, realm, password, "SHA-256"),
            created_at=now,
        )
        try:
            with immediate_transaction(self._connection):
                require_application(self._connection, app_id)
                self._connection.execute(
                    f"INSERT INTO endpoints ({_COLUMNS}) VALUES ({_PLACEHOLDERS})",
                    dataclasses.astuple(endpoint),
                )
        except sqlite3.IntegrityError:
            raise EndpointExistsError(username) from None
        return endpoint

    def get(self, username: str) -> Endpoint | None:
        row = self._connection.execute(
            "SELECT * FROM endpoints WHERE username = ?", (username,)
        ).fetchone()
        return None if row is None else Endpoint(**dict(row))

    def list(self) -> list[Endpoint]:
        rows = self._connection.execute("SELECT * FROM endpoints ORDER BY username").fetchall()
        return [Endpoint(**dict(row)) for row in rows]

    def remove(self, username: str) -> bool:
        cursor = self._connection.execute("DELETE FROM endpoints WHERE username = ?", (username,))
        return cursor.rowcount > 0
