"""`mediaserver cdr list`: call detail records as JSON lines, for scripts and `jq`."""

import argparse
import dataclasses
import json

from mediaserver.admin import EXIT_USAGE, Subcommands, database, fail
from mediaserver.config import Config
from mediaserver.store.call_records import SqliteCallRecords


def add_commands(commands: Subcommands) -> list[argparse.ArgumentParser]:
    cdr = commands.add_parser("cdr", help="call detail records").add_subparsers(required=True)
    listing = cdr.add_parser("list", help="one JSON object per call leg, newest first")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    listing.set_defaults(handler=_list)
    return [listing]


def _list(config: Config, arguments: argparse.Namespace) -> int:
    if arguments.limit < 1:
        return fail(f"--limit must be at least 1, not {arguments.limit}", EXIT_USAGE)
    with database(config) as connection:
        records = SqliteCallRecords(connection).list(arguments.limit)
    for record in records:
        print(json.dumps(dataclasses.asdict(record)))
    return 0
