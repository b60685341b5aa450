"""Every message of RFC 4475 (SIP torture tests), parsed from fixtures/sip/rfc4475/.

The outcome table below is the decision for each message. "parses" means parse_message returns
it and its serialisation parses back to the same message; "rejects" means SipParseError with the
given reason and, from error_response_for, the given status (None: the datagram is dropped).
Quotes are RFC 4475's own words for the message.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Message, Request, Response, error_response_for, parse_message

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sip" / "rfc4475"


@dataclass(frozen=True)
class Rejects:
    reason: str
    response: int | None


PARSES = None

# name: (RFC 4475 section, outcome)  -- why, citing the RFC
OUTCOMES: dict[str, tuple[str, Rejects | None]] = {
    # §3.1.1 Valid Messages: "a parser must accept" every one of them.
    "wsinv": ("3.1.1.1", PARSES),
    "intmeth": ("3.1.1.2", PARSES),
    "esc01": ("3.1.1.3", PARSES),
    "escnull": ("3.1.1.4", PARSES),
    "esc02": ("3.1.1.5", PARSES),
    "lwsdisp": ("3.1.1.6", PARSES),
    "longreq": ("3.1.1.7", PARSES),
    "dblreq": ("3.1.1.8", PARSES),  # extra octets after Content-Length are discarded (§18.3)
    "semiuri": ("3.1.1.9", PARSES),
    "transports": ("3.1.1.10", PARSES),
    "mpart01": ("3.1.1.11", PARSES),
    "unreason": ("3.1.1.12", PARSES),
    "noreason": ("3.1.1.13", PARSES),
    # §3.1.2 Invalid Messages.
    # "This message is syntactically invalid": Via ";;,;,," has empty via-params. The broken
    # header is the Via itself, so no response can be routed (RFC 3261 §18.2.2): dropped.
    "badinv01": ("3.1.2.1", Rejects("malformed Via parameters", None)),
    # "a Content Length that is larger than the actual length of the body": over UDP the RFC
    # has the receiver answer 400 (on a stream it could only wait for more octets).
    "clerr": ("3.1.2.2", Rejects("body shorter than Content-Length", 400)),
    # "negative value for Content-Length": 400.
    "ncl": ("3.1.2.3", Rejects("malformed Content-Length", 400)),
    # CSeq > 2**32-1 (and Max-Forwards, Expires out of range): the RFC answers 400 for the
    # CSeq.
    "scalar02": ("3.1.2.4", Rejects("malformed CSeq", 400)),
    # "several scalar header field values outside their legal range" in a response: it is
    # dropped, as responses are never answered.
    "scalarlg": ("3.1.2.5", Rejects("malformed CSeq", None)),
    # Unterminated quote in the To display name: "should return a 400 Bad Request error".
    "quotbal": ("3.1.2.6", Rejects("To: unterminated quoted string", 400)),
    # "<>" around the Request-URI is invalid (RFC 3261 §7.1 "MUST NOT be enclosed in <>").
    "ltgtruri": ("3.1.2.7", Rejects("Request-URI: malformed URI", 400)),
    # "illegal LWS within the Request-URI": the Request-Line splits into four parts.
    "lwsruri": ("3.1.2.8", Rejects("malformed Request-Line", 400)),
    # "illegal multiple SP characters between elements of the start line"; liberal
    # acceptance is allowed, rejection is the strict reading of §7.1 ("single space").
    "lwsstart": ("3.1.2.9", Rejects("malformed Request-Line", 400)),
    # "It is acceptable to reject this request as malformed" (trailing SP).
    "trws": ("3.1.2.10", Rejects("malformed Request-Line", 400)),
    # "the SIP Request-URI contains escaped headers": not allowed there (RFC 3261 §19.1.1).
    "escruri": ("3.1.2.11", Rejects("Request-URI: headers are not allowed", 400)),
    # Non-GMT Date: "could ignore this value altogether if it wasn't going to use the Date
    # header field anyway" -- we never use Date, so only semantically invalid: parses.
    "baddate": ("3.1.2.12", PARSES),
    # Contact URI with headers outside <>: "This REGISTER request is malformed"; 400.
    "regbadct": ("3.1.2.13", Rejects("Contact: URI with ? or , must be enclosed in <>", 400)),
    # "the addr-spec in the To header field contains spaces": malformed, 400.
    "badaspec": ("3.1.2.14", Rejects("To: malformed URI", 400)),
    # Unquoted display names with non-token characters: malformed, 400.
    "baddn": (
        "3.1.2.15",
        Rejects("From: display name is neither tokens nor a quoted string", 400),
    ),
    # SIP/7.0: "malformed due to its high version number"; the answer would be 505, but its
    # only Via is SIP/7.0/UDP, which a SIP/2.0 element cannot route on: dropped.
    "badvers": ("3.1.2.16", Rejects("SIP version not supported", None)),
    # "mismatching values for the method in the start line and the CSeq": 400.
    "mismatch01": ("3.1.2.17", Rejects("CSeq method does not match the request method", 400)),
    # "an unknown method in the start line, and a CSeq method tag that does not match": the
    # mismatch makes it a 400 before the unknown method could make it a 501.
    "mismatch02": ("3.1.2.18", Rejects("CSeq method does not match the request method", 400)),
    # Status code > 699: "An element receiving this response should simply drop it."
    "bigcode": ("3.1.2.19", Rejects("malformed Status-Line", None)),
    # §3.2 Transaction-layer semantics: a bare "z9hG4bK" branch; "A parser must not break".
    "badbranch": ("3.2.1", PARSES),
    # §3.3 Application-layer semantics.
    # "no Call-ID, From, or To header fields": 400 is advised, but a response must copy those
    # very fields (RFC 3261 §8.2.6.2), so none can be built: dropped.
    "insuf": ("3.3.1", Rejects("missing From header", None)),
    # Unknown / atypical / unknown-in-headers schemes are well-formed absoluteURIs: the TU
    # answers 416 (RFC 3261 §8.2.2.1), the parser accepts.
    "unkscm": ("3.3.2", PARSES),
    "novelsc": ("3.3.3", PARSES),
    "unksm2": ("3.3.4", PARSES),
    "bext01": ("3.3.5", PARSES),  # Require / Proxy-Require: 420 is the TU's call
    "invut": ("3.3.6", PARSES),  # unknown Content-Type: 415 is the TU's call
    "regaut01": ("3.3.7", PARSES),  # unknown auth scheme: 401 is the TU's call
    # "multiple Call-ID, To, From, Max-Forwards, and CSeq values": "must not break"; one
    # cannot tell which value is meant, so it is a 400 like any malformed request.
    "multi01": ("3.3.8", Rejects("multiple CSeq values", 400)),
    # "Multiple conflicting Content-Length header field values": the body cannot be framed.
    "mcl01": ("3.3.9", Rejects("multiple Content-Length values", 400)),
    "bcast": ("3.3.10", PARSES),  # broadcast Via is for the transport to refuse
    "zeromf": ("3.3.11", PARSES),  # Max-Forwards 0: 483 is the TU's call
    "cparam01": ("3.3.12", PARSES),
    "cparam02": ("3.3.13", PARSES),
    "regescrt": ("3.3.14", PARSES),
    "sdp01": ("3.3.15", PARSES),  # Accept without SDP: 415 is the TU's call
    # §3.4.1: RFC 2543 syntax (no Max-Forwards, no branch, no Content-Length) "should be
    # accepted by RFC 3261 elements that want to maintain backwards compatibility".
    "inv2543": ("3.4.1", PARSES),
}


def _fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.sip").read_bytes()


def _start(message: Message) -> tuple[object, ...]:
    if isinstance(message, Request):
        return (message.method, message.uri)
    return (message.status_code, message.reason)


def test_the_table_covers_exactly_the_fixture_directory() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.sip")) == sorted(OUTCOMES)
    assert len(OUTCOMES) == 49


def test_fixtures_keep_their_crlf_line_ends() -> None:
    for path in FIXTURES.glob("*.sip"):
        data = path.read_bytes()
        assert data.count(b"\r\n") >= data.count(b"\n") - 3, path.name  # mpart01 has binary


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_torture_message_outcome(name: str) -> None:
    data = _fixture(name)
    _section, outcome = OUTCOMES[name]
    if outcome is PARSES:
        message = parse_message(data)
        again = parse_message(message.serialize())
        assert _start(again) == _start(message)
        assert again.headers.without("Content-Length") == message.headers.without("Content-Length")
        assert again.body == message.body
        assert again.serialize() == message.serialize()
        return
    assert outcome is not None
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert caught.value.reason == outcome.reason
    response = error_response_for(data, caught.value)
    if outcome.response is None:
        assert response is None
        return
    assert response is not None
    assert response.status_code == outcome.response
    assert response.reason == f"Bad Request - {outcome.reason}"
    # §8.2.6.2: the answer copies the request's Vias, From, To, Call-ID and CSeq; a broken
    # one is copied as it came, since the client matches by Via branch and CSeq method.
    assert response.headers.get_all("Via") == _raw_values(data, "Via")
    for name in ("From", "Call-ID", "CSeq"):
        assert [response.headers.get(name)] == _raw_values(data, name)[:1]
    assert response.serialize().startswith(b"SIP/2.0 400 Bad Request - ")


def _raw_values(data: bytes, name: str) -> list[str]:
    """The raw values of one header, read straight from the fixture's lines."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8").replace("\r\n ", " ").split("\r\n")
    return [
        value.strip()
        for field, _, value in (line.partition(":") for line in head[1:])
        if field.strip() == name
    ]


