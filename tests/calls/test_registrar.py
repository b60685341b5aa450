import re
import sqlite3
from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.calls.registrar import Registrar
from mediaserver.clock import ManualClock
from mediaserver.config import RegistrarConfig
from mediaserver.sip.digest import DigestChallenge, DigestCredentials, ha1_for
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request, Response, parse_message
from mediaserver.store.bindings import Binding, SqliteBindings
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.transport.local_address import LocalAddress
from mediaserver.transport.peer import Peer

DOMAIN = "phone.local"
SOURCE = Peer("udp", "192.0.2.10", 5070)
CONTACT = "sip:alice@192.0.2.10:5070"


class Client:
    """A UA registering through the registrar; answers each 401 like a real UA would."""

    def __init__(self, registrar: Registrar, username: str = "alice", password: str = "s3cret"):
        self.registrar = registrar
        self.username = username
        self.password = password
        self.call_id = "call-1@192.0.2.10"
        self.cseq = 0

    def request(self, *headers: str, authorization: str | None = None, to: str = "") -> Request:
        self.cseq += 1
        lines = [
            f"REGISTER sip:{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK{self.cseq}x",
            "Max-Forwards: 70",
            f"From: <sip:{self.username}@{DOMAIN}>;tag=from1",
            f"To: <{to or f'sip:{self.username}@{DOMAIN}'}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            *headers,
        ]
        if authorization is not None:
            lines.append(f"Authorization: {authorization}")
        message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
        assert isinstance(message, Request)
        return message

    def send(self, *headers: str, source: Peer = SOURCE, to: str = "") -> Response:
        """REGISTER, and on a 401 once more with credentials; the final response."""
        first = self.registrar.handle_register(self.request(*headers, to=to), source)
        if first.status_code != 401:
            return first
        authorization = self.answer(first)
        return self.registrar.handle_register(
            self.request(*headers, authorization=authorization, to=to), source
        )

    def answer(
        self, challenge_response: Response, nonce_count: int = 1, username: str = "",
        uri: str = f"sip:{DOMAIN}",
    ) -> str:  # fmt: skip
        challenge = DigestChallenge.parse(challenge_response.headers.get_all("WWW-Authenticate")[0])
        username = username or self.username
        ha1 = ha1_for(username, challenge.realm, self.password, challenge.algorithm)
        unsigned = DigestCredentials(
            username, challenge.realm, challenge.nonce, uri, "",
            challenge.algorithm, "auth", nonce_count, "cnonce1",
        )  # fmt: skip
        return str(replace(unsigned, response=unsigned.expected_response(ha1, "REGISTER")))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def server_names() -> LocalAddress:
    """This registrar listens on 192.0.2.1:5060 (UDP and TCP) and is 203.0.113.7 behind NAT."""
    local = LocalAddress("203.0.113.7", DOMAIN)
    local.bound += [Peer("udp", "192.0.2.1", 5060), Peer("tcp", "192.0.2.1", 5060)]
    return local


def make_registrar(clock: ManualClock, **settings: object) -> Registrar:
    connection = open_database(":memory:")
    endpoints = SqliteEndpoints(connection)
    endpoints.add("alice", "s3cret", DOMAIN, "", None, 0.0)
    endpoints.add("bob", "hunter2", DOMAIN, "", None, 0.0)
    config = RegistrarConfig(**settings)  # type: ignore[arg-type]
    return Registrar(
        config, DOMAIN, endpoints, SqliteBindings(connection), clock, b"k" * 32, server_names()
    )


@pytest.fixture
def registrar(clock: ManualClock) -> Registrar:
    return make_registrar(clock)


def contacts(response: Response) -> list[str]:
    return response.headers.get_all("Contact")


def test_register_is_challenged_then_bound(registrar: Registrar) -> None:
    client = Client(registrar)
    challenge = registrar.handle_register(client.request(f"Contact: <{CONTACT}>"), SOURCE)
    assert challenge.status_code == 401
    assert challenge.to_address.tag
    value = challenge.headers.get("WWW-Authenticate") or ""
    assert re.fullmatch(
        r'Digest realm="phone.local", nonce="\w+", algorithm=MD5, qop="auth"', value
    )
    response = client.send(f"Contact: <{CONTACT}>", "Expires: 600")
    assert response.status_code == 200
    assert contacts(response) == [f"<{CONTACT}>;expires=600"]
    assert (response.headers.get("Date") or "").endswith(" GMT")
    binding = registrar.contacts_for("alice")[0]
    assert (binding.contact, binding.source_host, binding.transport) == (
        CONTACT,
        "192.0.2.10",
        "udp",
    )


