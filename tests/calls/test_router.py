"""Who may call and where calls go: applications (the caller's, the number's, the account's
defaults), endpoints, numbers, carriers with retries and failover."""

import dataclasses
from dataclasses import dataclass, field

from mediaserver.calls.hangup_cause import Cause
from mediaserver.calls.router import ApplicationRoute, Refusal, Route, Router
from mediaserver.sip.message import Request, parse_message
from mediaserver.sip.uri import SipUri
from mediaserver.store.applications import Application
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
    app_id: str | None = None
    sub_account: str | None = None


@dataclass(frozen=True)
class Caller:
    username: str = "bob"
    app_id: str | None = None
    sub_account: str | None = None


IVR = Application("10000000000000001", "ivr", "https://app.example/ivr")
DEFAULT_ENDPOINT = Application("10000000000000002", "outbound", "https://app.example/out")
DEFAULT_NUMBER = Application("10000000000000003", "inbound", "https://app.example/in")
SUB_ACCOUNT_DEFAULT = Application("10000000000000004", "sub", "https://app.example/sub")


@dataclass
class ApplicationDirectory:
    by_id: dict[str, Application] = field(
        default_factory=lambda: {app.app_id: app for app in (IVR, DEFAULT_ENDPOINT, DEFAULT_NUMBER)}
    )
    endpoint_default: Application | None = None
    number_defaults: dict[str | None, Application] = field(default_factory=dict)

    def get(self, app_id: str) -> Application | None:
        return self.by_id.get(app_id)

    def default_endpoint_app(self, sub_account: str | None = None) -> Application | None:
        return self.endpoint_default if sub_account is None else None

    def default_number_app(self, sub_account: str | None = None) -> Application | None:
        return self.number_defaults.get(sub_account)


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


def router(
    outgoing: object | None = None,
    registered: bool = True,
    applications: ApplicationDirectory | None = None,
    numbers: list[NumberRow] | None = None,
) -> Router:
    contacts = [
        binding("sip:alice@10.0.0.5:5062", "192.0.2.9", 40000),
        binding("sip:alice@10.0.0.6", "192.0.2.10", 5060),
    ]
    directory = Directory({"alice": contacts if registered else []})
    stores = Stores(outgoing)
    stores.numbers.update({row.number: row for row in numbers or []})
    return Router(directory, directory, stores, stores, applications or ApplicationDirectory())


def test_endpoint_contacts_are_all_rung_over_their_registration_flows() -> None:
    route = router().route_from_endpoint(invite("alice"), Caller())
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
    refusal = router(registered=False).route_from_endpoint(invite("alice"), Caller())
    assert isinstance(refusal, Refusal)
    assert refusal.cause is Cause.ENDPOINT_NOT_REGISTERED
    assert refusal.cause.cause.code == 2020


def test_number_goes_through_the_carrier_then_its_failover() -> None:
    carrier = new_outgoing_carrier(
        "trunk", "203.0.113.5:5080", failover_address="203.0.113.6;transport=tcp",
        prefix="9", failover_prefix="8", suffix="#1", retries=1, retry_seconds=3,
    )  # fmt: skip
    route = router(carrier).route_from_endpoint(invite("+1-555-123-0000"), Caller())
    assert isinstance(route, Route)
    assert [str(a.targets[0].request_uri) for a in route.attempts] == [
        "sip:915551230000%231@203.0.113.5:5080",
        "sip:915551230000%231@203.0.113.5:5080",
        "sip:815551230000%231@203.0.113.6;transport=tcp",
    ]
    assert route.attempts[2].targets[0].destination == Peer("tcp", "203.0.113.6", 5060)
    assert all(a.answer_timeout == 3 and a.failover for a in route.attempts)


def test_no_outgoing_carrier_is_a_routing_error() -> None:
    refusal = router(None).route_from_endpoint(invite("15551230000"), Caller())
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


# -- applications -----------------------------------------------------------------------------


def test_caller_with_an_application_runs_it_whatever_it_calls() -> None:
    route = router().route_from_endpoint(invite("alice"), Caller(app_id=IVR.app_id))
    assert route == ApplicationRoute(IVR, "alice")
    route = router().route_from_endpoint(invite("+1-555-123-0000"), Caller(app_id=IVR.app_id))
    assert route == ApplicationRoute(IVR, "15551230000")  # a number, as To shows it
    route = router().route_from_endpoint(invite("menu"), Caller(app_id=IVR.app_id))
    assert route == ApplicationRoute(IVR, "menu")  # neither endpoint nor number: the app decides


def test_caller_without_one_runs_the_default_endpoint_application() -> None:
    applications = ApplicationDirectory(endpoint_default=DEFAULT_ENDPOINT)
    route = router(applications=applications).route_from_endpoint(invite("alice"), Caller())
    assert route == ApplicationRoute(DEFAULT_ENDPOINT, "alice")
    own = router(applications=applications).route_from_endpoint(
        invite("alice"), Caller(app_id=IVR.app_id)
    )
    assert own == ApplicationRoute(IVR, "alice")  # the caller's own beats the default


def test_a_sub_accounts_endpoint_never_runs_the_main_accounts_default() -> None:
    applications = ApplicationDirectory(endpoint_default=DEFAULT_ENDPOINT)
    route = router(applications=applications).route_from_endpoint(
        invite("alice"), Caller(sub_account="SA00000000000000000B")
    )
    assert isinstance(route, Route)  # no default of its own: dialled directly


def test_no_application_at_all_dials_the_called_endpoint_directly() -> None:
    route = router().route_from_endpoint(invite("alice"), Caller())
    assert isinstance(route, Route)
    assert route.to_number == "alice"
    assert len(route.attempts[0].targets) == 2


