"""Recordings (Plivo's Recording resource): one row per file the Record verb, a session
recording or (later) a conference wrote, with what the REST API lists.

The row is written after the file is in place under its final name (AudioWriter renames it
atomically), so a listed recording always has its file.
"""

import sqlite3
from dataclasses import dataclass, fields
from typing import Literal, Protocol

RecordingType = Literal["call", "conference"]


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
        rows = self._connection.execute(
            f"SELECT {_COLUMNS} FROM recordings WHERE call_uuid = ? ORDER BY add_time, rowid",
            (call_uuid,),
        ).fetchall()
        return [Recording(*row) for row in rows]
