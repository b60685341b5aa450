"""Peers that vanish without a BYE (a browser's closed tab): the call ends when their
WebSocket closes, or when their media says the peer is gone (ICE consent, RFC 7675)."""

from mediaserver.calls.leg import MEDIA_CHECK_INTERVAL
from mediaserver.transport.peer import Peer
from tests.calls.conftest import Harness
from tests.calls.in_memory import ALICE, invite, sdp


async def answered_call(harness: Harness) -> None:
    harness.directory.register("bob", 5080)
    harness.service.handle_invite(invite("bob"))
    await harness.settle()
    [bob] = harness.sip.invites()
    bob.answer(200, sdp(6000))
    await harness.settle()
    assert len(harness.service.live_legs()) == 2


async def test_the_callers_connection_closing_ends_both_legs(harness: Harness) -> None:
    await answered_call(harness)
    harness.service.connection_closed(ALICE)
    await harness.settle()
    assert harness.service.live_legs() == []
    # Nothing can reach the caller any more; the callee gets its BYE.
    assert [sent.destination for sent in harness.sip.requests("BYE")] == [
        Peer("udp", "127.0.0.1", 5080)
    ]
    assert harness.causes() == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]


async def test_another_connection_closing_ends_nothing(harness: Harness) -> None:
    await answered_call(harness)
    harness.service.connection_closed(Peer("ws", "127.0.0.1", 40000))
    await harness.settle()
    assert len(harness.service.live_legs()) == 2


async def test_a_browser_is_given_a_contact_it_reaches_over_its_websocket(
    harness: Harness,
) -> None:
    harness.directory.register("bob", 5080)
    caller = invite("bob")
    caller.source = Peer("ws", "127.0.0.1", 40000)
    harness.service.handle_invite(caller)
    await harness.settle()
    harness.sip.invites()[0].answer(200, sdp(6000))
    await harness.settle()
    assert caller.statuses[-1] == 200
    # RFC 7118 §5.2: the transport=ws URI parameter, for ws and wss alike.
    assert str(caller.responses[-1].headers.get("Contact")).endswith(";transport=ws>")


async def test_a_leg_whose_peer_is_gone_hangs_up_at_the_next_media_check(
    harness: Harness,
) -> None:
    await answered_call(harness)
    harness.media[0].peer_gone = True
    await harness.advance(MEDIA_CHECK_INTERVAL)
    assert harness.service.live_legs() == []
    assert harness.causes()[0] == ("inbound", 6020, "Plivo")
