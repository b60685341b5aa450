"""Conference records: one row per room that has closed (its start and end) and one per
member's stay in it (join and leave times, why it left), written when the room closes.

As with call records, `write` returns once the rows are committed.
"""

import sqlite3
from dataclasses import dataclass, fields
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member_id: str
    call_uuid: str
    from_number: str
    to_number: str
    join_time: float  # Unix epoch seconds
    leave_time: float
    leave_reason: str  # "hangup", "star", "kicked", "room ended", "time limit", "document"


@dataclass(frozen=True, slots=True)
class ConferenceRecord:
    conference_uuid: str
    conference_name: str
    start_time: float  # Unix epoch seconds
    end_time: float
    members: tuple[MemberRecord, ...] = ()


class ConferenceRecords(Protocol):
    def write(self, record: ConferenceRecord) -> None: ...


_MEMBER_COLUMNS = ", ".join(field.name for field in fields(MemberRecord))


class SqliteConferenceRecords:
    """The `conferences` and `conference_members` tables (migration 7)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def write(self, record: ConferenceRecord) -> None:
        members = [
            (record.conference_uuid, *(getattr(m, f.name) for f in fields(MemberRecord)))
            for m in record.members
        ]
        with self._connection:
            self._connection.execute(
                "INSERT INTO conferences VALUES (?, ?, ?, ?)",
                (record.conference_uuid, record.conference_name, record.start_time,
                 record.end_time),
            )  # fmt: skip
            self._connection.executemany(
                f"INSERT INTO conference_members (conference_uuid, {_MEMBER_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                members,
            )

    def recent(self, limit: int = 20) -> list[ConferenceRecord]:
        """The rooms closed last, newest first, each with its members in join order."""
        rows = self._connection.execute(
            "SELECT conference_uuid, conference_name, start_time, end_time FROM conferences "
            "ORDER BY end_time DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            ConferenceRecord(uuid, name, start, end, self._members(uuid))
            for uuid, name, start, end in rows
        ]

    def _members(self, conference_uuid: str) -> tuple[MemberRecord, ...]:
        rows = self._connection.execute(
            f"SELECT {_MEMBER_COLUMNS} FROM conference_members WHERE conference_uuid = ? "
            "ORDER BY join_time, rowid",
            (conference_uuid,),
        ).fetchall()
        return tuple(MemberRecord(*row) for row in rows)
