"""Recordings (Plivo's Recording resource): one row per file the Record verb, a session
recording or (later) a conference wrote, with what the REST API lists.

The row is written after the file is in place under its final name (AudioWriter renames it
atomically), so a listed recording always has its file.
"""

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Literal, Protocol

from mediaserver.store.account_scope import EVERY_ACCOUNT, AccountScope

RecordingType = Literal["call", "conference"]
# Plivo's add_time__gt, __gte, __lt and __lte filters, as SQL comparisons.
ADD_TIME_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True, slots=True)
class Recording:
    recording_id: str
    call_uuid: str
    recording_format: str  # "wav" | "mp3"
    recording_type: RecordingType
    file_name: str  # under the recordings directory
    recording_duration_ms: int
    recording_start_ms: int  # Unix epoch milliseconds
    recording_end_ms: int
    add_time: float  # Unix epoch seconds
    conference_name: str | None = None
    sub_account: str | None = None


class Recordings(Protocol):
    def add(self, recording: Recording) -> None: ...


_COLUMNS = ", ".join(field.name for field in fields(Recording))


class SqliteRecordings:
    """The `recordings` table (migration 5)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add(self, recording: Recording) -> None:
        """Insert and commit: the recording is listed once this returns."""
        values = tuple(getattr(recording, field.name) for field in fields(Recording))
        placeholders = ", ".join("?" * len(values))
        with self._connection:
            self._connection.execute(
                f"INSERT INTO recordings ({_COLUMNS}) VALUES ({placeholders})", values
            )

    def get(self, recording_id: str) -> Recording | None:
        row = self._connection.execute(
            f"SELECT {_COLUMNS} FROM recordings WHERE recording_id = ?", (recording_id,)
        ).fetchone()
        return None if row is None else Recording(*row)

    def for_call(self, call_uuid: str) -> list[Recording]:
        return self.matching(call_uuid=call_uuid)

    def remove(self, recording_id: str) -> Recording | None:
        """Forget the row (committed) and return it, so its file can go next: a listed
        recording always has its file, a file without a row is never listed."""
        found = self.get(recording_id)
        if found is not None:
            with self._connection:
                self._connection.execute(
                    "DELETE FROM recordings WHERE recording_id = ?", (recording_id,)
                )
        return found

    def matching(
        self,
        scope: AccountScope = EVERY_ACCOUNT,
        call_uuid: str | None = None,
        add_time: Sequence[tuple[str, float]] = (),
    ) -> list[Recording]:
        """Oldest first: the recordings in `scope`, of one call when `call_uuid` is given, whose
        add_time compares as each (`gt`|`gte`|`lt`|`lte`, epoch seconds) of `add_time` says."""
        condition, parameters = scope.sql()
        conditions, values = [condition], list[object](parameters)
        if call_uuid is not None:
            conditions.append("call_uuid = ?")
            values.append(call_uuid)
        for comparison, seconds in add_time:
            conditions.append(f"add_time {ADD_TIME_COMPARISONS[comparison]} ?")
            values.append(seconds)
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM recordings WHERE {' AND '.join(conditions)}"
            " ORDER BY add_time, rowid",
            values,
        ).fetchall()
        return [Recording(*row) for row in rows]
