"""Opening the SQLite file and bringing its schema up to date."""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mediaserver.store.migrations import MIGRATIONS

logger = logging.getLogger(__name__)


class SchemaTooNewError(Exception):
    """The file was written by a newer version of the server."""


def open_database(path: Path | str) -> sqlite3.Connection:
    """Open (creating the file and its directory) and migrate the database.

    `:memory:` gives a private in-memory database, for tests.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit survives a crash of this process (not of the machine's power).
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    migrate(connection)
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(connection: sqlite3.Connection) -> None:
    version = schema_version(connection)
    if version > len(MIGRATIONS):
        raise SchemaTooNewError(
            f"database schema version {version} is newer than this server's {len(MIGRATIONS)}"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        logger.info("migrating database to schema version %d", number)
        connection.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")


@contextmanager
def immediate_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """Statements that stand or fall together. IMMEDIATE takes the write lock at BEGIN, so a
    check made inside (an application exists) still holds when the write commits."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
