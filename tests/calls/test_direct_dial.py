"""The direct-dial script and the legs under it, on an in-memory SIP peer and a manual clock:
ring, answer, bridge, hang up; busy, cancel, ring timeout, lost race, carrier failover; the
legs' own limits; the 2xx retransmitted until its ACK."""

from types import SimpleNamespace

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import DigitReceived, DigitSource, LegState
from mediaserver.calls.scripts import first_to_end
from tests.calls.conftest import Harness
from tests.calls.in_memory import from_callee, in_dialog, invite, sdp


async def ringing_call(harness: Harness, *ports: int) -> object:
    for port in ports or (5080,):
        harness.directory.register("bob", port)
    alice = invite("bob")
    harness.service.handle_invite(alice)
    await harness.settle()
    return alice


async def test_answered_call_is_bridged_and_a_bye_ends_both_legs(harness: Harness) -> None:
    alice = await ringing_call(harness)
    [bob] = harness.sip.invites()
    bob.answer(180)
    await harness.settle()
    assert 180 in alice.statuses  # type: ignore[attr-defined]
    bob.answer(200, sdp(6000))
    await harness.settle()
    assert alice.statuses[-1] == 200  # type: ignore[attr-defined]
    a_media, b_media = harness.media
    assert a_media.connected_to(b_media)
    assert len(harness.sip.acks) == 1  # §13.2.2.4: our ACK to bob's 2xx
    a_leg = harness.service.live_legs()[0]
    assert a_leg.custom_headers == {"X-PH-Customer": "42"}
    bye = in_dialog(alice, "BYE", 2)  # type: ignore[arg-type]
    harness.service.handle_in_dialog(bye)
    await harness.settle()
    assert bye.statuses == [200]
    assert harness.sip.requests("BYE")  # bob's leg is ended with a BYE
    assert harness.causes() == [("inbound", 4000, "Caller"), ("outbound", 4000, "Caller")]
    assert harness.service.statistics()["call_timers"] == 0


async def test_a_callee_moved_to_its_own_script_leaves_the_caller_to_end(
    harness: Harness,
) -> None:
    """A REST transfer of the B leg: the direct dial has nothing left for the caller."""
    await ringing_call(harness)
    harness.sip.invites()[0].answer(200, sdp(6000))
    await harness.settle()
    a_leg, b_leg = harness.service.live_legs()
    b_leg.unbridge()

    async def its_own_document() -> None:
        await first_to_end(b_leg)

    harness.service.scripts.move(b_leg, "transfer", its_own_document())
    await harness.settle()
    assert (a_leg.ended, b_leg.ended) == (True, False)
    assert harness.causes() == [("inbound", 4000, "Plivo")]
    b_leg.hangup(Cause.NORMAL_CLEARING, HangupSource.API_REQUEST)
    await harness.settle()


async def test_busy_callee_refuses_the_caller_with_486(harness: Harness) -> None:
    alice = await ringing_call(harness)
    harness.sip.invites()[0].answer(486)
    await harness.settle()
    assert alice.statuses[-1] == 486  # type: ignore[attr-defined]
    assert harness.causes() == [("outbound", 3010, "Callee"), ("inbound", 3010, "Callee")]


async def test_caller_cancel_cancels_the_ringing_callee(harness: Harness) -> None:
    alice = await ringing_call(harness)
    [bob] = harness.sip.invites()
    bob.answer(180)
    await harness.settle()
    [leg] = [leg for leg in harness.service.live_legs() if leg.direction == "inbound"]
    leg.cancelled()  # what the service does on the caller's CANCEL (§9.2)
    await harness.settle()
    assert alice.statuses[-1] == 487  # type: ignore[attr-defined]
    assert bob.cancelled
    assert {cause[1] for cause in harness.causes()} == {Cause.ORIGINATOR_CANCEL.cause.code}


async def test_ring_timeout_on_the_manual_clock(harness: Harness) -> None:
    alice = await ringing_call(harness)
    harness.sip.invites()[0].answer(180)
    await harness.advance(29)
    assert alice.statuses[-1] == 180  # type: ignore[attr-defined]
    await harness.advance(1.5)
    assert alice.statuses[-1] == 480  # type: ignore[attr-defined]
    assert ("outbound", 6010, "Plivo") in harness.causes()


async def test_first_answer_wins_and_the_other_contact_loses_the_race(harness: Harness) -> None:
    await ringing_call(harness, 5080, 5081)
    first, second = harness.sip.invites()
    first.answer(180)
    second.answer(180)
    await harness.settle()
    second.answer(200, sdp(6002))
    await harness.settle()
    assert first.cancelled
    assert not second.cancelled
    assert ("outbound", 9000, "Plivo") in harness.causes()
    assert harness.service.statistics()["legs"] == 2


