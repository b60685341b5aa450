import pytest

from mediaserver.store.carrier_address import parse_outgoing_address
from mediaserver.store.carriers import (
    CarrierExistsError,
    IncomingCarrier,
    OutgoingCarrier,
)
from mediaserver.store.database import open_database
from mediaserver.store.errors import InvalidFieldError
from mediaserver.store.sqlite_carriers import SqliteCarriers


@pytest.fixture
def carriers() -> SqliteCarriers:
    return SqliteCarriers(open_database(":memory:"))


def test_incoming_matches_v4_and_v6_networks(carriers: SqliteCarriers) -> None:
    added = carriers.add_incoming("acme", ["192.0.2.0/24", "2001:DB8::/32", "198.51.100.7"])
    assert added.addresses == ("192.0.2.0/24", "2001:db8::/32", "198.51.100.7")
    for source in ("192.0.2.1", "192.0.2.255", "2001:db8:1::5", "198.51.100.7", "::ffff:192.0.2.9"):
        assert carriers.incoming_for_source(source) == added, source
    for source in ("192.0.3.1", "198.51.100.8", "2001:db9::1", "10.0.0.1"):
        assert carriers.incoming_for_source(source) is None, source


def test_unparsable_source_matches_nothing(carriers: SqliteCarriers) -> None:
    carriers.add_incoming("any", ["0.0.0.0/0", "::/0"])
    for source in ("", "localhost", "192.0.2", "not-an-ip", "1.2.3.4/32"):
        assert carriers.incoming_for_source(source) is None


def test_disabled_carrier_is_not_matched_until_enabled(carriers: SqliteCarriers) -> None:
    carriers.add_incoming("acme", ["192.0.2.0/24"], enabled=False)
    assert carriers.incoming_for_source("192.0.2.1") is None
    assert carriers.set_enabled("incoming", "acme", True)
    matched = carriers.incoming_for_source("192.0.2.1")
    assert matched is not None
    assert matched.enabled
    assert not carriers.set_enabled("incoming", "nobody", True)


def test_most_specific_network_wins(carriers: SqliteCarriers) -> None:
    carriers.add_incoming("broad", ["10.0.0.0/8"], now=1.0)
    carriers.add_incoming("narrow", ["10.1.2.0/24"], now=2.0)
    assert [c.name for c in carriers.list_incoming()] == ["broad", "narrow"]
    assert _name(carriers.incoming_for_source("10.1.2.3")) == "narrow"
    assert _name(carriers.incoming_for_source("10.9.9.9")) == "broad"


@pytest.mark.parametrize(
    "address", ["", "example.com", "192.0.2.1/33", "2001:db8::g", "1.2.3.4:5060", "::1/129"]
)
def test_bad_incoming_addresses_are_refused_and_nothing_is_written(
    carriers: SqliteCarriers, address: str
) -> None:
    with pytest.raises(ValueError, match="not an IP address or CIDR network"):
        carriers.add_incoming("acme", ["192.0.2.1", address])
    assert carriers.list_incoming() == []


def test_network_with_host_bits_is_refused_with_a_suggestion(carriers: SqliteCarriers) -> None:
    with pytest.raises(ValueError, match=r"after the /24 mask: did you mean 10\.0\.0\.0/24\?"):
        carriers.add_incoming("acme", ["10.0.0.1/24"])
    with pytest.raises(ValueError, match="did you mean 2001:db8::/32"):
        carriers.add_incoming("acme", ["2001:db8::1/32"])
    assert carriers.list_incoming() == []


def test_incoming_needs_an_address_and_a_unique_name(carriers: SqliteCarriers) -> None:
    with pytest.raises(ValueError, match="at least one address"):
        carriers.add_incoming("acme", [])
    carriers.add_incoming("acme", ["192.0.2.1"])
    with pytest.raises(CarrierExistsError):
        carriers.add_incoming("acme", ["198.51.100.1"])
    assert carriers.incoming_for_source("198.51.100.1") is None


def test_removing_incoming_removes_its_addresses(carriers: SqliteCarriers) -> None:
    carriers.add_incoming("acme", ["192.0.2.1", "192.0.2.1", "192.0.2.2"])
    assert carriers.list_incoming()[0].addresses == ("192.0.2.1", "192.0.2.2")
    assert carriers.remove_incoming("acme")
    assert not carriers.remove_incoming("acme")
    rows = carriers._connection.execute("SELECT COUNT(*) FROM incoming_carrier_addresses")
    assert rows.fetchone()[0] == 0


def test_outgoing_round_trip_and_default(carriers: SqliteCarriers) -> None:
    assert carriers.default_outgoing() is None
    carriers.add_outgoing("first", "sip.example.com", enabled=False, now=1.0)
    second = carriers.add_outgoing(
        "second",
        "192.0.2.10:5080;transport=TCP",
        failover_address="[2001:db8::1]:5060",
        prefix="+",
        failover_prefix="00",
        suffix="#1",
        retries=3,
        retry_seconds=2.5,
        now=2.0,
    )
    carriers.add_outgoing("third", "trunk.example.net.", now=3.0)
    assert second == OutgoingCarrier(
        second.carrier_id,
        "second",
        "192.0.2.10:5080;transport=tcp",
        "[2001:db8::1]:5060",
        "+",
        "00",
        "#1",
        3,
        2.5,
        True,
    )
    assert carriers.outgoing("second") == second
    assert carriers.outgoing("nobody") is None
    assert carriers.default_outgoing() == second
    assert [c.name for c in carriers.list_outgoing()] == ["first", "second", "third"]
    assert carriers.set_enabled("outgoing", "second", False)
    assert _name(carriers.default_outgoing()) == "third"
    assert carriers.remove_outgoing("third")
    assert not carriers.remove_outgoing("third")
    assert carriers.default_outgoing() is None


