import dataclasses
import sqlite3
from pathlib import Path

import pytest

from mediaserver.store.account_scope import EVERY_ACCOUNT, one_account
from mediaserver.store.call_records import (
    CallRecord,
    CallRecordExistsError,
    CallRecordFilter,
    SqliteCallRecords,
)
from mediaserver.store.database import open_database
from mediaserver.store.migrations import MIGRATIONS


def record(call_uuid: str, end_time: float = 100.0, **changes: object) -> CallRecord:
    values: dict[str, object] = {
        "call_uuid": call_uuid,
        "parent_call_uuid": None,
        "direction": "inbound",
        "from_number": "14155550100",
        "to_number": "442079460958",
        "initiation_time": end_time - 30.0,
        "answer_time": end_time - 20.0,
        "end_time": end_time,
        "call_duration": 30,
        "bill_duration": 20,
        "hangup_cause_name": "Normal Hangup",
        "hangup_cause_code": 4000,
        "hangup_source": "Caller",
        "source_ip": "192.0.2.1",
        "codec": "PCMU",
        "sip_status": 200,
        "sip_call_id": f"{call_uuid}@192.0.2.1",
    }
    values.update(changes)
    return CallRecord(**values)  # type: ignore[arg-type]


def test_written_record_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    records = SqliteCallRecords(open_database(path))
    written = record("leg-a", answer_time=None, bill_duration=0, sip_status=None)
    records.write(written)
    other = sqlite3.connect(path)
    try:
        row = other.execute("SELECT * FROM call_records WHERE call_uuid = 'leg-a'").fetchone()
    finally:
        other.close()
    assert row == dataclasses.astuple(written)
    assert records.get("leg-a") == written
    assert records.get("leg-b") is None