async def test_silent_carrier_fails_over_after_retry_seconds(harness: Harness) -> None:
    harness.directory.carrier = SimpleNamespace(
        address="127.0.0.1:5090", failover_address="127.0.0.1:5091", prefix="9",
        failover_prefix="8", suffix="", retries=0, retry_seconds=5.0,
    )  # fmt: skip
    alice = invite("15550001111")
    harness.service.handle_invite(alice)
    await harness.settle()
    [primary] = harness.sip.invites()
    assert str(primary.request.uri).startswith("sip:915550001111@127.0.0.1:5090")
    await harness.advance(5.5)
    _, failover = harness.sip.invites()
    assert str(failover.request.uri).startswith("sip:815550001111@127.0.0.1:5091")
    failover.answer(200, sdp(6004))
    await harness.settle()
    assert alice.statuses[-1] == 200
    assert ("outbound", 3070, "Plivo") in harness.causes()  # the primary: Request timeout


async def test_maximum_duration_and_media_inactivity_end_the_call(harness: Harness) -> None:
    await ringing_call(harness)
    harness.sip.invites()[0].answer(200, sdp(6000))
    await harness.settle()
    for media in harness.media:
        media.received = 1  # packets keep arriving...
    await harness.advance(5)
    assert harness.service.statistics()["legs"] == 2
    await harness.advance(12)  # ...then stop for longer than calls.media_timeout (10 s)
    assert harness.causes() == [("inbound", 6020, "Plivo"), ("outbound", 6020, "Plivo")] or (
        harness.causes() == [("outbound", 6020, "Plivo"), ("inbound", 6020, "Plivo")]
    )


async def test_maximum_duration(harness: Harness) -> None:
    alice = await ringing_call(harness)
    harness.sip.invites()[0].answer(200, sdp(6000))
    await harness.settle()
    harness.service.handle_in_dialog(in_dialog(alice, "ACK", 1))  # type: ignore[arg-type]
    for second in range(99):
        for media in harness.media:
            media.received = second  # media flows the whole time
        await harness.advance(1, step=1)
    assert harness.causes() == []
    await harness.advance(2, step=1)
    assert {cause[1] for cause in harness.causes()} == {6000}


async def test_2xx_is_retransmitted_until_the_ack(harness: Harness) -> None:
    alice = await ringing_call(harness)
    harness.sip.invites()[0].answer(200, sdp(6000))
    await harness.settle()
    await harness.advance(1.6, step=0.1)  # T1 0.5 s: re-sent at 0.5 and 1.5 s
    assert alice.statuses.count(200) == 3  # type: ignore[attr-defined]
    harness.service.handle_in_dialog(in_dialog(alice, "ACK", 1))  # type: ignore[arg-type]
    await harness.advance(10, step=0.5)
    assert alice.statuses.count(200) == 3  # type: ignore[attr-defined]


async def test_2xx_without_ack_ends_the_call(harness: Harness) -> None:
    await ringing_call(harness)
    harness.sip.invites()[0].answer(200, sdp(6000))
    await harness.settle()
    for second in range(33):  # 64 * T1, media flowing the whole time
        for media in harness.media:
            media.received = second
        await harness.advance(1, step=0.5)
    assert ("inbound", 3070, "Error") in harness.causes()


async def test_digits_reach_subscribers_whatever_their_mode(harness: Harness) -> None:
    alice = await ringing_call(harness)
    harness.sip.invites()[0].answer(200, sdp(6000))
    await harness.settle()
    [a_leg, b_leg] = harness.service.live_legs()
    heard: list[DigitReceived] = []

    def failing(event: object) -> None:
        raise RuntimeError("a subscriber that fails")

    a_leg.subscribe(failing)
    subscription = a_leg.subscribe(
        lambda event: heard.append(event) if isinstance(event, DigitReceived) else None
    )
    a_leg.collect_digits()
    harness.media[0].press("5", DigitSource.RFC4733)
    harness.media[0].press("6", DigitSource.INBAND)
    info = in_dialog(alice, "INFO", 2, b"Signal=7\r\nDuration=160\r\n")  # type: ignore[arg-type]
    harness.service.handle_in_dialog(info)
    assert [(d.digit, d.source) for d in heard] == [
        ("5", DigitSource.RFC4733), ("6", DigitSource.INBAND), ("7", DigitSource.SIP_INFO),
    ]  # fmt: skip
    # The bridge relays only INFO digits: the engine carries the others itself.
    assert harness.media[1].digits_sent == ["7"]
    subscription.cancel()
    harness.media[0].press("8", DigitSource.RFC4733)
    assert len(heard) == 3
    a_leg.collect_digits(False)
    assert harness.media[0].digit_handler is None
    assert b_leg.state is LegState.ANSWERED


async def test_a_hold_that_crosses_the_answer_reaches_the_caller(harness: Harness) -> None:
    """The callee holds before the script has bridged the legs: the caller is held too."""
    alice = await ringing_call(harness)
    [bob] = harness.sip.invites()
    bob.answer(200, sdp(6000))
    harness.media[1].remote_on_hold = True  # what bob's sendonly offer settles
    hold = from_callee(bob, "INVITE", 2, sdp(6000))
    harness.service.handle_in_dialog(hold)  # before the script has run again
    assert hold.statuses == [200]
    await harness.settle()
    assert alice.statuses[-1] == 200  # type: ignore[attr-defined]
    [reinvite] = [sent for sent in harness.sip.invites() if sent.destination.port == 5071]
    assert reinvite.request.cseq.number > 0  # our hold, relayed to alice
