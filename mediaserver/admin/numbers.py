"""`mediaserver number add|list|remove`: the phone numbers this server answers for."""

import argparse

from mediaserver.admin import EXIT_FAILED, EXIT_USAGE, Subcommands, database, fail
from mediaserver.config import Config
from mediaserver.store.errors import InvalidFieldError, UnknownReferenceError
from mediaserver.store.numbers import NumberExistsError, SqliteNumbers, normalise_number


def add_commands(commands: Subcommands) -> list[argparse.ArgumentParser]:
    number = commands.add_parser("number", help="phone numbers").add_subparsers(required=True)
    add = number.add_parser("add", help="own a number; prints it as stored (E.164, no '+')")
    add.add_argument("number")
    add.add_argument("--alias", default="")
    add.add_argument("--app", dest="app_id", default=None, help="the application its calls run")
    add.add_argument("--sub-account", default=None)
    add.set_defaults(handler=_add)
    listing = number.add_parser("list", help="number, alias, app id, sub-account ('-' if none)")
    listing.set_defaults(handler=_list)
    remove = number.add_parser("remove", help="give a number up")
    remove.add_argument("number")
    remove.set_defaults(handler=_remove)
    return [add, listing, remove]


def _add(config: Config, arguments: argparse.Namespace) -> int:
    try:
        digits = normalise_number(arguments.number)  # checked before the file is touched
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    with database(config) as connection:
        try:
            SqliteNumbers(connection).add(
                digits, arguments.alias, arguments.app_id, arguments.sub_account
            )
        except NumberExistsError:
            return fail(f"number {digits} already exists", EXIT_FAILED)
        except InvalidFieldError as error:
            return fail(str(error), EXIT_USAGE)
        except UnknownReferenceError as error:
            return fail(str(error), EXIT_FAILED)
    print(digits)
    return 0


def _list(config: Config, arguments: argparse.Namespace) -> int:
    with database(config) as connection:
        for number in SqliteNumbers(connection).list():
            extras = (number.app_id or "-", number.sub_account or "-")
            print(number.number, number.alias, *extras, sep="\t")
    return 0


def _remove(config: Config, arguments: argparse.Namespace) -> int:
    try:
        digits = normalise_number(arguments.number)
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    with database(config) as connection:
        removed = SqliteNumbers(connection).remove(digits)
    if not removed:
        return fail(f"no number {digits}", EXIT_FAILED)
    return 0
