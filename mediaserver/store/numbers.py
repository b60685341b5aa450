"""Phone numbers we own (Plivo "numbers"), each optionally routed to an application.

Numbers are kept as E.164 digits without the '+', the form Plivo puts in From and To, so a
lookup by the To of an incoming INVITE needs only the same normalisation.
"""

import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Protocol

from mediaserver.store.applications import require_application
from mediaserver.store.database import immediate_transaction

# ITU-T E.164 §6: up to 15 digits. A leading '+' and E.123's visual separators (spaces,
# hyphens, dots, parentheses) are how people write them; they are not part of the number.
_WRITTEN_NUMBER = re.compile(r"\+?[0-9][0-9\-.() ]*", re.ASCII)
_SEPARATORS = re.compile(r"[\-.() ]")


@dataclass(frozen=True, slots=True)
class Number:
    number: str  # E.164 digits, no '+'
    alias: str
    app_id: str | None
    sub_account: str | None
    created_at: float
    carrier: str = ""  # where the number came from (Plivo's Number resource)
    region: str = ""
    number_type: str = "local"


class NumberExistsError(Exception):
    pass


def normalise_number(text: str) -> str:
    """'+1 (415) 555-0100' -> '14155550100'; ValueError unless 1 to 15 digits remain (E.164).
    The one normalisation for numbers stored, looked up and routed."""
    written = text.strip()
    digits = _SEPARATORS.sub("", written).removeprefix("+")
    if _WRITTEN_NUMBER.fullmatch(written) is None or not 1 <= len(digits) <= 15:
        raise ValueError(f"{text!r} is not a phone number: expected 1 to 15 digits (E.164)")
    return digits


class Numbers(Protocol):
    def get(self, number: str) -> Number | None: ...


class SqliteNumbers:
    """The `numbers` table of migration 2."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add(
        self,
        number: str,
        alias: str = "",
        app_id: str | None = None,
        sub_account: str | None = None,
        *,
        now: float | None = None,
    ) -> Number:
        added = Number(
            normalise_number(number),
            alias,
            app_id,
            sub_account,
            time.time() if now is None else now,
        )
        try:
            with immediate_transaction(self._connection):
                require_application(self._connection, app_id)
                self._connection.execute(
                    "INSERT INTO numbers (number, alias, app_id, sub_account, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (added.number, alias, app_id, sub_account, added.created_at),
                )
        except sqlite3.IntegrityError:
            raise NumberExistsError(added.number) from None
        return added

    def get(self, number: str) -> Number | None:
        """The number, however it is written; None when absent or not a phone number at all."""
        try:
            digits = normalise_number(number)
        except ValueError:
            return None
        row = self._connection.execute("SELECT * FROM numbers WHERE number = ?", (digits,))
        found = row.fetchone()
        return None if found is None else Number(**dict(found))

    def list(self) -> list[Number]:
        rows = self._connection.execute("SELECT * FROM numbers ORDER BY number").fetchall()
        return [Number(**dict(row)) for row in rows]

    def remove(self, number: str) -> bool:
        """Normalises like `add` (so ValueError on a non-number); False when it is not ours."""
        digits = normalise_number(number)
        cursor = self._connection.execute("DELETE FROM numbers WHERE number = ?", (digits,))
        return cursor.rowcount > 0
