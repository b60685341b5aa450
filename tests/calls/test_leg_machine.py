"""Every leg state x every input, as hypothesis sequences them: whatever the phones and the
clock do, in whatever order, nothing raises, every transition is in LEG_TRANSITIONS, each
INVITE gets exactly one final response, and once the service stops no leg, dialog, pending
INVITE or timer is left (h2's and the transaction layer's state machine tests, for legs)."""

import asyncio
from collections.abc import Awaitable, Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import LEG_TRANSITIONS
from tests.calls.conftest import Harness, running_harness
from tests.calls.in_memory import Incoming, in_dialog, invite, sdp

Step = Callable[[Harness, Incoming, list[int]], Awaitable[None]]


async def callee_responds(status: int, harness: Harness) -> None:
    for sent in harness.sip.invites():
        sent.answer(status, sdp(6000) if status in (183, 200) else b"")


def callee(status: int) -> Step:
    async def step(harness: Harness, alice: Incoming, cseq: list[int]) -> None:
        await callee_responds(status, harness)

    step.__name__ = f"callee_{status}"
    return step


def caller(method: str, body: bytes = b"") -> Step:
    async def step(harness: Harness, alice: Incoming, cseq: list[int]) -> None:
        if alice.responses and alice.responses[-1].to_address.tag:
            cseq[0] += method != "ACK"
            number = 1 if method == "ACK" else cseq[0]
            harness.service.handle_in_dialog(in_dialog(alice, method, number, body))

    step.__name__ = f"caller_{method}"
    return step


async def caller_cancel(harness: Harness, alice: Incoming, cseq: list[int]) -> None:
    for leg in harness.service.live_legs():
        if leg.direction == "inbound" and hasattr(leg, "cancelled"):
            leg.cancelled()


async def clock_passes(harness: Harness, alice: Incoming, cseq: list[int]) -> None:
    await harness.advance(7, step=1)


async def script_hangs_up(harness: Harness, alice: Incoming, cseq: list[int]) -> None:
    for leg in harness.service.live_legs():
        leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)
        break


STEPS: list[Step] = [
    callee(180), callee(183), callee(200), callee(486), callee(503),
    caller("ACK"), caller("BYE"), caller("INFO", b"Signal=5\\r\\nDuration=100\\r\\n"),
    caller("INVITE"), caller("UPDATE"), caller("OPTIONS"),
    caller_cancel, clock_passes, script_hangs_up,
]  # fmt: skip


async def play(steps: list[Step]) -> None:
    async with running_harness() as harness:
        harness.directory.register("bob", 5080)
        alice = invite("bob")
        harness.service.handle_invite(alice)
        await harness.settle()
        cseq = [1]
        for step in steps:
            await step(harness, alice, cseq)
            await harness.settle()
            for leg in [*harness.service.live_legs(), *harness.ended]:
                for before, after in zip(leg.states, leg.states[1:], strict=False):
                    assert after in LEG_TRANSITIONS[before], leg.states
        invite_finals = [
            r for r in alice.responses if r.status_code >= 200 and r.cseq.method == "INVITE"
        ]
        assert len({r.status_code for r in invite_finals}) <= 1  # 2xx re-sent, never changed
    assert harness.service.statistics()["dialogs"] == 0
    assert harness.service.statistics()["pending_invites"] == 0
    assert harness.service.statistics()["call_timers"] == 0
    assert all(media.closed or not media.is_open for media in harness.media)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(STEPS), max_size=10))
def test_any_sequence_of_inputs_keeps_the_leg_table_and_leaves_nothing(steps: list[Step]) -> None:
    asyncio.run(play(steps))
