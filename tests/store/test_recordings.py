from pathlib import Path

from mediaserver.plivoxml.recording_archive import RecordingArchive
from mediaserver.store.account_scope import one_account
from mediaserver.store.database import open_database
from mediaserver.store.recordings import Recording, SqliteRecordings


def recording(
    recording_id: str, call_uuid: str, add_time: float, sub_account: str | None = None
) -> Recording:
    return Recording(
        recording_id, call_uuid, "wav", "call", f"{recording_id}.wav", 1000, 0, 1000, add_time,
        sub_account=sub_account,
    )  # fmt: skip


def test_filters_by_account_call_and_add_time() -> None:
    rows = SqliteRecordings(open_database(":memory:"))
    for row in (
        recording("a", "call1", 100.0),
        recording("b", "call1", 200.0, "SA1"),
        recording("c", "call2", 300.0),
    ):
        rows.add(row)
    assert [r.recording_id for r in rows.matching()] == ["a", "b", "c"]
    assert [r.recording_id for r in rows.matching(one_account("SA1"))] == ["b"]
    assert [r.recording_id for r in rows.matching(one_account(None))] == ["a", "c"]
    assert [r.recording_id for r in rows.matching(call_uuid="call1")] == ["a", "b"]
    window = rows.matching(add_time=[("gt", 100.0), ("lte", 300.0)])
    assert [r.recording_id for r in window] == ["b", "c"]
    assert [r.recording_id for r in rows.matching(add_time=[("gte", 100.0), ("lt", 200.0)])] == [
        "a"
    ]


def test_archive_removes_the_row_then_the_file(tmp_path: Path) -> None:
    rows = SqliteRecordings(open_database(":memory:"))
    archive = RecordingArchive(tmp_path, rows, "http://127.0.0.1:8080", "MA1", "token-token")
    archive.add(recording("abc", "call1", 1.0))
    archive.path_for("abc", "wav").write_bytes(b"RIFF")
    removed = archive.remove("abc")
    assert removed is not None
    assert removed.recording_id == "abc"
    assert not (tmp_path / "abc.wav").exists()
    assert rows.get("abc") is None
    assert archive.remove("abc") is None
