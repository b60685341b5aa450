"""Admin subcommands that edit the database directly, for use without the REST API.

Each module adds one command group to the `mediaserver` parser and returns its leaf parsers,
so cli.py can give every leaf the same `--config` option. Handlers print one line on stderr
and return EXIT_USAGE for bad input, before anything is written.
"""

import argparse
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeAlias

from mediaserver.config import Config
from mediaserver.store.database import open_database

EXIT_USAGE = 2
EXIT_FAILED = 1  # well-formed, but refused: a name already taken, nothing to remove

# What add_subparsers() returns; generic only to type checkers, hence the string.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def fail(message: str, code: int) -> int:
    print(f"mediaserver: {message}", file=sys.stderr)
    return code


@contextmanager
def database(config: Config) -> Iterator[sqlite3.Connection]:
    """The migrated database, closed afterwards: the commands also run inside test processes."""
    connection = open_database(config.storage.sqlite_path)
    try:
        yield connection
    finally:
        connection.close()
