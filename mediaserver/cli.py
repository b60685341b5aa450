"""Command line: `mediaserver run`, and admin commands that work without the REST API."""

import argparse
import sys
import time
from pathlib import Path

from mediaserver.admin import EXIT_FAILED, EXIT_USAGE, fail
from mediaserver.admin import applications as application_commands
from mediaserver.admin import call_records as call_record_commands
from mediaserver.admin import carriers as carrier_commands
from mediaserver.admin import numbers as number_commands
from mediaserver.admin import simulate as simulate_command
from mediaserver.config import Config, ConfigError, load_config
from mediaserver.store.applications import UnknownApplicationError
from mediaserver.store.database import SchemaTooNewError, open_database
from mediaserver.store.endpoints import EndpointExistsError, SqliteEndpoints
from mediaserver.store.errors import InvalidFieldError


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        config = load_config(arguments.config)
    except ConfigError as error:
        print(f"mediaserver: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(arguments.handler(config, arguments))
    except SchemaTooNewError as error:
        print(f"mediaserver: {error}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediaserver")
    parser.add_argument("--config", type=Path, help="TOML file (default: embedded defaults)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the server")
    run.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    run.set_defaults(handler=_run)

    config = commands.add_parser("config", help="configuration").add_subparsers(required=True)
    check = config.add_parser("check", help="validate the configuration and print it")
    check.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    check.set_defaults(handler=_config_check)

    endpoint = commands.add_parser("endpoint", help="SIP users").add_subparsers(required=True)
    add = endpoint.add_parser("add", help="create a SIP user; prints its username")
    add.add_argument("username")
    add.add_argument("password")
    add.add_argument("--alias", default="")
    add.add_argument("--app", dest="app_id", default=None, help="the application its calls run")
    add.add_argument(
        "--exact",
        action="store_true",
        help="keep the username as given (Plivo appends a yymmddHHMMSS suffix)",
    )
    add.set_defaults(handler=_endpoint_add)
    listing = endpoint.add_parser("list", help="list SIP users")
    listing.set_defaults(handler=_endpoint_list)
    remove = endpoint.add_parser("remove", help="delete a SIP user and its registrations")
    remove.add_argument("username")
    remove.set_defaults(handler=_endpoint_remove)
    leaves = [add, listing, remove]
    modules = (
        application_commands,
        carrier_commands,
        number_commands,
        call_record_commands,
        simulate_command,
    )
    for module in modules:
        leaves += module.add_commands(commands)
    for sub in leaves:
        sub.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    return parser


def _run(config: Config, arguments: argparse.Namespace) -> int:
    from mediaserver.app import run_server

    return run_server(config)


def _config_check(config: Config, arguments: argparse.Namespace) -> int:
    print(f"configuration OK: SIP domain {config.sip.domain}, listening on", *config.sip.listen)
    return 0


def _endpoint_add(config: Config, arguments: argparse.Namespace) -> int:
    username = arguments.username
    if not arguments.exact:
        # Plivo's Endpoint API appends the creation time to the requested username.
        username += time.strftime("%y%m%d%H%M%S", time.gmtime())
    endpoints = SqliteEndpoints(open_database(config.storage.sqlite_path))
    try:
        endpoints.add(
            username,
            arguments.password,
            config.sip.domain,
            arguments.alias,
            arguments.app_id,
            time.time(),
        )
    except EndpointExistsError:
        return fail(f"endpoint {username} already exists", EXIT_FAILED)
    except InvalidFieldError as error:
        return fail(str(error), EXIT_USAGE)
    except UnknownApplicationError as error:
        return fail(str(error), EXIT_FAILED)
    print(username)
    return 0


def _endpoint_list(config: Config, arguments: argparse.Namespace) -> int:
    for endpoint in SqliteEndpoints(open_database(config.storage.sqlite_path)).list():
        print(endpoint.username, endpoint.alias, endpoint.app_id or "-", sep="\t")
    return 0


def _endpoint_remove(config: Config, arguments: argparse.Namespace) -> int:
    if not SqliteEndpoints(open_database(config.storage.sqlite_path)).remove(arguments.username):
        print(f"mediaserver: no endpoint {arguments.username}", file=sys.stderr)
        return 1
    return 0
