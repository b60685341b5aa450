import pytest

from mediaserver.transport.local_address import LocalAddress
from mediaserver.transport.peer import Peer


def local_address(*bound: Peer, advertised_address: str = "") -> LocalAddress:
    local = LocalAddress(advertised_address, "phone.local")
    local.bound += bound
    return local


@pytest.mark.parametrize(
    ("host", "port", "ours"),
    [
        ("192.0.2.1", 5060, True),
        ("192.0.2.1", None, True),
        ("192.0.2.1", 5070, False),
        ("192.0.2.2", 5060, False),
        ("2001:db8::1", 5060, True),
        ("2001:db8:0::1", 5060, True),  # the same address, written otherwise
        ("phone.local", None, True),
        ("Phone.Local", 5060, True),
        ("phone.local", 5070, False),
        ("203.0.113.7", 5060, True),  # advertised
        ("elsewhere.example", None, False),
    ],
)
def test_names_us_by_domain_advertised_or_bound_address(
    host: str, port: int | None, ours: bool
) -> None:
    local = local_address(
        Peer("udp", "192.0.2.1", 5060),
        Peer("tcp", "2001:db8::1", 5060),
        advertised_address="203.0.113.7",
    )
    assert local.names_us(host, port) is ours


def test_a_wildcard_socket_is_reached_at_any_address_of_this_machine() -> None:
    local = local_address(Peer("udp", "0.0.0.0", 5060))
    assert local.names_us("127.0.0.1", 5060)
    assert not local.names_us("192.0.2.1", 5060)  # documentation range: no interface has it
    assert not local.names_us("::1", 5060)  # an IPv4 socket
    assert not local.names_us("localhost", 5060)  # names are not resolved
