"""`mediaserver carrier incoming|outgoing add|list|remove|enable|disable`."""

import argparse

from mediaserver.admin import EXIT_FAILED, EXIT_USAGE, Subcommands, database, fail
from mediaserver.config import Config
from mediaserver.store.carriers import (
    CarrierExistsError,
    CarrierKind,
    new_incoming_carrier,
    new_outgoing_carrier,
)
from mediaserver.store.sqlite_carriers import SqliteCarriers


def add_commands(commands: Subcommands) -> list[argparse.ArgumentParser]:
    carrier = commands.add_parser("carrier", help="SIP trunks").add_subparsers(required=True)
    incoming = carrier.add_parser("incoming", help="carriers allowed to send us calls")
    outgoing = carrier.add_parser("outgoing", help="carriers our outbound calls go through")
    return [*_incoming_commands(incoming), *_outgoing_commands(outgoing)]


def _incoming_commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    commands = parser.add_subparsers(required=True)
    add = commands.add_parser("add", help="accept calls from these IPs; prints the carrier id")
    add.add_argument("name")
    add.add_argument("addresses", nargs="+", metavar="ADDRESS", help="IP address or CIDR network")
    add.add_argument("--disabled", action="store_true", help="store it switched off")
    add.set_defaults(handler=_incoming_add)
    listing = commands.add_parser("list", help="name, enabled|disabled, addresses")
    listing.set_defaults(handler=_incoming_list)
    return [add, listing, *_name_commands(commands, "incoming")]


def _outgoing_commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    commands = parser.add_subparsers(required=True)
    add = commands.add_parser("add", help="route outbound calls here; prints the carrier id")
    add.add_argument("name")
    add.add_argument("--address", required=True, help="host[:port][;transport=udp|tcp]")
    add.add_argument("--failover-address", default=None, help="tried when --address fails")
    add.add_argument("--prefix", default="", help="prepended to the dialled number")
    add.add_argument("--failover-prefix", default="", help="prefix for the failover address")
    add.add_argument("--suffix", default="", help="appended to the dialled number")
    add.add_argument("--retries", type=int, default=1, help="attempts after the first (1)")
    add.add_argument("--retry-seconds", type=float, default=5.0, help="between attempts (5)")
    add.add_argument("--disabled", action="store_true", help="store it switched off")
    add.set_defaults(handler=_outgoing_add)
    listing = commands.add_parser(
        "list",
        help="name, enabled|disabled, address, failover address, prefix, failover prefix,"
        " suffix, retries, retry seconds ('-' for empty); the default carrier first",
    )
    listing.set_defaults(handler=_outgoing_list)
    return [add, listing, *_name_commands(commands, "outgoing")]


def _name_commands(commands: Subcommands, kind: CarrierKind) -> list[argparse.ArgumentParser]:
    remove = commands.add_parser("remove", help=f"forget an {kind} carrier")
    remove.set_defaults(handler=_remove, kind=kind)
    enable = commands.add_parser("enable", help=f"switch an {kind} carrier on")
    enable.set_defaults(handler=_set_enabled, kind=kind, enabled=True)
    disable = commands.add_parser("disable", help=f"switch an {kind} carrier off")
    disable.set_defaults(handler=_set_enabled, kind=kind, enabled=False)
    for sub in (remove, enable, disable):
        sub.add_argument("name")
    return [remove, enable, disable]


def _incoming_add(config: Config, arguments: argparse.Namespace) -> int:
    try:  # checked before the database file is touched
        checked = new_incoming_carrier(arguments.name, arguments.addresses, not arguments.disabled)
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    with database(config) as connection:
        try:
            carrier = SqliteCarriers(connection).add_incoming(
                checked.name, checked.addresses, checked.enabled
            )
        except CarrierExistsError:
            return fail(f"incoming carrier {checked.name} already exists", EXIT_FAILED)
    print(carrier.carrier_id)
    return 0


def _incoming_list(config: Config, arguments: argparse.Namespace) -> int:
    with database(config) as connection:
        for carrier in SqliteCarriers(connection).list_incoming():
            print(carrier.name, _state(carrier.enabled), ",".join(carrier.addresses), sep="\t")
    return 0


def _outgoing_add(config: Config, arguments: argparse.Namespace) -> int:
    settings = {
        "name": arguments.name,
        "address": arguments.address,
        "failover_address": arguments.failover_address,
        "prefix": arguments.prefix,
        "failover_prefix": arguments.failover_prefix,
        "suffix": arguments.suffix,
        "retries": arguments.retries,
        "retry_seconds": arguments.retry_seconds,
        "enabled": not arguments.disabled,
    }
    try:  # checked before the database file is touched
        new_outgoing_carrier(**settings)
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    with database(config) as connection:
        try:
            carrier = SqliteCarriers(connection).add_outgoing(**settings)
        except CarrierExistsError:
            return fail(f"outgoing carrier {arguments.name} already exists", EXIT_FAILED)
    print(carrier.carrier_id)
    return 0


def _outgoing_list(config: Config, arguments: argparse.Namespace) -> int:
    with database(config) as connection:
        for carrier in SqliteCarriers(connection).list_outgoing():
            texts = (
                carrier.address,
                carrier.failover_address,
                carrier.prefix,
                carrier.failover_prefix,
                carrier.suffix,
            )
            fields = [text or "-" for text in texts]
            retries = f"{carrier.retries}\t{carrier.retry_seconds:g}"
            print(carrier.name, _state(carrier.enabled), *fields, retries, sep="\t")
    return 0


def _remove(config: Config, arguments: argparse.Namespace) -> int:
    with database(config) as connection:
        carriers = SqliteCarriers(connection)
        remove = (
            carriers.remove_incoming if arguments.kind == "incoming" else carriers.remove_outgoing
        )
        removed = remove(arguments.name)
    if not removed:
        return fail(f"no {arguments.kind} carrier {arguments.name}", EXIT_FAILED)
    return 0


def _set_enabled(config: Config, arguments: argparse.Namespace) -> int:
    with database(config) as connection:
        found = SqliteCarriers(connection).set_enabled(
            arguments.kind, arguments.name, arguments.enabled
        )
    if not found:
        return fail(f"no {arguments.kind} carrier {arguments.name}", EXIT_FAILED)
    return 0


def _state(enabled: bool) -> str:
    return "enabled" if enabled else "disabled"