def test_wsinv_reads_through_folding_compact_forms_and_odd_spacing() -> None:
    message = parse_message(_fixture("wsinv"))
    assert isinstance(message, Request)
    assert (message.cseq.number, message.cseq.method, message.max_forwards) == (9, "INVITE", 68)
    assert [via.host for via in message.via] == [
        "192.0.2.9",
        "shuttle.example.net",
        "192.168.200.17",
    ]
    assert message.via[2].branch == "z9hG4bK88201"
    assert message.to_address.tag == "5521904377k"
    assert message.from_address.display_name == 'D Holloway \\"'
    (contact,) = message.contacts
    assert contact.display_name == 'Quoted text ""'
    assert contact.parameters == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.50"))
    assert message.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert len(message.body) == 150


def test_intmeth_keeps_unusual_method_user_and_password() -> None:
    message = parse_message(_fixture("intmeth"))
    assert isinstance(message, Request)
    assert message.method == "!curious-Method9876543210_*+`.%surely'~"
    assert message.uri.user == "2_odd.URI~(quite!so)&isn't+that$/odd?,/;;*"
    assert message.uri.password == "&so+is=2,this!*pas$wo~d_part.(isn't-it)"
    assert message.to_address.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_escapes_stay_as_written() -> None:
    esc01 = parse_message(_fixture("esc01"))
    assert isinstance(esc01, Request)
    assert esc01.uri.user == "sips%3Auser%40example.org"
    assert esc01.contacts[0].uri.parameter("n%61me") == "v%61lue%25%34%31"
    esc02 = parse_message(_fixture("esc02"))
    assert isinstance(esc02, Request)
    assert esc02.method == "RE%47IST%45R"
    assert esc02.from_address.display_name == "%Z%45"
    assert len(esc02.contacts) == 2  # "C%6Fntact" is another header
    escnull = parse_message(_fixture("escnull"))
    assert [c.uri.user for c in escnull.contacts] == ["%00", "%00%00"]


