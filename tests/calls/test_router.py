"""Who may call and where calls go: endpoints, numbers, carriers with retries and failover."""

from dataclasses import dataclass

from mediaserver.calls.hangup_cause import Cause
from mediaserver.calls.router import Refusal, Route, Router
from mediaserver.sip.message import Request, parse_message
from mediaserver.store.bindings import Binding
from mediaserver.store.carriers import IncomingCarrier, new_outgoing_carrier
from mediaserver.transport.peer import Peer


@dataclass
class Directory:
    users: dict[str, list[Binding]]

    def contacts_for(self, username: str) -> list[Binding]:
        return self.users.get(username, [])

    def get(self, username: str) -> object | None:
        return username if username in self.users else None


@dataclass
class NumberRow:
    number: str
    alias: str


class Stores:
    def __init__(self, outgoing: object | None = None) -> None:
        self.outgoing = outgoing
        self.numbers = {"15550001111": NumberRow("15550001111", "alice")}

    def incoming_for_source(self, ip: str) -> IncomingCarrier | None:
        return (
            IncomingCarrier("c1", "trunk", True, ("198.51.100.0/24",))
            if ip.startswith("198.51.100.")
            else None
        )

    def default_outgoing(self):  # type: ignore[no-untyped-def]
        return self.outgoing

    def get(self, number: str) -> NumberRow | None:
        return self.numbers.get(number)


def binding(contact: str, host: str, port: int) -> Binding:
    return Binding("alice", contact, 2e9, None, "c", 1, "udp", host, port)


def invite(user: str) -> Request:
    message = parse_message(
        (
            f"INVITE sip:{user}@phone.local SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
            "From: <sip:bob@phone.local>;tag=a\r\nTo: <sip:x@phone.local>\r\nCall-ID: c\r\n"
            "CSeq: 1 INVITE\r\nContact: <sip:bob@192.0.2.1>\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def router(outgoing: object | None = None, registered: bool = True) -> Router:
    contacts = [
        binding("sip:alice@10.0.0.5:5062", "192.0.2.9", 40000),
        binding("sip:alice@10.0.0.6", "192.0.2.10", 5060),
    ]
    directory = Directory({"alice": contacts if registered else []})
    stores = Stores(outgoing)
    return Router(directory, directory, stores, stores)


def test_endpoint_contacts_are_all_rung_over_their_registration_flows() -> None:
    route = router().route_from_endpoint(invite("alice"))
    assert isinstance(route, Route)
    [attempt] = route.attempts
    assert [str(t.request_uri) for t in attempt.targets] == [
        "sip:alice@10.0.0.5:5062",
        "sip:alice@10.0.0.6",
    ]
    assert [t.destination for t in attempt.targets] == [
        Peer("udp", "192.0.2.9", 40000),
        Peer("udp", "192.0.2.10", 5060),
    ]


def test_unregistered_endpoint_is_cause_2020() -> None:
    refusal = router(registered=False).route_from_endpoint(invite("alice"))
    assert isinstance(refusal, Refusal)
    assert refusal.cause is Cause.ENDPOINT_NOT_REGISTERED
    assert refusal.cause.cause.code == 2020


def test_number_goes_through_the_carrier_then_its_failover() -> None:
    carrier = new_outgoing_carrier(
        "trunk", "203.0.113.5:5080", failover_address="203.0.113.6;transport=tcp",
        prefix="9", failover_prefix="8", suffix="#1", retries=1, retry_seconds=3,
    )  # fmt: skip
    route = router(carrier).route_from_endpoint(invite("+1-555-123-0000"))
    assert isinstance(route, Route)
    assert [str(a.targets[0].request_uri) for a in route.attempts] == [
        "sip:915551230000%231@203.0.113.5:5080",
        "sip:915551230000%231@203.0.113.5:5080",
        "sip:815551230000%231@203.0.113.6;transport=tcp",
    ]
    assert route.attempts[2].targets[0].destination == Peer("tcp", "203.0.113.6", 5060)
    assert all(a.answer_timeout == 3 and a.failover for a in route.attempts)


def test_no_outgoing_carrier_is_a_routing_error() -> None:
    refusal = router(None).route_from_endpoint(invite("15551230000"))
    assert isinstance(refusal, Refusal)
    assert refusal.cause is Cause.ROUTING_ERROR


def test_carrier_calls_reach_numbers_only() -> None:
    assert isinstance(router().route_from_carrier(invite("+15550001111")), Route)
    refusal = router().route_from_carrier(invite("15559999999"))
    assert isinstance(refusal, Refusal)
    assert refusal.cause.cause.sip_status == 404


def test_incoming_carrier_by_source_address() -> None:
    assert router().incoming_carrier(Peer("udp", "198.51.100.7", 5060)) is not None
    assert router().incoming_carrier(Peer("udp", "192.0.2.1", 5060)) is None


def test_numbers_are_dialled_as_people_write_them() -> None:
    """The router and the store share one normalisation: what a phone dials with separators
    or %-escapes finds the number the store keeps as digits."""
    directory = router()
    for user in ("%2B1%20(555)%20000-1111", "+1-555-000-1111", "1.555.000.1111"):
        route = directory.route_from_carrier(invite(user))
        assert isinstance(route, Route), user
        assert route.to_number == "15550001111"