def test_outgoing_defaults(carriers: SqliteCarriers) -> None:
    carrier = carriers.add_outgoing("plain", "192.0.2.1")
    assert (carrier.failover_address, carrier.prefix, carrier.suffix) == (None, "", "")
    assert (carrier.retries, carrier.retry_seconds, carrier.enabled) == (1, 5.0, True)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "2001:db8::1",
        "[2001:db8::1",
        "[2001:db8::1]5060",
        "[192.0.2.1]",
        "192.0.2.300",
        "host:0",
        "host:65536",
        "host:http",
        "host;transport=tls",
        "host;lr",
        "bad_host",
        "-host.example.com",
        "user@host",
        "sip:host",
    ],
)
def test_bad_outgoing_addresses_are_refused(carriers: SqliteCarriers, address: str) -> None:
    with pytest.raises(ValueError, match="outgoing carrier address"):
        carriers.add_outgoing("acme", address)
    with pytest.raises(ValueError, match="outgoing carrier address"):
        carriers.add_outgoing("acme", "192.0.2.1", failover_address=address or "x..y")
    assert carriers.list_outgoing() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"retries": -1}, "retries"),
        ({"retry_seconds": 0.0}, "retry seconds"),
        ({"retry_seconds": float("nan")}, "retry seconds"),
        ({"prefix": "1;user=phone"}, "prefix"),
        ({"failover_prefix": "00 "}, "failover_prefix"),
        ({"suffix": "@evil"}, "suffix"),
        ({"name": " acme"}, "carrier name"),
        ({"name": ""}, "carrier name"),
    ],
)
def test_bad_outgoing_settings_are_refused(
    carriers: SqliteCarriers, changes: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"name": "acme", "address": "192.0.2.1", **changes}
    with pytest.raises(ValueError, match=message):
        carriers.add_outgoing(**arguments)  # type: ignore[arg-type]
    assert carriers.list_outgoing() == []


def test_outgoing_name_clash(carriers: SqliteCarriers) -> None:
    carriers.add_outgoing("acme", "192.0.2.1")
    with pytest.raises(CarrierExistsError):
        carriers.add_outgoing("acme", "192.0.2.2")
    carriers.add_incoming("acme", ["192.0.2.1"])  # incoming and outgoing names are separate


def test_good_outgoing_addresses_are_kept() -> None:
    for address in ("h", "h:1", "a.b-c.example", "[::1]", "[::1]:5061;transport=udp", "1.2.3.4"):
        assert parse_outgoing_address(address) == address


def test_set_enabled_refuses_unknown_kind(carriers: SqliteCarriers) -> None:
    with pytest.raises(ValueError, match="carrier kind"):
        carriers.set_enabled("sideways", "acme", True)  # type: ignore[arg-type]


def _name(carrier: IncomingCarrier | OutgoingCarrier | None) -> str | None:
    return None if carrier is None else carrier.name


def test_update_and_remove_by_id(carriers: SqliteCarriers) -> None:
    incoming = carriers.add_incoming("in", ["192.0.2.1"])
    changed = carriers.update_incoming(incoming.carrier_id, addresses=["198.51.100.0/24"])
    assert changed == IncomingCarrier(incoming.carrier_id, "in", True, ("198.51.100.0/24",))
    assert carriers.incoming_by_id(incoming.carrier_id) == changed
    assert carriers.incoming_for_source("198.51.100.7") == changed
    with pytest.raises(InvalidFieldError) as refused:
        carriers.update_incoming(incoming.carrier_id, addresses=["nope"])
    assert refused.value.field == "addresses"
    assert carriers.incoming_by_id(incoming.carrier_id) == changed
    outgoing = carriers.add_outgoing("out", "192.0.2.9")
    updated = carriers.update_outgoing(outgoing.carrier_id, prefix="9", retries=3)
    assert updated is not None
    assert (updated.prefix, updated.retries, updated.address) == ("9", 3, "192.0.2.9")
    assert carriers.outgoing_by_id(outgoing.carrier_id) == updated
    carriers.add_outgoing("other", "192.0.2.10")
    with pytest.raises(CarrierExistsError):
        carriers.update_outgoing(outgoing.carrier_id, name="other")
    assert carriers.update_outgoing("nope", prefix="1") is None
    assert carriers.remove_carrier("outgoing", outgoing.carrier_id)
    assert carriers.remove_carrier("incoming", incoming.carrier_id)
    assert not carriers.remove_carrier("incoming", incoming.carrier_id)
    assert (carriers.list_incoming(), [c.name for c in carriers.list_outgoing()]) == ([], ["other"])