def test_user_part_may_hold_semicolons() -> None:
    message = parse_message(_fixture("semiuri"))
    assert isinstance(message, Request)
    assert message.uri.user == "user;par=u%40example.net"
    assert message.uri.parameters == ()
    assert len(message.headers.get_all("Accept")) == 6


def test_datagram_with_two_requests_keeps_only_the_first() -> None:
    message = parse_message(_fixture("dblreq"))
    assert isinstance(message, Request)
    assert (message.method, message.body) == ("REGISTER", b"")


def test_transports_and_reason_phrases() -> None:
    transports = parse_message(_fixture("transports"))
    assert [via.transport for via in transports.via] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    noreason = parse_message(_fixture("noreason"))
    assert isinstance(noreason, Response)
    assert (noreason.status_code, noreason.reason) == (100, "")
    unreason = parse_message(_fixture("unreason"))
    assert isinstance(unreason, Response)
    assert unreason.reason.startswith("= 2**3 * 5**2 но сто")


def test_multipart_body_is_kept_byte_exact() -> None:
    data = _fixture("mpart01")
    message = parse_message(data)
    assert message.body == data[-int(message.headers.get("Content-Length") or 0) :]


def test_unknown_schemes_are_opaque() -> None:
    unkscm = parse_message(_fixture("unkscm"))
    assert isinstance(unkscm, Request)
    assert (unkscm.uri.scheme, unkscm.uri.opaque) == (
        "nobodyknowsthisscheme",
        "totallyopaquecontent",
    )
    novelsc = parse_message(_fixture("novelsc"))
    assert isinstance(novelsc, Request)
    assert str(novelsc.uri) == "soap.beep://192.0.2.103:3002"
    unksm2 = parse_message(_fixture("unksm2"))
    assert unksm2.to_address.uri.scheme == "isbn"
    assert unksm2.contacts[0].uri.scheme == "name"


def test_contact_parameters_versus_uri_parameters() -> None:
    cparam01 = parse_message(_fixture("cparam01")).contacts[0]
    assert cparam01.parameter("unknownparam") is None
    assert cparam01.parameters == (("unknownparam", None),)
    assert cparam01.uri.parameters == ()
    cparam02 = parse_message(_fixture("cparam02")).contacts[0]
    assert cparam02.parameters == ()
    assert cparam02.uri.has_parameter("unknownparam")
    regescrt = parse_message(_fixture("regescrt")).contacts[0]
    assert regescrt.uri.headers == (("Route", "%3Csip:sip.example.org%3E"),)


def test_semantic_oddities_parse_for_the_layers_above() -> None:
    assert parse_message(_fixture("zeromf")).max_forwards == 0
    assert parse_message(_fixture("bcast")).via[1].host == "255.255.255.255"
    assert parse_message(_fixture("badbranch")).top_via.branch == "z9hG4bK"
    inv2543 = parse_message(_fixture("inv2543"))
    assert inv2543.max_forwards is None
    assert inv2543.top_via.branch is None
    assert inv2543.body.startswith(b"v=0\r\n")
