"""<Dial>: ring its Numbers and Users at once, bridge the first to answer (the others end 9000
Lost Race), and when the B leg hangs up go on with the action URL or the next verb
(plivo.md §2.7).

The A leg is not answered by Dial itself: while the targets ring it hears 180 (or, answered
already, a ringback tone), or the B leg's own early media with dialMusic="real"; it is
answered when a target answers.
"""

import asyncio
import dataclasses
from collections.abc import Mapping

from mediaserver.calls.dialer import Caller, DialOptions, DialOutcome
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import LegState
from mediaserver.calls.outbound_leg import OutboundLeg
from mediaserver.calls.router import Attempt, Refusal, Route, Target
from mediaserver.calls.scripts import first_to_leave
from mediaserver.media.tones import RingbackSource
from mediaserver.plivoxml.dial_confirm import confirmed
from mediaserver.plivoxml.dial_digits import BridgedDigits
from mediaserver.plivoxml.prompt_documents import fetch_prompts
from mediaserver.plivoxml.prompts import run_prompt
from mediaserver.plivoxml.record_verb import start_session_recording
from mediaserver.plivoxml.session import CallSession, DocumentKind, Goto, UnsupportedVerbError
from mediaserver.plivoxml.verbs import Dial, DialTarget, Number, User

# DialStatus for a dial that no target answered, by the cause it ended with.
_STATUS_BY_CAUSE = {
    Cause.USER_BUSY: "busy",
    Cause.BUSY_EVERYWHERE: "busy",
    Cause.RING_TIMEOUT: "timeout",
    Cause.NO_ANSWER: "no-answer",
    Cause.ORIGINATOR_CANCEL: "cancel",
}


async def run_dial(session: CallSession, verb: Dial) -> Goto | None:
    _refuse_unsupported(verb)
    route, dialled = _route(session, verb)
    digits = _DigitSender(session, dialled)
    ringing = _Ringing(session, verb, digits)
    if isinstance(route, Refusal):
        outcome = DialOutcome(None, route.cause)
    else:
        callers = {target: _caller(session, verb, found) for target, found in dialled.items()}
        caller = _caller(session, verb, None)
        options = DialOptions(caller, verb.timeout, ringing.on_ringing, callers)
        outcome = await session.leg.dial(route, options)
    ringing.stop()
    if session.leg.ended:
        return None
    b_leg = outcome.leg
    if b_leg is None:
        status = _STATUS_BY_CAUSE.get(outcome.cause, "failed")
        return _report(session, verb, status, ringing.seen, outcome.cause, "")
    if (verb.confirm_sound or verb.confirm_key) and not await confirmed(session, verb, b_leg):
        if session.leg.ended:
            return None
        cause = b_leg.cause or Cause.CONFIRM_KEY_FAILED
        return _report(session, verb, "failed", True, cause, b_leg.call_uuid)
    await _connect(session, verb, b_leg, digits)
    if session.leg.ended:
        return None
    cause = b_leg.cause or Cause.NORMAL_CLEARING
    return _report(session, verb, "completed", True, cause, b_leg.call_uuid)


async def _connect(
    session: CallSession, verb: Dial, b_leg: OutboundLeg, digits: "_DigitSender"
) -> None:
    """Answer A, bridge, and hold the call until either leg ends (A's end takes B with it)."""
    a_leg = session.leg
    session.answer_if_needed()
    digits.send(b_leg, early_media=False)
    _callback(session, verb, "answer", b_leg)
    a_leg.bridge(b_leg)
    _record_from_answer(session, b_leg)
    session.timers.after(
        "dial time limit",
        verb.time_limit,
        lambda: b_leg.hangup(Cause.SCHEDULED_HANGUP, HangupSource.PLIVO),
    )

    def digits_matched(pattern: str, side: str) -> None:
        matched = {"DialDigitsMatch": pattern, "DialDigitsPressedBy": side}
        _callback(session, verb, "digits", b_leg, matched)

    bridged_digits = BridgedDigits(verb, a_leg, b_leg, digits_matched)
    try:
        # A B leg transferred to its own document (REST legs=bleg) leaves the Dial too: the
        # A leg goes on as when the B leg hangs up, and the B leg lives on.
        ended = await first_to_leave(a_leg, b_leg)
    finally:
        session.timers.cancel("dial time limit")
        bridged_digits.close()
        a_leg.unbridge()
    if ended is a_leg:
        b_leg.hangup(
            a_leg.cause or Cause.NORMAL_CLEARING, a_leg.hangup_source or HangupSource.CALLER
        )
    if b_leg.ended:
        _callback(session, verb, "hangup", b_leg)