def test_both_algorithms_are_offered_sha256_first(clock: ManualClock) -> None:
    registrar = make_registrar(clock, digest_algorithms=["MD5", "SHA-256"])
    client = Client(registrar)
    challenge = registrar.handle_register(client.request(), SOURCE)
    algorithms = [
        DigestChallenge.parse(value).algorithm
        for value in challenge.headers.get_all("WWW-Authenticate")
    ]
    assert algorithms == ["SHA-256", "MD5"]
    assert client.send(f"Contact: <{CONTACT}>").status_code == 200


def test_algorithm_not_offered_is_challenged_again(registrar: Registrar) -> None:
    assert register_answering(registrar, algorithm="SHA-256").status_code == 401


def register_answering(
    registrar: Registrar, signed_over: str = f"sip:{DOMAIN}", **changes: str
) -> Response:
    """alice's REGISTER answering the 401 with a response computed over the uri `signed_over`,
    then `changes` made to her credentials."""
    client = Client(registrar)
    challenge = registrar.handle_register(client.request(), SOURCE)
    answer = client.answer(challenge, uri=signed_over)
    credentials = replace(DigestCredentials.parse(answer), **changes)
    return registrar.handle_register(client.request(authorization=str(credentials)), SOURCE)


def strip_variable_parts(response: Response) -> bytes:
    text = response.serialize().decode()
    text = re.sub(r"tag=\w+", "tag=X", text)
    text = re.sub(r'nonce="\w+"', 'nonce="X"', text)
    return text.encode()


def test_unknown_user_and_wrong_password_answer_identically(registrar: Registrar) -> None:
    # The same REGISTER for alice, once with credentials of a user that does not exist and
    # once with alice's name and a wrong password.
    answers = []
    for credentials_user, password in (("mallory", "s3cret"), ("alice", "guess")):
        client = Client(registrar, password=password)
        challenge = registrar.handle_register(client.request(), SOURCE)
        authorization = client.answer(challenge, username=credentials_user)
        final = registrar.handle_register(client.request(authorization=authorization), SOURCE)
        answers.append((challenge, final))
    assert answers[0][1].status_code == answers[1][1].status_code == 403
    assert strip_variable_parts(answers[0][0]) == strip_variable_parts(answers[1][0])
    assert strip_variable_parts(answers[0][1]) == strip_variable_parts(answers[1][1])
    assert registrar.contacts_for("alice") == []
    assert Client(registrar, username="mallory").send(f"Contact: <{CONTACT}>").status_code == 403


def test_one_user_may_not_register_another(registrar: Registrar) -> None:
    bob = Client(registrar, username="bob", password="hunter2")
    response = bob.send(f"Contact: <{CONTACT}>", to=f"sip:alice@{DOMAIN}")
    assert response.status_code == 403
    assert registrar.contacts_for("alice") == []


def test_foreign_domain_is_not_found_and_require_is_refused(registrar: Registrar) -> None:
    client = Client(registrar)
    assert client.send(to="sip:alice@example.com").status_code == 404
    refused = client.send("Require: gruu")
    assert (refused.status_code, refused.headers.get("Unsupported")) == (420, "gruu")


def test_late_response_gets_stale_challenge(clock: ManualClock, registrar: Registrar) -> None:
    client = Client(registrar)
    challenge = registrar.handle_register(client.request(), SOURCE)
    clock.advance(301)
    authorization = client.answer(challenge)
    late = registrar.handle_register(client.request(authorization=authorization), SOURCE)
    assert late.status_code == 401
    assert DigestChallenge.parse(late.headers.get("WWW-Authenticate") or "").stale
    wrong = Client(registrar, password="nope")
    late_wrong = registrar.handle_register(
        wrong.request(authorization=wrong.answer(challenge)), SOURCE
    )
    assert late_wrong.status_code == 403


