"""Call detail records: one row per call leg, with the fields of Plivo's CDR (GET Call/).

A record is the bill, so `write` returns only once the row is committed ("persisted before
acknowledged"): a caller that has been told the record is written may forget the call.
"""

import sqlite3
from dataclasses import dataclass, fields
from typing import Literal, Protocol

from mediaserver.store.account_scope import EVERY_ACCOUNT, AccountScope

Direction = Literal["inbound", "outbound"]
# Plivo's list filters compare with these suffixes: bill_duration__gt, end_time__lte (§4.1).
COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
BoundColumn = Literal["bill_duration", "end_time"]


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_uuid: str
    parent_call_uuid: str | None  # the A leg, for a B leg dialled from it
    direction: Direction
    from_number: str
    to_number: str
    initiation_time: float  # Unix epoch seconds
    answer_time: float | None  # None: never answered
    end_time: float
    call_duration: int  # whole seconds from initiation to end
    bill_duration: int  # whole seconds from answer to end
    hangup_cause_name: str  # as in Plivo's hangup causes: "Normal Hangup", "Busy Line", ...
    hangup_cause_code: int  # 4000, 3010, ...
    hangup_source: str  # "Caller", "Callee", "Plivo", "Carrier", "API Request", ...
    source_ip: str
    codec: str
    sip_status: int | None  # the final SIP response of the leg, when there was one
    sip_call_id: str
    # The leg's media (none: a leg that never opened a stream). Lost is RFC 3550 §A.3's
    # expected minus received, negative with duplicates; jitter the mean of §A.8's estimate.
    rtp_packets_received: int = 0
    rtp_packets_sent: int = 0
    rtp_packets_lost: int = 0
    rtp_jitter_ms: float = 0.0
    sub_account: str | None = None  # the account the call belongs to (None: the main one)

    def __post_init__(self) -> None:
        if self.direction not in ("inbound", "outbound"):
            raise ValueError(f"call direction must be inbound or outbound, not {self.direction!r}")


@dataclass(frozen=True, slots=True)
class CallRecordFilter:
    """Plivo's GET Call/ filters: equal values, and (column, comparison, value) bounds on
    bill_duration and end_time."""

    call_direction: Direction | None = None
    from_number: str | None = None
    to_number: str | None = None
    parent_call_uuid: str | None = None
    hangup_cause_code: int | None = None
    hangup_source: str | None = None
    bounds: tuple[tuple[BoundColumn, str, float], ...] = ()
    scope: AccountScope = EVERY_ACCOUNT  # whose calls: a sub-account reads its own only

    def where(self) -> tuple[str, list[object]]:
        equal = {
            "direction": self.call_direction,
            "from_number": self.from_number,
            "to_number": self.to_number,
            "parent_call_uuid": self.parent_call_uuid,
            "hangup_cause_code": self.hangup_cause_code,
            "hangup_source": self.hangup_source,
        }
        conditions = [f"{column} = ?" for column, value in equal.items() if value is not None]
        values: list[object] = [value for value in equal.values() if value is not None]
        for column, comparison, bound in self.bounds:
            conditions.append(f"{column} {COMPARISONS[comparison]} ?")
            values.append(bound)
        account, parameters = self.scope.sql()
        return " AND ".join((*conditions, account)), [*values, *parameters]


class CallRecordExistsError(Exception):
    """A record with this call_uuid was already written: records are never rewritten."""


class CallRecords(Protocol):
    def write(self, record: CallRecord) -> None: ...


_COLUMNS = ", ".join(field.name for field in fields(CallRecord))
_INSERT = (
    f"INSERT INTO call_records ({_COLUMNS}) VALUES ({', '.join('?' * len(fields(CallRecord)))})"
)


class SqliteCallRecords:
    """The `call_records` table of migration 2 (media columns from migration 3, the account
    from migration 8)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def write(self, record: CallRecord) -> None:
        """Insert and commit; when this returns, another connection can read the record."""
        if self._connection.in_transaction:
            # Committing here would commit the caller's unfinished work as well.
            raise RuntimeError("call records are written outside any open transaction")
        values = tuple(getattr(record, field.name) for field in fields(CallRecord))
        try:
            self._connection.execute(_INSERT, values)
        except sqlite3.IntegrityError:
            raise CallRecordExistsError(record.call_uuid) from None
        if self._connection.in_transaction:  # a connection with implicit transactions
            self._connection.commit()

    def get(self, call_uuid: str) -> CallRecord | None:
        row = self._connection.execute(
            f"SELECT {_COLUMNS} FROM call_records WHERE call_uuid = ?", (call_uuid,)
        ).fetchone()
        return None if row is None else CallRecord(*row)

    def for_parent(self, parent_call_uuid: str) -> list[CallRecord]:
        """The legs dialled from one call, in the order they started."""
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM call_records WHERE parent_call_uuid = ?"
            " ORDER BY initiation_time, rowid",
            (parent_call_uuid,),
        ).fetchall()
        return [CallRecord(*row) for row in rows]

    def matching(
        self, found: CallRecordFilter, limit: int = -1, offset: int = 0
    ) -> list[CallRecord]:
        """The records the filter admits, the most recently ended first (Plivo's order): at
        most `limit` of them (every one when negative) after skipping `offset`. A page is
        read as a page: GET Call/ must not cost more as the table grows."""
        where, values = found.where()
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM call_records WHERE {where}"
            " ORDER BY end_time DESC, rowid DESC LIMIT ? OFFSET ?",
            [*values, limit, offset],
        ).fetchall()
        return [CallRecord(*row) for row in rows]

    def count_matching(self, found: CallRecordFilter) -> int:
        where, values = found.where()
        query = f"SELECT COUNT(*) FROM call_records WHERE {where}"
        return int(self._connection.execute(query, values).fetchone()[0])

    def count(self) -> int:
        return int(self._connection.execute("SELECT COUNT(*) FROM call_records").fetchone()[0])

    def list(self, limit: int = 100) -> list[CallRecord]:
        """The `limit` most recently ended calls, newest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM call_records ORDER BY end_time DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [CallRecord(*row) for row in rows]