def test_the_called_endpoints_application_does_not_drive_the_call() -> None:
    """An endpoint's application drives the calls it makes; a call to it still rings it."""
    route = router().route_from_endpoint(invite("alice"), Caller(username="carol"))
    assert isinstance(route, Route)


def test_a_removed_application_counts_as_none() -> None:
    route = router().route_from_endpoint(invite("alice"), Caller(app_id="99"))
    assert isinstance(route, Route)
    applications = ApplicationDirectory(endpoint_default=DEFAULT_ENDPOINT)
    route = router(applications=applications).route_from_endpoint(
        invite("alice"), Caller(app_id="99")
    )
    assert route == ApplicationRoute(DEFAULT_ENDPOINT, "alice")


def test_an_empty_request_uri_user_is_refused_before_any_application() -> None:
    no_user = dataclasses.replace(invite("alice"), uri=SipUri.parse("sip:phone.local"))
    refusal = router().route_from_endpoint(no_user, Caller(app_id=IVR.app_id))
    assert isinstance(refusal, Refusal)
    assert refusal.cause is Cause.INVALID_DESTINATION


def test_number_with_an_application_runs_it() -> None:
    numbers = [NumberRow("15550002222", "alice", app_id=IVR.app_id)]
    applications = ApplicationDirectory(number_defaults={None: DEFAULT_NUMBER})
    route = router(applications=applications, numbers=numbers).route_from_carrier(
        invite("+1-555-000-2222")
    )
    assert route == ApplicationRoute(IVR, "15550002222")


def test_number_without_one_runs_its_accounts_default_number_application() -> None:
    numbers = [NumberRow("15550003333", "", sub_account="SA1")]
    applications = ApplicationDirectory(
        number_defaults={None: DEFAULT_NUMBER, "SA1": SUB_ACCOUNT_DEFAULT}
    )
    routing = router(applications=applications, numbers=numbers)
    assert routing.route_from_carrier(invite("15550001111")) == ApplicationRoute(
        DEFAULT_NUMBER, "15550001111"
    )  # before its alias
    assert routing.route_from_carrier(invite("15550003333")) == ApplicationRoute(
        SUB_ACCOUNT_DEFAULT, "15550003333"
    )


def test_number_with_no_application_rings_its_alias_or_routes_nowhere() -> None:
    numbers = [NumberRow("15550004444", ""), NumberRow("15550005555", "nobody")]
    routing = router(numbers=numbers)
    route = routing.route_from_carrier(invite("15550001111"))
    assert isinstance(route, Route)
    assert route.to_number == "15550001111"
    for number in ("15550004444", "15550005555"):
        refusal = routing.route_from_carrier(invite(number))
        assert isinstance(refusal, Refusal)
        assert refusal.cause is Cause.ROUTING_ERROR


def test_default_endpoint_application_is_not_used_for_numbers() -> None:
    applications = ApplicationDirectory(endpoint_default=DEFAULT_ENDPOINT)
    assert isinstance(
        router(applications=applications).route_from_carrier(invite("15550001111")), Route
    )


SHOP = "SA0000000000000000SH"
SHOP_IVR = Application("10000000000000005", "shop", "https://shop.example/ivr", sub_account=SHOP)


def test_a_call_belongs_to_the_account_of_its_number_or_calling_endpoint() -> None:
    applications = ApplicationDirectory()
    applications.by_id[SHOP_IVR.app_id] = SHOP_IVR
    numbers = [
        NumberRow("15550006666", "", app_id=SHOP_IVR.app_id, sub_account=SHOP),
        NumberRow("15550007777", "alice", sub_account=SHOP),
    ]
    routing = router(applications=applications, numbers=numbers)
    to_app = routing.route_from_carrier(invite("15550006666"))
    assert to_app == ApplicationRoute(SHOP_IVR, "15550006666")
    assert to_app.sub_account == SHOP
    to_alias = routing.route_from_carrier(invite("15550007777"))
    assert isinstance(to_alias, Route)
    assert to_alias.sub_account == SHOP
    from_endpoint = routing.route_from_endpoint(invite("alice"), Caller(sub_account=SHOP))
    assert isinstance(from_endpoint, Route)
    assert from_endpoint.sub_account == SHOP
    main = routing.route_from_endpoint(invite("alice"), Caller())
    assert isinstance(main, Route)
    assert main.sub_account is None


def test_another_accounts_application_is_never_run() -> None:
    """A number or endpoint linked to another account's application (the store refuses the
    link; a row written around it) runs its own account's default, or is dialled directly."""
    applications = ApplicationDirectory(number_defaults={SHOP: SUB_ACCOUNT_DEFAULT})
    applications.by_id[SHOP_IVR.app_id] = SHOP_IVR
    numbers = [
        NumberRow("15550008888", "", app_id=IVR.app_id, sub_account=SHOP),
        NumberRow("15550009999", "alice", app_id=SHOP_IVR.app_id),
    ]
    routing = router(applications=applications, numbers=numbers)
    assert routing.route_from_carrier(invite("15550008888")) == ApplicationRoute(
        SUB_ACCOUNT_DEFAULT, "15550008888"
    )
    to_alias = routing.route_from_carrier(invite("15550009999"))
    assert isinstance(to_alias, Route)
    assert to_alias.sub_account is None
    from_endpoint = routing.route_from_endpoint(invite("alice"), Caller(app_id=SHOP_IVR.app_id))
    assert isinstance(from_endpoint, Route)
