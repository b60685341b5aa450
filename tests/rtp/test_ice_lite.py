"""The lite ICE agent answers a browser's checks (RFC 8445 §7.3), selects where media goes,
refuses what is not a valid check for it, and says when consent has expired (RFC 7675)."""

import struct

import pytest

from mediaserver.rtp.ice_lite import CONSENT_TIMEOUT, IceCredentials, IceLiteAgent
from mediaserver.rtp.stun import (
    BINDING_REQUEST,
    BINDING_SUCCESS_RESPONSE,
    ICE_CONTROLLED,
    ICE_CONTROLLING,
    PRIORITY,
    USE_CANDIDATE,
    USERNAME,
    XOR_MAPPED_ADDRESS,
    StunMessage,
    fingerprint_matches,
    serialize,
    xor_mapped_address,
)

LOCAL = IceCredentials("srvU", "server-password-0123456789")
BROWSER = ("192.0.2.7", 50000)
OTHER_PATH = ("198.51.100.7", 50002)


def check(
    *,
    username: str = "srvU:brwS",
    password: str = LOCAL.password,
    role: int = ICE_CONTROLLING,
    nominate: bool = False,
    transaction_id: bytes = b"t" * 12,
) -> bytes:
    """A connectivity check as a controlling browser sends it (RFC 8445 §7.1.1)."""
    body = _attribute(USERNAME, username.encode())
    body += _attribute(PRIORITY, struct.pack("!I", 1845501695))
    body += _attribute(role, b"\x01" * 8)  # the tie-breaker
    if nominate:
        body += _attribute(USE_CANDIDATE, b"")
    return serialize(BINDING_REQUEST, transaction_id, body, password.encode())


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)


def test_a_check_gets_a_signed_response_naming_its_source_and_selects_it() -> None:
    agent = IceLiteAgent(LOCAL, now=0.0)
    agent.remote_ufrag = "brwS"
    answered = agent.receive(check(), BROWSER, now=1.0)
    assert answered is not None
    assert answered.selected
    assert agent.selected == BROWSER
    assert not agent.nominated
    response = StunMessage.parse(answered.response)
    assert response.message_type == BINDING_SUCCESS_RESPONSE
    assert response.transaction_id == b"t" * 12
    assert response.attribute(XOR_MAPPED_ADDRESS) == xor_mapped_address(BROWSER, b"t" * 12)
    assert response.integrity_matches(LOCAL.password.encode())
    assert fingerprint_matches(answered.response)


def test_the_nominated_pair_takes_media_and_later_plain_checks_do_not_move_it() -> None:
    agent = IceLiteAgent(LOCAL, now=0.0)
    assert agent.receive(check(), BROWSER, now=0.1) is not None
    nominated = agent.receive(check(nominate=True), OTHER_PATH, now=0.2)
    assert nominated is not None
    assert nominated.selected
    assert agent.selected == OTHER_PATH
    assert agent.nominated
    again = agent.receive(check(), BROWSER, now=0.3)
    assert again is not None
    assert not again.selected
    assert agent.selected == OTHER_PATH


@pytest.mark.parametrize(
    "request_bytes",
    [
        check(password="not our password"),
        check(username="srvX:brwS"),  # another stream's ufrag
        check(username="srvU:other"),  # not the peer its SDP named
        check(username="srvU"),  # §7.2.2: both halves
        check(role=ICE_CONTROLLED),  # §6.1.3.1: we are lite, the peer must control
        check()[:-1],
        b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42" + b"t" * 12,  # no integrity at all
    ],
)
def test_invalid_checks_get_nothing_and_are_counted(request_bytes: bytes) -> None:
    agent = IceLiteAgent(LOCAL, now=0.0)
    agent.remote_ufrag = "brwS"
    assert agent.receive(request_bytes, BROWSER, now=1.0) is None
    assert (agent.checks_refused, agent.checks_answered, agent.selected) == (1, 0, None)


def test_checks_before_the_answer_names_the_peer_are_taken_on_our_half() -> None:
    agent = IceLiteAgent(LOCAL, now=0.0)
    assert agent.receive(check(username="srvU:anything"), BROWSER, now=0.5) is not None


def test_consent_expires_thirty_seconds_after_the_last_check() -> None:
    agent = IceLiteAgent(LOCAL, now=0.0)
    assert agent.receive(check(), BROWSER, now=10.0) is not None
    assert not agent.consent_expired(10.0 + CONSENT_TIMEOUT)
    assert agent.consent_expired(10.0 + CONSENT_TIMEOUT + 0.1)
    agent.receive(check(password="wrong"), BROWSER, now=39.0)  # refreshes nothing
    assert agent.consent_expired(40.1)


def test_consent_is_counted_from_when_the_peers_sdp_came() -> None:
    """A callee's browser rings before it checks: 40 s of ringing is no lost consent."""
    agent = IceLiteAgent(LOCAL, now=0.0)
    agent.expect_checks_from("brwS", now=40.0)
    assert agent.remote_ufrag == "brwS"
    assert not agent.consent_expired(41.0)
    assert agent.consent_expired(40.0 + CONSENT_TIMEOUT + 0.1)
