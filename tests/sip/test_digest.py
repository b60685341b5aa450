import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaserver.sip.digest import (
    DigestChallenge,
    DigestCredentials,
    Nonces,
    NonceState,
    designates_request_target,
    digest_response,
    ha1_for,
    parse_parameters,
    quote,
)
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.uri import SipUri

SECRET = b"0123456789abcdef"


def test_rfc_7616_sha256_example_response() -> None:
    # RFC 7616 §3.9.1 (HTTP, but the computation is the same).
    ha1 = ha1_for("Mufasa", "http-auth@example.org", "Circle of Life", "SHA-256")
    response = digest_response(
        ha1,
        method="GET",
        uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        algorithm="SHA-256",
        qop="auth",
        nonce_count=1,
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_rfc_7616_md5_example_response() -> None:
    ha1 = ha1_for("Mufasa", "http-auth@example.org", "Circle of Life", "MD5")
    response = digest_response(
        ha1,
        method="GET",
        uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        algorithm="MD5",
        qop="auth",
        nonce_count=1,
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == "8ca523f5e9506fed4657c9700eebdbec"


def test_response_without_qop_is_rfc_2069_form() -> None:
    ha1 = hashlib.md5(b"bob:r:pw").hexdigest()
    ha2 = hashlib.md5(b"REGISTER:sip:r").hexdigest()
    expected = hashlib.md5(f"{ha1}:n:{ha2}".encode()).hexdigest()
    assert digest_response(ha1, method="REGISTER", uri="sip:r", nonce="n", algorithm="MD5") == (
        expected
    )


def test_parameters_with_quoted_commas_escapes_and_spacing() -> None:
    scheme, parameters = parse_parameters(
        'Digest  username = "a\\"b,c" ,realm="x, y",nc=00000001 , qop=auth'
    )
    assert scheme == "Digest"
    assert parameters == {"username": 'a"b,c', "realm": "x, y", "nc": "00000001", "qop": "auth"}


@pytest.mark.parametrize(
    "text",
    [
        "Digest",
        'Digest realm="unterminated',
        'Digest realm="a" nonce="b"',
        "Digest realm=",
        'Digest realm="a", realm="b"',
        'Digest realm="a",',
        "Digest =x",
    ],
)
def test_malformed_parameters_raise_parse_error(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_parameters(text)


def test_challenge_round_trip_and_wire_form() -> None:
    challenge = DigestChallenge("phone.local", "abc", "SHA-256", stale=True)
    assert str(challenge) == (
        'Digest realm="phone.local", nonce="abc", stale=true, algorithm=SHA-256, qop="auth"'
    )
    assert DigestChallenge.parse(str(challenge)) == challenge


def test_credentials_round_trip() -> None:
    credentials = DigestCredentials(
        username="alice",
        realm="phone.local",
        nonce="n",
        uri="sip:phone.local",
        response="0" * 32,
        algorithm="MD5",
        qop="auth",
        nonce_count=10,
        cnonce="c",
    )
    text = str(credentials)
    assert "nc=0000000a" in text
    assert DigestCredentials.parse(text) == credentials


def test_credentials_algorithm_defaults_to_md5_and_is_case_insensitive() -> None:
    base = 'Digest username="a", realm="r", nonce="n", uri="sip:r", response="AB"'
    assert DigestCredentials.parse(base).algorithm == "MD5"
    assert DigestCredentials.parse(base + ", algorithm=sha-256").algorithm == "SHA-256"
    assert DigestCredentials.parse(base).response == "ab"


@pytest.mark.parametrize(
    "extra",
    [
        ", algorithm=SHA-512",
        ", qop=auth",
        ", qop=auth, nc=1, cnonce=x",
        ", userhash=true",
        ", username*=UTF-8''a",
    ],
)
def test_unusable_credentials_raise_parse_error(extra: str) -> None:
    with pytest.raises(SipParseError):
        DigestCredentials.parse(
            'Digest username="a", realm="r", nonce="n", uri="sip:r", response="ab"' + extra
        )


def test_missing_required_parameter_and_other_scheme_raise() -> None:
    with pytest.raises(SipParseError):
        DigestCredentials.parse('Digest realm="r", nonce="n", uri="sip:r", response="ab"')
    with pytest.raises(SipParseError):
        DigestCredentials.parse('Basic realm="r"')


def test_matches_checks_the_password() -> None:
    right = ha1_for("alice", "r", "pw", "SHA-256")
    credentials = DigestCredentials("alice", "r", "n", "sip:r", "", "SHA-256", "auth", 1, "c")
    signed = DigestCredentials(
        "alice",
        "r",
        "n",
        "sip:r",
        credentials.expected_response(right, "REGISTER"),
        "SHA-256",
        "auth",
        1,
        "c",
    )
    assert signed.matches(right, "REGISTER")
    assert not signed.matches(ha1_for("alice", "r", "wrong", "SHA-256"), "REGISTER")
    assert not signed.matches(right, "INVITE")


@given(st.text(max_size=30))
def test_quote_round_trips_any_text(value: str) -> None:
    _, parameters = parse_parameters(f"Digest v={quote(value)}")
    assert parameters["v"] == value


def test_nonce_is_valid_then_stale_and_forgery_is_invalid() -> None:
    nonces = Nonces(SECRET, lifetime=300)
    nonce = nonces.issue(now=1000.0)
    assert nonces.check(nonce, now=1299.0) is NonceState.VALID
    assert nonces.check(nonce, now=1301.0) is NonceState.STALE
    assert Nonces(b"another secret", 300).check(nonce, now=1000.0) is NonceState.INVALID
    tampered = nonce[:11] + ("0" if nonce[11] != "0" else "1") + nonce[12:]
    assert nonces.check(tampered, now=1000.0) is NonceState.INVALID
    assert nonces.check("short", now=1000.0) is NonceState.INVALID


def test_each_challenge_gets_a_different_nonce() -> None:
    nonces = Nonces(SECRET, lifetime=300)
    assert len({nonces.issue(now=5.0) for _ in range(100)}) == 100


def test_nonce_count_must_increase() -> None:
    nonces = Nonces(SECRET, lifetime=300)
    nonce = nonces.issue(now=0.0)
    assert nonces.accept_count(nonce, 1, now=0.0)
    assert not nonces.accept_count(nonce, 1, now=0.0)
    assert nonces.accept_count(nonce, 2, now=1.0)
    assert not nonces.accept_count(nonce, 1, now=1.0)
    assert not nonces.accept_count("forged", 5, now=1.0)


def test_replay_tracking_is_bounded_and_forgotten_nonces_are_refused() -> None:
    nonces = Nonces(SECRET, lifetime=300, max_tracked=10)
    issued = [nonces.issue(now=float(i)) for i in range(30)]
    for index, nonce in enumerate(issued[:20]):
        assert nonces.accept_count(nonce, 1, now=float(index))
    assert nonces.tracked() == 10
    # The first ten were forgotten: a replay of them must not be accepted again.
    assert not nonces.accept_count(issued[0], 2, now=20.0)
    assert nonces.accept_count(issued[25], 1, now=25.0)


def test_expired_nonces_leave_the_replay_table() -> None:
    nonces = Nonces(SECRET, lifetime=10)
    first = nonces.issue(now=0.0)
    assert nonces.accept_count(first, 1, now=0.0)
    later = nonces.issue(now=50.0)
    assert nonces.accept_count(later, 1, now=50.0)
    assert nonces.tracked() == 1


def names_only_us(host: str, port: int | None) -> bool:
    """A server at 192.0.2.1:5060, for the digest-uri rule alone."""
    return host == "192.0.2.1" and port in (None, 5060)


@pytest.mark.parametrize(
    ("digest_uri", "request_uri", "designates"),
    [
        ("sip:phone.local", "sip:phone.local", True),
        ("sip:bob@PHONE.LOCAL:5060", "sip:bob@phone.local:5060", True),
        ("sip:192.0.2.1:5060", "sip:phone.local", True),  # SIPp: the address it sent to
        ("sip:192.0.2.1;transport=tcp", "sip:bob@phone.local", True),
        ("sip:carol@192.0.2.1", "sip:bob@phone.local", True),  # RFC 3261 §22.4 item 6
        ("sip:192.0.2.2:5060", "sip:phone.local", False),
        ("sip:192.0.2.1:5070", "sip:phone.local", False),
        ("sip:192.0.2.1;maddr=198.51.100.1", "sip:phone.local", False),
        ("sips:192.0.2.1", "sip:phone.local", False),
        ("tel:+15550001111", "sip:phone.local", False),
    ],
)
def test_digest_uri_designates_the_request_uri_or_this_server(
    digest_uri: str, request_uri: str, designates: bool
) -> None:
    target = SipUri.parse(request_uri)
    assert designates_request_target(digest_uri, target, names_only_us) is designates


def test_malformed_digest_uri_is_a_parse_error() -> None:
    # SIPp writes "sip:" + its remote address unbracketed, so an IPv6 target gives this.
    with pytest.raises(SipParseError):
        designates_request_target("sip:::1:5060", SipUri.parse("sip:phone.local"), names_only_us)
