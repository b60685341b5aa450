"""`mediaserver application add|list|update|remove`: the Plivo applications that drive calls.

Field checks are the store's (the REST API makes the same ones), so a bad URL or method is
refused here with the field's Plivo name.
"""

import argparse
from typing import cast

from mediaserver.admin import EXIT_FAILED, EXIT_USAGE, Subcommands, database, fail
from mediaserver.config import Config
from mediaserver.store.applications import (
    Application,
    ApplicationChanges,
    ApplicationOptions,
    InvalidApplicationError,
    SqliteApplications,
    UnknownApplicationError,
    new_application,
)

# Options that map one to one onto Application fields; None means "not given".
_OPTIONS = (
    "answer_method",
    "hangup_url",
    "hangup_method",
    "fallback_answer_url",
    "fallback_method",
    "default_endpoint_app",
    "default_number_app",
)


def add_commands(commands: Subcommands) -> list[argparse.ArgumentParser]:
    application = commands.add_parser("application", help="Plivo applications")
    actions = application.add_subparsers(required=True)
    add = actions.add_parser("add", help="create an application; prints its app_id last")
    add.add_argument("app_name", metavar="NAME")
    add.add_argument("--answer-url", required=True)
    _add_options(add)
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", help="app_id, name, URLs and methods, default flags")
    listing.set_defaults(handler=_list)
    update = actions.add_parser("update", help="change the options given, keep the others")
    update.add_argument("app_id")
    update.add_argument("--name", dest="app_name")
    update.add_argument("--answer-url")
    _add_options(update)
    update.set_defaults(handler=_update)
    remove = actions.add_parser("remove", help="delete; its endpoints and numbers keep no app")
    remove.add_argument("app_id")
    remove.set_defaults(handler=_remove)
    return [add, listing, update, remove]


def _add_options(parser: argparse.ArgumentParser) -> None:
    for name in ("answer", "hangup", "fallback"):
        parser.add_argument(f"--{name}-method", metavar="GET|POST", help="POST unless given")
    parser.add_argument("--hangup-url", help="'' for none")
    parser.add_argument("--fallback-answer-url", help="'' for none")
    for name in ("endpoint", "number"):
        parser.add_argument(
            f"--default-{name}-app",
            action=argparse.BooleanOptionalAction,
            help=f"run it for calls {'from endpoints' if name == 'endpoint' else 'to numbers'}"
            " that have no application of their own (one per account)",
        )


def _given(arguments: argparse.Namespace, names: tuple[str, ...]) -> dict[str, object]:
    return {
        name: getattr(arguments, name) for name in names if getattr(arguments, name) is not None
    }


def _add(config: Config, arguments: argparse.Namespace) -> int:
    options = cast(ApplicationOptions, _given(arguments, _OPTIONS))  # named as the fields are
    try:  # checked before the database file is touched
        application = new_application(arguments.app_name, arguments.answer_url, **options)
    except InvalidApplicationError as error:
        return fail(str(error), EXIT_USAGE)
    with database(config) as connection:
        SqliteApplications(connection).add(application)
    print(application.app_id)
    return 0


def _list(config: Config, arguments: argparse.Namespace) -> int:
    with database(config) as connection:
        for application in SqliteApplications(connection).list():
            print(*_columns(application), sep="\t")
    return 0


def _columns(application: Application) -> tuple[str, ...]:
    defaults = [
        flag
        for flag, is_set in (
            ("default-endpoint-app", application.default_endpoint_app),
            ("default-number-app", application.default_number_app),
        )
        if is_set
    ]
    return (
        application.app_id,
        application.app_name,
        f"{application.answer_method} {application.answer_url}",
        f"{application.hangup_method} {application.hangup_url or '-'}",
        f"{application.fallback_method} {application.fallback_answer_url or '-'}",
        ",".join(defaults) or "-",
    )


def _update(config: Config, arguments: argparse.Namespace) -> int:
    given = _given(arguments, ("app_name", "answer_url", *_OPTIONS))
    changes = cast(ApplicationChanges, given)  # named as the fields are
    with database(config) as connection:
        try:
            SqliteApplications(connection).update(arguments.app_id, **changes)
        except InvalidApplicationError as error:
            return fail(str(error), EXIT_USAGE)
        except UnknownApplicationError as error:
            return fail(str(error), EXIT_FAILED)
    return 0


def _remove(config: Config, arguments: argparse.Namespace) -> int:
    with database(config) as connection:
        removed = SqliteApplications(connection).remove(arguments.app_id)
    if not removed:
        return fail(f"no application {arguments.app_id}", EXIT_FAILED)
    return 0