def _record_from_answer(session: CallSession, b_leg: OutboundLeg) -> None:
    """A Record startOnDialAnswer before this Dial starts now; a session recording takes the
    B leg on its own channel."""
    if session.recording_on_answer is not None:
        start_session_recording(session, session.recording_on_answer)
        session.recording_on_answer = None
    if session.session_recording is not None:
        session.session_recording.add_b_leg(b_leg)


class _DigitSender:
    """Each Number's or User's sendDigits, sent once to its own B leg: when it answers, or on
    its early media with sendOnPreanswer (§2.7). Only a target ringing alone has its early
    media taken (dialer.py), so parallel targets get their digits on answer."""

    def __init__(self, session: CallSession, dialled: Mapping[Target, DialTarget]) -> None:
        self._session = session
        self._dialled = dialled
        self._sent: set[str] = set()  # call_uuids of the B legs that have had their digits

    def send(self, b_leg: OutboundLeg, early_media: bool) -> None:
        target = self._dialled.get(b_leg.target)
        if target is None or not target.send_digits or b_leg.call_uuid in self._sent:
            return
        if early_media and not target.send_on_preanswer:
            return
        self._sent.add(b_leg.call_uuid)
        self._session.background(b_leg.send_digits(target.send_digits))


class _Ringing:
    """What the caller hears while targets ring."""

    def __init__(self, session: CallSession, verb: Dial, digits: _DigitSender) -> None:
        self._session = session
        self._real = verb.dial_music == "real"
        self._music_url = None if verb.dial_music in (None, "real") else verb.dial_music
        self._digits = digits
        self.seen = False
        self._ringback: asyncio.Task[object] | None = None

    def on_ringing(self, b_leg: OutboundLeg, early_media: bool) -> None:
        self.seen = True
        if early_media:
            self._digits.send(b_leg, early_media=True)
        a_leg = self._session.leg
        if self._real and early_media:
            a_leg.pre_answer()
            a_leg.bridge(b_leg)
        elif self._music_url is not None:
            if self._ringback is None:
                if a_leg.state is not LegState.ANSWERED:
                    a_leg.pre_answer()  # the music is early media until someone answers
                self._ringback = self._session.background(self._music(self._music_url))
        elif a_leg.state is LegState.ANSWERED:
            if self._ringback is None:
                self._ringback = self._session.background(a_leg.play(RingbackSource()))
        else:
            a_leg.ring()

    async def _music(self, url: str) -> None:
        """dialMusic's document, again and again while the targets ring (the ringback tone
        when it gives nothing to play)."""
        prompts = await fetch_prompts(self._session, url, "<Dial dialMusic>")
        if not prompts:
            await self._session.leg.play(RingbackSource())
            return
        while True:
            for prompt in prompts:
                if not await run_prompt(self._session, prompt):
                    return

    def stop(self) -> None:
        """The ringback ends, whether or not its task has started playing yet."""
        if self._ringback is not None:
            self._ringback.cancel()
            self._ringback = None


def _refuse_unsupported(verb: Dial) -> None:
    for target in verb.targets:
        # §2.7: the SDKs write sendDigitsMode but no document gives its values; digits go by
        # RFC 4733 when the B leg negotiated it, else in-band, and no mode changes that.
        if isinstance(target, Number) and target.send_digits_mode:
            raise UnsupportedVerbError(
                f'<Number sendDigitsMode="{target.send_digits_mode}"> is not supported'
            )