def test_legacy_transaction_mode_connection_still_commits(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    open_database(path).close()
    legacy = sqlite3.connect(path)  # implicit transactions: the INSERT opens one
    SqliteCallRecords(legacy).write(record("leg-a"))
    assert not legacy.in_transaction
    legacy.close()
    assert SqliteCallRecords(open_database(path)).count() == 1


def test_write_refuses_to_commit_someone_elses_transaction() -> None:
    connection = open_database(":memory:")
    connection.execute("BEGIN")
    with pytest.raises(RuntimeError, match="outside any open transaction"):
        SqliteCallRecords(connection).write(record("leg-a"))
    connection.execute("ROLLBACK")


def test_list_newest_first_with_limit_and_count() -> None:
    records = SqliteCallRecords(open_database(":memory:"))
    for number, end_time in enumerate((300.0, 100.0, 200.0)):
        records.write(record(f"leg-{number}", end_time))
    assert [r.call_uuid for r in records.list()] == ["leg-0", "leg-2", "leg-1"]
    assert [r.call_uuid for r in records.list(limit=2)] == ["leg-0", "leg-2"]
    assert records.count() == 3
    with pytest.raises(ValueError, match="limit"):
        records.list(limit=0)


def test_for_parent_gives_the_b_legs_in_start_order() -> None:
    records = SqliteCallRecords(open_database(":memory:"))
    records.write(record("a"))
    records.write(record("b2", 90.0, parent_call_uuid="a", direction="outbound"))
    records.write(record("b1", 95.0, parent_call_uuid="a", direction="outbound"))
    records.write(record("other", parent_call_uuid="x", direction="outbound"))
    assert [r.call_uuid for r in records.for_parent("a")] == ["b2", "b1"]
    assert records.for_parent("b1") == []


def test_records_are_never_rewritten() -> None:
    records = SqliteCallRecords(open_database(":memory:"))
    records.write(record("leg-a"))
    with pytest.raises(CallRecordExistsError):
        records.write(record("leg-a", hangup_cause_code=3010))
    stored = records.get("leg-a")
    assert stored is not None
    assert stored.hangup_cause_code == 4000


def test_direction_is_checked() -> None:
    with pytest.raises(ValueError, match="direction"):
        record("leg-a", direction="sideways")


def test_media_figures_round_trip() -> None:
    records = SqliteCallRecords(open_database(":memory:"))
    media = {"rtp_packets_received": 1498, "rtp_packets_sent": 1500, "rtp_packets_lost": 2}
    written = record("leg-a", rtp_jitter_ms=0.375, **media)
    records.write(written)
    assert records.get("leg-a") == written


def test_records_written_before_migration_3_read_back_without_media_or_account(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(f"BEGIN; {MIGRATIONS[0]}; {MIGRATIONS[1]}; PRAGMA user_version = 2; COMMIT;")
    written = record("leg-a")
    columns = [field.name for field in dataclasses.fields(CallRecord)][:-5]
    old.execute(
        f"INSERT INTO call_records ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [getattr(written, name) for name in columns],
    )
    old.close()
    assert SqliteCallRecords(open_database(path)).get("leg-a") == written


def test_matching_applies_plivos_filters_newest_first(tmp_path: Path) -> None:
    records = SqliteCallRecords(open_database(tmp_path / "db.sqlite"))
    records.write(record("in-short", end_time=100.0, bill_duration=5))
    records.write(record("out-long", end_time=200.0, direction="outbound", bill_duration=60))
    records.write(
        record("b-leg", end_time=300.0, direction="outbound", parent_call_uuid="out-long",
               hangup_source="API Request", hangup_cause_code=4000, bill_duration=30)
    )  # fmt: skip

    def uuids(**filters: object) -> list[str]:
        found = records.matching(CallRecordFilter(**filters))  # type: ignore[arg-type]
        return [found_record.call_uuid for found_record in found]

    assert uuids() == ["b-leg", "out-long", "in-short"]
    assert uuids(call_direction="outbound") == ["b-leg", "out-long"]
    assert uuids(parent_call_uuid="out-long") == ["b-leg"]
    assert uuids(hangup_source="API Request", hangup_cause_code=4000) == ["b-leg"]
    assert uuids(bounds=(("bill_duration", "gte", 30.0),)) == ["b-leg", "out-long"]
    assert uuids(bounds=(("bill_duration", "gt", 30.0),)) == ["out-long"]
    assert uuids(bounds=(("end_time", "lt", 200.0),)) == ["in-short"]
    assert uuids(bounds=(("end_time", "lte", 200.0), ("bill_duration", "lt", 10.0))) == ["in-short"]
    assert uuids(to_number="nobody") == []


def test_a_record_keeps_its_account_and_lists_are_scoped_by_account(tmp_path: Path) -> None:
    records = SqliteCallRecords(open_database(tmp_path / "db.sqlite"))
    records.write(record("main", end_time=100.0))
    records.write(record("shop", end_time=200.0, sub_account="SA0000000000000000SH"))
    records.write(record("shop-out", end_time=300.0, sub_account="SA0000000000000000SH",
                         direction="outbound"))  # fmt: skip
    records.write(record("other", end_time=400.0, sub_account="SA0000000000000000OT"))

    def uuids(**filters: object) -> list[str]:
        found = records.matching(CallRecordFilter(**filters))  # type: ignore[arg-type]
        return [found_record.call_uuid for found_record in found]

    assert records.get("shop") == record("shop", end_time=200.0, sub_account="SA0000000000000000SH")
    assert uuids(scope=EVERY_ACCOUNT) == ["other", "shop-out", "shop", "main"]
    assert uuids(scope=one_account("SA0000000000000000SH")) == ["shop-out", "shop"]
    assert uuids(scope=one_account(None)) == ["main"]
    shop_outbound = uuids(scope=one_account("SA0000000000000000SH"), call_direction="outbound")
    assert shop_outbound == ["shop-out"]
    assert records.count_matching(CallRecordFilter(scope=one_account("SA0000000000000000SH"))) == 2


def test_a_page_of_matches_is_read_alone_and_the_matches_counted(tmp_path: Path) -> None:
    records = SqliteCallRecords(open_database(tmp_path / "db.sqlite"))
    for number in range(7):
        direction = "outbound" if number % 2 else "inbound"
        records.write(record(f"leg-{number}", end_time=100.0 + number, direction=direction))
    outbound = CallRecordFilter(call_direction="outbound")
    assert [r.call_uuid for r in records.matching(outbound, 2, 1)] == ["leg-3", "leg-1"]
    assert records.matching(outbound, 2, 3) == []
    assert records.count_matching(outbound) == 3
    assert records.count_matching(CallRecordFilter()) == 7