def test_replayed_nonce_count_is_refused(registrar: Registrar) -> None:
    client = Client(registrar)
    challenge = registrar.handle_register(client.request(), SOURCE)
    first = client.answer(challenge, nonce_count=1)
    assert registrar.handle_register(client.request(authorization=first), SOURCE).status_code == 200
    replay = registrar.handle_register(client.request(authorization=first), SOURCE)
    assert replay.status_code == 401
    assert DigestChallenge.parse(replay.headers.get("WWW-Authenticate") or "").stale
    second = client.answer(challenge, nonce_count=2)
    assert (
        registrar.handle_register(client.request(authorization=second), SOURCE).status_code == 200
    )


@pytest.mark.parametrize(
    "uri",
    [
        "sip:192.0.2.1:5060",  # SIPp: "sip:" + the address it sent to
        "sip:192.0.2.1",
        "sip:192.0.2.1:5060;transport=tcp",
        "sip:PHONE.local:5060",
        "sip:203.0.113.7:5060",  # the advertised address
        "sip:alice@192.0.2.1:5060",  # RFC 3261 §22.4: the user may differ
    ],
)
def test_digest_uri_naming_this_server_is_accepted(registrar: Registrar, uri: str) -> None:
    assert register_answering(registrar, uri).status_code == 200


@pytest.mark.parametrize(
    "uri",
    [
        "sip:elsewhere.example",
        "sip:192.0.2.99:5060",
        "sip:192.0.2.1:5070",  # our address, but no socket of ours on that port
        "sip:phone.local:5070",
        "sip:192.0.2.1:5060;maddr=198.51.100.1",
        "sips:192.0.2.1:5060",
        "tel:+15550001111",
    ],
)
def test_digest_uri_naming_another_resource_is_bad_request(registrar: Registrar, uri: str) -> None:
    """RFC 7616 §3.4.6: 400, whether or not the password is right (the user is not looked up)."""
    response = register_answering(registrar, uri)
    assert (response.status_code, response.reason) == (
        400,
        "Bad Request - Digest uri names neither the Request-URI nor this server",
    )


def test_response_is_verified_over_the_digest_uri_as_sent(registrar: Registrar) -> None:
    # Computed over the Request-URI, sent with a uri naming us: it does not verify (403).
    assert register_answering(registrar, uri="sip:192.0.2.1:5060").status_code == 403


def test_invite_credentials_may_name_this_server(registrar: Registrar) -> None:
    """A SIPp call scenario's Proxy-Authorization: its uri is our address, not the callee."""
    endpoint = registrar.authenticate(signed_invite(registrar, "sip:192.0.2.1:5060"), SOURCE)
    assert not isinstance(endpoint, Response)
    assert endpoint.username == "alice"


def test_invite_credentials_naming_another_host_are_refused(registrar: Registrar) -> None:
    invite = signed_invite(registrar, "sip:192.0.2.99:5060")
    with pytest.raises(SipParseError, match="Digest uri names neither"):
        registrar.authenticate(invite, SOURCE)  # the SIP service answers it 400


def signed_invite(registrar: Registrar, uri: str) -> Request:
    """alice's INVITE to bob, with her answer to the registrar's 407 computed over `uri`."""
    challenge = registrar.authenticate(make_invite(), SOURCE)
    assert isinstance(challenge, Response)
    assert challenge.status_code == 407
    offered = DigestChallenge.parse(challenge.headers.get("Proxy-Authenticate") or "")
    ha1 = ha1_for("alice", DOMAIN, "s3cret", offered.algorithm)
    unsigned = DigestCredentials(
        "alice", DOMAIN, offered.nonce, uri, "", offered.algorithm, "auth", 1, "cnonce1"
    )
    signed = replace(unsigned, response=unsigned.expected_response(ha1, "INVITE"))
    return make_invite(str(signed))


def make_invite(proxy_authorization: str = "") -> Request:
    lines = [
        f"INVITE sip:bob@{DOMAIN} SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKinvite",
        "Max-Forwards: 70",
        f"From: <sip:alice@{DOMAIN}>;tag=from1",
        f"To: <sip:bob@{DOMAIN}>",
        "Call-ID: invite-1@192.0.2.10",
        "CSeq: 1 INVITE",
        *([f"Proxy-Authorization: {proxy_authorization}"] if proxy_authorization else []),
    ]
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def test_malformed_authorization_is_bad_request(registrar: Registrar) -> None:
    client = Client(registrar)
    response = registrar.handle_register(client.request(authorization='Digest realm="x'), SOURCE)
    assert response.status_code == 400
    assert response.reason.startswith("Bad Request - ")