def _route(session: CallSession, verb: Dial) -> tuple[Route | Refusal, dict[Target, DialTarget]]:
    """Every target's route, and which Number or User each INVITE dials. Several ring at once
    (their first attempts in parallel); one alone keeps its carrier retries and failover."""
    routes: list[Route] = []
    dialled: dict[Target, DialTarget] = {}
    refusal: Refusal | None = None
    for target in verb.targets:
        found = session.services.dial_plan.route_for(target)
        if isinstance(found, Refusal):
            session.debug(f"<Dial> {_describe(target)}: {found.reason}")
            refusal = refusal or found
            continue
        routes.append(found)
        dialled |= {sent: target for attempt in found.attempts for sent in attempt.targets}
    if not routes:
        return refusal or Refusal(Cause.ROUTING_ERROR, "nothing to dial"), dialled
    if len(routes) == 1:
        return routes[0], dialled
    targets = tuple(t for route in routes for t in route.attempts[0].targets)
    return Route((Attempt(targets),), routes[0].to_number), dialled


def _caller(session: CallSession, verb: Dial, target: DialTarget | None) -> Caller:
    """callerId and callerName: the Number's or User's, else the Dial's, else the A leg's.
    The Dial's sipHeaders and a User's own go out as X-PH-* (the User's win a shared name)."""
    identity = session.identity
    own_id, own_name = (None, None) if target is None else (target.caller_id, target.caller_name)
    caller_id = _chosen(own_id, verb.caller_id, identity.from_)
    name = _chosen(own_name, verb.caller_name, identity.caller_name)
    caller = session.services.dial_plan.caller(caller_id, name)
    pairs = dict(verb.sip_headers)
    if isinstance(target, User):
        pairs |= dict(target.sip_headers)
    headers = tuple((f"X-PH-{key}", value) for key, value in pairs.items())
    return dataclasses.replace(caller, extra_headers=headers)


def _chosen(*values: str | None) -> str:
    """The first value set; "" counts (PF: "none" blanks the caller ID)."""
    return next(value for value in values if value is not None)


def _describe(target: DialTarget) -> str:
    return target.number if isinstance(target, Number) else _user_part(target)


def _user_part(target: User) -> str:
    return target.uri.split(":", 1)[-1].split("@", 1)[0]


def _report(
    session: CallSession, verb: Dial, status: str, rang: bool, cause: Cause, b_leg_uuid: str
) -> Goto | None:
    if verb.action is None:
        return None
    params = {
        "DialStatus": status,
        "DialRingStatus": "true" if rang else "false",
        "DialHangupCause": cause.cause.name,
        "DialALegUUID": session.leg.call_uuid,
        "DialBLegUUID": b_leg_uuid,
    }
    if verb.redirect:
        return Goto(verb.action, verb.method, DocumentKind.ACTION, params)
    session.notify(verb.action, verb.method, params)
    return None


def _callback(
    session: CallSession,
    verb: Dial,
    action: str,
    b_leg: OutboundLeg,
    extra: Mapping[str, str] | None = None,
) -> None:
    """callbackUrl's live B-leg events: answer, digits, hangup (no document comes back)."""
    if verb.callback_url is None:
        return
    params = {
        "DialAction": action,
        "DialBLegStatus": "hangup" if action == "hangup" else "answer",
        "DialALegUUID": session.leg.call_uuid,
        "DialBLegUUID": b_leg.call_uuid,
        "DialBLegFrom": b_leg.from_number,
        "DialBLegTo": b_leg.to_number,
    }
    if action == "hangup":
        cause = (b_leg.cause or Cause.NORMAL_CLEARING).cause
        params |= {
            "DialBLegHangupCauseName": cause.label,
            "DialBLegHangupCauseCode": str(cause.code),
            "DialBLegHangupSource": (b_leg.hangup_source or HangupSource.UNKNOWN).value,
        }
    session.notify(verb.callback_url, verb.callback_method, params | dict(extra or {}))
