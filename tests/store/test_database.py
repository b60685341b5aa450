import sqlite3
from pathlib import Path

import pytest

from mediaserver.store.database import SchemaTooNewError, open_database, schema_version
from mediaserver.store.migrations import MIGRATIONS


def test_new_file_is_created_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "var" / "db.sqlite"
    connection = open_database(path)
    assert path.exists()
    assert schema_version(connection) == len(MIGRATIONS)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_data_and_version(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    first = open_database(path)
    first.execute("INSERT INTO endpoints VALUES ('id', 'alice', '', NULL, 'r', 'x', 'y', 0, NULL)")
    first.close()
    again = open_database(path)
    assert again.execute("SELECT username FROM endpoints").fetchone()[0] == "alice"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.close()
    with pytest.raises(SchemaTooNewError):
        open_database(path)


def test_version_1_database_upgrades_keeping_endpoints(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    old.execute("INSERT INTO endpoints VALUES ('id', 'alice', '', NULL, 'r', 'x', 'y', 0)")
    old.close()
    upgraded = open_database(path)
    assert schema_version(upgraded) == len(MIGRATIONS)
    assert upgraded.execute("SELECT username FROM endpoints").fetchone()[0] == "alice"
    tables = {row[0] for row in upgraded.execute("SELECT name FROM sqlite_master")}
    assert {
        "incoming_carriers",
        "incoming_carrier_addresses",
        "outgoing_carriers",
        "numbers",
        "call_records",
        "call_records_parent",
        "call_records_end_time",
    } <= tables
