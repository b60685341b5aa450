"""Phone numbers we own (Plivo "numbers"), each optionally routed to an application.

Numbers are kept as E.164 digits without the '+', the form Plivo puts in From and To, so a
lookup by the To of an incoming INVITE needs only the same normalisation. A number added from
a carrier records which incoming carrier it came from (its carrier_id), its region and type
(plivo.md §4.2, Number).
"""

import dataclasses
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

from mediaserver.store.account_scope import EVERY_ACCOUNT, AccountScope
from mediaserver.store.applications import require_application
from mediaserver.store.database import immediate_transaction
from mediaserver.store.errors import AlreadyExistsError, InvalidFieldError, UnknownReferenceError
from mediaserver.store.subaccounts import require_subaccount

# ITU-T E.164 §6: up to 15 digits. A leading '+' and E.123's visual separators (spaces,
# hyphens, dots, parentheses) are how people write them; they are not part of the number.
_WRITTEN_NUMBER = re.compile(r"\+?[0-9][0-9\-.() ]*", re.ASCII)
_SEPARATORS = re.compile(r"[\-.() ]")
# Plivo's number types.
NUMBER_TYPES = ("local", "national", "mobile", "tollfree", "fixed")
TEXT_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Number:
    number: str  # E.164 digits, no '+'
    alias: str
    app_id: str | None
    sub_account: str | None
    created_at: float
    carrier: str = ""  # the incoming carrier's carrier_id, '' when added by hand
    region: str = ""
    number_type: str = "local"

    def __post_init__(self) -> None:
        if self.number_type not in NUMBER_TYPES:
            raise InvalidFieldError("number_type", f"must be one of {', '.join(NUMBER_TYPES)}")
        for field in ("alias", "region"):
            value = getattr(self, field)
            if len(value) > TEXT_MAX_LENGTH or not value.isprintable():
                raise InvalidFieldError(
                    field, f"must be at most {TEXT_MAX_LENGTH} printable characters"
                )


class NumberExistsError(AlreadyExistsError):
    def __init__(self, number: str) -> None:
        super().__init__("number", number)


class NumberChanges(TypedDict, total=False):
    """What an update may change (Plivo's Number update: app_id, subaccount, alias)."""

    alias: str
    app_id: str | None
    sub_account: str | None


def normalise_number(text: str) -> str:
    """'+1 (415) 555-0100' -> '14155550100'; ValueError unless 1 to 15 digits remain (E.164).
    The one normalisation for numbers stored, looked up and routed."""
    written = text.strip()
    digits = _SEPARATORS.sub("", written).removeprefix("+")
    if _WRITTEN_NUMBER.fullmatch(written) is None or not 1 <= len(digits) <= 15:
        raise InvalidFieldError(
            "number", f"{text!r} is not a phone number: expected 1 to 15 digits (E.164)"
        )
    return digits


class Numbers(Protocol):
    def get(self, number: str) -> Number | None: ...


_COLUMNS = tuple(field.name for field in dataclasses.fields(Number))


class SqliteNumbers:
    """The `numbers` table of migrations 2 and 6."""

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
        carrier: str = "",
        region: str = "",
        number_type: str = "local",
    ) -> Number:
        created_at = time.time() if now is None else now
        digits = normalise_number(number)
        added = Number(digits, alias, app_id, sub_account, created_at, carrier, region, number_type)
        return self.add_all([added])[0]

    def add_all(self, numbers: Sequence[Number]) -> Sequence[Number]:
        """All of them or none (one transaction): what a list of numbers in one request gets."""
        try:
            with immediate_transaction(self._connection):
                for number in numbers:
                    self._check_references(number)
                    self._connection.execute(
                        f"INSERT INTO numbers ({', '.join(_COLUMNS)})"
                        f" VALUES ({', '.join('?' * len(_COLUMNS))})",
                        dataclasses.astuple(number),
                    )
        except sqlite3.IntegrityError:
            taken = [n.number for n in numbers if self.get(n.number) is not None]
            raise NumberExistsError(taken[0] if taken else numbers[0].number) from None
        return numbers

    def update(self, number: str, changes: NumberChanges) -> Number | None:
        """None when the number is not ours; the application must be its account's."""
        with immediate_transaction(self._connection):
            current = self.get(number)
            if current is None:
                return None
            updated = dataclasses.replace(current, **changes)
            self._check_references(updated)
            self._connection.execute(
                "UPDATE numbers SET alias = ?, app_id = ?, sub_account = ? WHERE number = ?",
                (updated.alias, updated.app_id, updated.sub_account, updated.number),
            )
        return updated

    def _check_references(self, number: Number) -> None:
        require_subaccount(self._connection, number.sub_account)
        require_application(self._connection, number.app_id, number.sub_account)
        if number.carrier:
            found = self._connection.execute(
                "SELECT 1 FROM incoming_carriers WHERE carrier_id = ?", (number.carrier,)
            )
            if found.fetchone() is None:
                raise UnknownReferenceError("carrier", number.carrier, "incoming carrier")

    def get(self, number: str) -> Number | None:
        """The number, however it is written; None when absent or not a phone number at all."""
        try:
            digits = normalise_number(number)
        except ValueError:
            return None
        found = self._select("WHERE number = ?", (digits,))
        return found[0] if found else None

    def remove(self, number: str) -> bool:
        """Normalises like `add` (so ValueError on a non-number); False when it is not ours."""
        digits = normalise_number(number)
        cursor = self._connection.execute("DELETE FROM numbers WHERE number = ?", (digits,))
        return cursor.rowcount > 0

    def _select(self, where: str, parameters: tuple[object, ...]) -> list[Number]:
        rows = self._connection.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM numbers {where} ORDER BY number", parameters
        ).fetchall()
        return [Number(**dict(row)) for row in rows]

    # Last in the class: its name would shadow the built-in `list` in annotations below it.
    def list(
        self,
        scope: AccountScope = EVERY_ACCOUNT,
        number_type: str | None = None,
        number_startswith: str | None = None,
        alias: str | None = None,
    ) -> list[Number]:
        """Plivo's filters: the account, the type, the leading digits, the alias."""
        condition, parameters = scope.sql()
        filters: list[tuple[str, tuple[object, ...]]] = [(condition, parameters)]
        if number_type is not None:
            filters.append(("number_type = ?", (number_type,)))
        if number_startswith is not None:
            filters.append(
                ("substr(number, 1, ?) = ?", (len(number_startswith), number_startswith))
            )
        if alias is not None:
            filters.append(("alias = ?", (alias,)))
        where = " AND ".join(text for text, _ in filters)
        return self._select(f"WHERE {where}", tuple(p for _, values in filters for p in values))