def test_expiry_precedence_and_bounds(registrar: Registrar) -> None:
    client = Client(registrar)
    response = client.send(
        f"Contact: <{CONTACT}>;expires=120, <sip:alice@192.0.2.11>",
        "Contact: <sip:alice@192.0.2.12>;expires=99999",
        "Expires: 300",
    )
    assert contacts(response) == [
        f"<{CONTACT}>;expires=120",
        "<sip:alice@192.0.2.11>;expires=300",
        "<sip:alice@192.0.2.12>;expires=3600",
    ]
    default = Client(registrar, username="bob", password="hunter2").send("Contact: <sip:b@h>")
    assert contacts(default) == ["<sip:b@h>;expires=3600"]


def test_too_brief_interval_is_423_with_min_expires(registrar: Registrar) -> None:
    response = Client(registrar).send(f"Contact: <{CONTACT}>;expires=30")
    assert (response.status_code, response.reason) == (423, "Interval Too Brief")
    assert response.headers.get("Min-Expires") == "60"
    assert registrar.contacts_for("alice") == []


def test_query_lists_bindings_with_remaining_time(clock: ManualClock, registrar: Registrar) -> None:
    client = Client(registrar)
    client.send(f"Contact: <{CONTACT}>", "Expires: 600")
    clock.advance(100)
    query = client.send()
    assert query.status_code == 200
    assert contacts(query) == [f"<{CONTACT}>;expires=500"]


def test_refresh_then_expiry_then_sweep(clock: ManualClock, registrar: Registrar) -> None:
    client = Client(registrar)
    client.send(f"Contact: <{CONTACT}>", "Expires: 100")
    clock.advance(90)
    client.send(f"Contact: <{CONTACT}>", "Expires: 100")
    clock.advance(90)
    assert [b.contact for b in registrar.contacts_for("alice")] == [CONTACT]
    clock.advance(11)
    assert registrar.contacts_for("alice") == []
    assert contacts(client.send()) == []
    assert registrar.sweep_expired() == 1


def test_expires_zero_removes_one_contact(registrar: Registrar) -> None:
    client = Client(registrar)
    client.send(f"Contact: <{CONTACT}>, <sip:alice@192.0.2.11>")
    response = client.send(f"Contact: <{CONTACT}>;expires=0")
    assert contacts(response) == ["<sip:alice@192.0.2.11>;expires=3600"]


def test_star_with_expires_zero_removes_all(registrar: Registrar) -> None:
    client = Client(registrar)
    client.send(f"Contact: <{CONTACT}>, <sip:alice@192.0.2.11>")
    response = client.send("Contact: *", "Expires: 0")
    assert (response.status_code, contacts(response)) == (200, [])
    assert registrar.contacts_for("alice") == []


@pytest.mark.parametrize(
    "headers",
    [("Contact: *",), ("Contact: *", "Expires: 10")],
)
def test_star_needs_expires_zero_and_no_other_contact(
    registrar: Registrar, headers: tuple[str, ...]
) -> None:
    client = Client(registrar)
    client.send(f"Contact: <{CONTACT}>")
    assert client.send(*headers).status_code == 400
    assert len(registrar.contacts_for("alice")) == 1


def test_same_call_id_must_increase_cseq(registrar: Registrar) -> None:
    client = Client(registrar)
    client.cseq = 10
    client.send(f"Contact: <{CONTACT}>")
    client.cseq = 5
    stale = client.send(f"Contact: <{CONTACT}>;expires=0")
    assert stale.status_code == 400
    assert len(registrar.contacts_for("alice")) == 1
    other_call = Client(registrar)
    other_call.call_id = "another-call"
    assert contacts(other_call.send(f"Contact: <{CONTACT}>;expires=0")) == []


def test_several_contacts_from_several_devices(registrar: Registrar) -> None:
    phone, laptop = Client(registrar), Client(registrar)
    laptop.call_id = "laptop-call"
    phone.send(f"Contact: <{CONTACT}>")
    response = laptop.send("Contact: <sip:alice@198.51.100.7:5062;transport=tcp>;q=0.5")
    assert contacts(response) == [
        f"<{CONTACT}>;expires=3600",
        "<sip:alice@198.51.100.7:5062;transport=tcp>;expires=3600;q=0.5",
    ]


def test_bindings_end_with_their_websocket(registrar: Registrar) -> None:
    browser, phone = Client(registrar), Client(registrar)
    browser.call_id = "browser-call"
    flow = Peer("wss", "192.0.2.20", 51000)
    browser.send("Contact: <sip:k2mofu5m@df7jal23ls0d.invalid;transport=ws>", source=flow)
    phone.send(f"Contact: <{CONTACT}>")
    assert len(registrar.contacts_for("alice")) == 2
    registrar.connection_closed(Peer("wss", "192.0.2.20", 51001))  # another browser's socket
    registrar.connection_closed(flow)
    assert [binding.contact for binding in registrar.contacts_for("alice")] == [CONTACT]
    assert registrar.statistics()["bindings_closed_with_connection"] == 1


@pytest.mark.parametrize("contact", ["<sip:a@h>;expires=soon", "<sip:a@h>;q=2", "<sip:a@h>;q=x"])
def test_malformed_contact_is_bad_request(registrar: Registrar, contact: str) -> None:
    response = Client(registrar).send(f"Contact: {contact}")
    assert response.status_code == 400
    assert registrar.contacts_for("alice") == []


def test_repeated_failures_from_one_source_are_refused(clock: ManualClock) -> None:
    registrar = make_registrar(clock, failures_per_minute=3)
    attacker = Client(registrar, password="guess")
    for _ in range(3):
        assert attacker.send().status_code == 403
    honest = Client(registrar)
    assert honest.send(f"Contact: <{CONTACT}>").status_code == 403
    elsewhere = Peer("udp", "192.0.2.99", 5060)
    assert honest.send(f"Contact: <{CONTACT}>", source=elsewhere).status_code == 200
    clock.advance(60)
    assert honest.send(f"Contact: <{CONTACT}>").status_code == 200
    assert registrar.statistics()["rate_limited"] == 1


def test_statistics_count_outcomes(registrar: Registrar) -> None:
    Client(registrar).send(f"Contact: <{CONTACT}>")
    Client(registrar, password="bad").send()
    statistics = registrar.statistics()
    assert statistics["challenged"] == 2
    assert statistics["registered"] == 1
    assert statistics["forbidden"] == 1
    assert statistics["bindings"] == 1


class BrokenBindings(SqliteBindings):
    def update(self, username: str, upserts: Sequence[Binding], removals: Sequence[str]) -> None:
        raise sqlite3.OperationalError("database is locked")


def test_store_failure_is_500_with_retry_after(clock: ManualClock) -> None:
    connection = open_database(":memory:")
    endpoints = SqliteEndpoints(connection)
    endpoints.add("alice", "s3cret", DOMAIN, "", None, 0.0)
    registrar = Registrar(
        RegistrarConfig(), DOMAIN, endpoints, BrokenBindings(connection), clock, b"k" * 32,
        server_names(),
    )  # fmt: skip
    response = Client(registrar).send(f"Contact: <{CONTACT}>")
    assert (response.status_code, response.headers.get("Retry-After")) == (500, "5")


def test_credentials_for_another_realm_are_ignored(registrar: Registrar) -> None:
    assert register_answering(registrar, realm="elsewhere").status_code == 401


def test_sha256_only_registrar(clock: ManualClock) -> None:
    registrar = make_registrar(clock, digest_algorithms=["SHA-256"])
    client = Client(registrar)
    challenge = registrar.handle_register(client.request(), SOURCE)
    assert "algorithm=SHA-256" in (challenge.headers.get("WWW-Authenticate") or "")
    assert len(challenge.headers.get_all("WWW-Authenticate")) == 1
    assert client.send(f"Contact: <{CONTACT}>").status_code == 200


def test_to_without_user_is_not_found(registrar: Registrar) -> None:
    assert Client(registrar).send(to=f"sip:{DOMAIN}").status_code == 404


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120))
def test_any_authorization_text_gets_a_protocol_answer(text: str) -> None:
    registrar = make_registrar(ManualClock())
    client = Client(registrar)
    response = registrar.handle_register(client.request(authorization=f"Digest {text}"), SOURCE)
    assert response.status_code in (400, 401, 403)
