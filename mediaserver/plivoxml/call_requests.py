"""Calls the REST API places (plivo.md §4.1 POST Call/, §3): each destination is rung for
nobody; the leg that answers runs the answer URL's XML with Direction=outbound and the
request's identity (RequestUUID, ALegUUID, ALegRequestUUID); ring_url hears the first 180 or
183, and the hangup URL (else the answer URL) hears how the call ended, answered or not.

A request is known by its request_uuid from the moment it is fired until its call ends, so it
can be withdrawn before the answer (DELETE Request/). Its legs belong to the account that
placed it, whose token signs its webhooks. With machine_detection, the callee is listened to
from the answer on, beside the answer URL's document (machine_detection.py).
"""

import asyncio
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from mediaserver.calls.call_service import CallService
from mediaserver.calls.dialer import DialOptions
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg import Leg
from mediaserver.calls.outbound_leg import OutboundLeg
from mediaserver.calls.router import Refusal
from mediaserver.calls.scripts import ScriptRun
from mediaserver.media.machine_detector import Outcome
from mediaserver.plivoxml.application_calls import ApplicationCalls
from mediaserver.plivoxml.application_script import hangup_parameters
from mediaserver.plivoxml.caller_audio import CallerAudio
from mediaserver.plivoxml.machine_detection import (
    MachineDetection,
    describe,
    listen_for_machine,
    machine_parameters,
)
from mediaserver.plivoxml.session import ApplicationUrls, CallIdentity, Webhooks
from mediaserver.plivoxml.verbs import DialTarget, Number, User

# §3: CallStatus at hangup of an outbound call that never answered.
_UNANSWERED_STATUS = {
    Cause.USER_BUSY: "busy",
    Cause.RING_TIMEOUT: "timeout",
    Cause.NO_ANSWER: "no-answer",
    Cause.ORIGINATOR_CANCEL: "cancel",
}


@dataclass(frozen=True, slots=True)
class CallOrder:
    """One destination of a POST Call/, with the request's settings."""

    from_: str
    to: str  # a number, an endpoint's username, or a sip: URI
    urls: ApplicationUrls
    caller_name: str = ""
    ring_url: str | None = None
    ring_method: str = "POST"
    send_digits: str = ""
    send_on_preanswer: bool = False
    time_limit: int = 14400  # seconds from the answer
    hangup_on_ring: int | None = None  # seconds from the first ring
    ring_timeout: int = 120
    sip_headers: tuple[tuple[str, str], ...] = ()
    parent_call_uuid: str | None = None
    sub_account: str | None = None
    machine_detection: MachineDetection | None = None


@dataclass
class CallRequest:
    request_uuid: str
    order: CallOrder
    legs: list[OutboundLeg] = field(default_factory=list)  # every leg rung for it
    answered: OutboundLeg | None = None
    run: ScriptRun | None = None
    rung: bool = False
    withdrawn: bool = False
    # Digits on early media, machine detection: cancelled when the call ends.
    tasks: set["asyncio.Task[Any]"] = field(default_factory=set)
    caller_audio: CallerAudio | None = None  # shared by the detector and the documents

    def answered_as(self, call_uuid: str) -> bool:
        return self.answered is not None and self.answered.call_uuid == call_uuid


class CallRequests:
    def __init__(self, calls: CallService, applications: ApplicationCalls) -> None:
        self._calls = calls
        self._applications = applications
        self._requests: dict[str, CallRequest] = {}
        self._counts = {
            "api_calls_fired": 0, "api_calls_answered": 0, "api_calls_withdrawn": 0,
            **{f"api_detected_{outcome.name.lower()}": 0 for outcome in Outcome},
        }  # fmt: skip
        self._detecting = 0

    def fire(self, order: CallOrder) -> str:
        """Start ringing `order.to`; its request_uuid at once, before any leg exists."""
        request = CallRequest(str(uuid.uuid4()), order)
        self._requests[request.request_uuid] = request
        request.run = self._calls.scripts.start("api call", self._drive(request), [])
        self._counts["api_calls_fired"] += 1
        return request.request_uuid

    def withdraw(self, request_uuid: str, sub_account: str | None) -> bool:
        """Cancel a request not yet answered (False: unknown, another account's, or up)."""
        request = self._requests.get(request_uuid)
        if request is None or request.answered is not None:
            return False
        if sub_account is not None and request.order.sub_account != sub_account:
            return False
        request.withdrawn = True  # still routing: it stops before ringing anything
        for leg in request.legs:
            leg.cancel(Cause.ORIGINATOR_CANCEL, HangupSource.API_REQUEST)
        self._counts["api_calls_withdrawn"] += 1
        return True

    def request_of(self, call_uuid: str) -> CallRequest | None:
        """The request whose answered leg this is (live calls, their request_uuid)."""
        return next((r for r in self._requests.values() if r.answered_as(call_uuid)), None)

    def transfer(self, leg: Leg, url: str, method: str) -> None:
        """The leg leaves its document (or its direct dial) for the one at `url`; the legs
        it dialled end with the document they were dialled for."""
        self._calls.scripts.hand_over(leg, "transfer", self._run_at(leg, url, method))

    def transfer_b_leg(self, b_leg: Leg, url: str, method: str) -> None:
        """A B leg leaves the bridge for its own document at `url` (plivo.md §4.1 legs=bleg):
        its caller's Dial ends as when a B leg hangs up, so the A leg goes on with the Dial's
        action URL or next verb."""
        b_leg.unbridge()
        self._calls.scripts.move(b_leg, "transfer", self._run_at(b_leg, url, method))

    def _run_at(self, leg: Leg, url: str, method: str) -> Coroutine[Any, Any, None]:
        """The leg's application run again from `url`, with its identity (a B leg, which ran
        none: its own parties, and its A leg as ALegUUID)."""
        running = self._applications.running.get(leg.call_uuid)
        request = self.request_of(leg.call_uuid)
        audio = None if request is None else request.caller_audio
        if running is None:
            urls = ApplicationUrls(url, method)
            address = self._applications.address_of
            identity = CallIdentity(
                address(leg.from_number),
                address(leg.to_number),
                a_leg_uuid=leg.parent_call_uuid,
                sub_account=leg.sub_account,
            )
        else:
            urls = replace(running.urls, answer_url=url, answer_method=method, fallback_url=None)
            identity = running.identity
        return self._applications.run(leg, urls, identity, audio, leg.sub_account)

    def statistics(self) -> dict[str, int]:
        return {
            "api_call_requests": len(self._requests),
            "api_machine_detections": self._detecting,
            **self._counts,
        }

    async def _drive(self, request: CallRequest) -> None:
        try:
            await self._ring_and_run(request)
        finally:
            del self._requests[request.request_uuid]
            for task in request.tasks:
                task.cancel()
            for leg in request.legs:
                self._applications.deadlines.cancel(("hangup_on_ring", leg.call_uuid))

    async def _ring_and_run(self, request: CallRequest) -> None:
        order = request.order
        dial_plan = self._applications.dial_plan
        route = dial_plan.route_for(_dial_target(self._party(order.to)))
        if request.withdrawn:
            route = Refusal(Cause.ORIGINATOR_CANCEL, "withdrawn")
        if isinstance(route, Refusal):
            self._unanswered(request, None, route.cause)
            return
        caller = replace(dial_plan.caller(order.from_, order.caller_name), extra_headers=(
            *((f"X-PH-{name}", value) for name, value in order.sip_headers),
        ))  # fmt: skip
        options = DialOptions(
            caller,
            ring_timeout=order.ring_timeout,
            on_ringing=lambda leg, early: self._ringing(request, leg, early),
            on_leg=lambda leg: self._rung(request, leg),
        )
        outcome = await self._calls.dial_out(route, options)
        if outcome.leg is None:
            failed = request.legs[-1] if request.legs else None
            self._unanswered(request, failed, outcome.cause)
            return
        await self._answered(request, outcome.leg)

    def _rung(self, request: CallRequest, leg: OutboundLeg) -> None:
        leg.sub_account = request.order.sub_account
        request.legs.append(leg)

    async def _answered(self, request: CallRequest, leg: OutboundLeg) -> None:
        order = request.order
        request.answered = leg
        self._counts["api_calls_answered"] += 1
        self._applications.deadlines.cancel(("hangup_on_ring", leg.call_uuid))
        assert request.run is not None
        request.run.take(leg)
        deadlines = self._applications.deadlines
        limit_key = ("time_limit", leg.call_uuid)
        # §4.1 time_limit: the call ends "Scheduled Hangup" (6000) this long after the answer.
        deadlines.at(
            limit_key,
            deadlines.clock.now() + order.time_limit,
            lambda: leg.hangup(Cause.SCHEDULED_HANGUP, HangupSource.PLIVO),
        )
        detection = order.machine_detection
        if detection is not None:
            audio = request.caller_audio = CallerAudio(leg)
            self._background(request, self._detect_machine(request, leg, detection, audio))
        if order.send_digits and not order.send_on_preanswer:
            await leg.send_digits(order.send_digits)
        identity = CallIdentity(
            from_=self._applications.address_of(order.from_),
            to=self._party(order.to),
            caller_name=order.caller_name,
            a_leg_uuid=leg.call_uuid,
            a_leg_request_uuid=request.request_uuid,
            request_uuid=request.request_uuid,
            sub_account=order.sub_account,
        )
        try:
            await self._applications.run(
                leg, order.urls, identity, request.caller_audio, order.sub_account
            )
        finally:
            deadlines.cancel(limit_key)

    async def _detect_machine(
        self,
        request: CallRequest,
        leg: OutboundLeg,
        detection: MachineDetection,
        audio: CallerAudio,
    ) -> None:
        """§3 machine_detection_url hears the verdict; `hangup` mode ends a machine's call."""
        deadlines = self._applications.deadlines
        self._detecting += 1
        try:
            verdict = await listen_for_machine(leg, audio, detection.settings, deadlines)
        finally:
            self._detecting -= 1
        if verdict is None:
            return  # the call ended first
        services = self._applications.services_for(request.order.sub_account)
        services.debug_log(leg.call_uuid, describe(verdict))
        self._counts[f"api_detected_{verdict.outcome.name.lower()}"] += 1
        if detection.url is not None:
            params = {
                **self._parameters(request, leg, "in-progress"),
                "CallUUID": leg.call_uuid,
                **machine_parameters(detection, verdict),
            }
            services.webhooks.notify(detection.url, detection.method, params)
        if verdict.outcome is Outcome.MACHINE and detection.hang_up:
            leg.hangup(Cause.MACHINE_DETECTED, HangupSource.PLIVO)

    def _ringing(self, request: CallRequest, leg: OutboundLeg, early_media: bool) -> None:
        """§3 ring_url: once, on the first 180 or 183; hangup_on_ring counts from here."""
        if request.rung:
            return
        request.rung = True
        order = request.order
        if order.ring_url is not None:
            params = {**self._parameters(request, leg, "ringing"), "CallUUID": leg.call_uuid}
            self._webhooks(order).notify(order.ring_url, order.ring_method, params)
        if order.hangup_on_ring is not None:
            deadlines = self._applications.deadlines
            when = deadlines.clock.now() + order.hangup_on_ring
            deadlines.at(
                ("hangup_on_ring", leg.call_uuid),
                when,
                lambda: leg.cancel(Cause.SCHEDULED_HANGUP, HangupSource.PLIVO),
            )
        if early_media and order.send_digits and order.send_on_preanswer:
            self._background(request, leg.send_digits(order.send_digits))

    @staticmethod
    def _background(request: CallRequest, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        request.tasks.add(task)
        task.add_done_callback(request.tasks.discard)

    def _unanswered(self, request: CallRequest, leg: Leg | None, cause: Cause) -> None:
        """The hangup URL hears a call that never answered (CallStatus busy, timeout...)."""
        order = request.order
        status = _UNANSWERED_STATUS.get(cause, "failed")
        params = self._parameters(request, leg, status)
        if leg is None:
            now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            params |= {
                "CallUUID": "", "HangupCause": cause.value.name,
                "HangupCauseCode": str(cause.value.code), "HangupCauseName": cause.value.label,
                "HangupSource": HangupSource.PLIVO.value, "Duration": "0", "BillDuration": "0",
                "StartTime": now, "AnswerTime": "", "EndTime": now,
            }  # fmt: skip
        else:
            params |= {"CallUUID": leg.call_uuid, **hangup_parameters(leg)}
        urls = order.urls
        url = urls.hangup_url or urls.answer_url
        method = urls.hangup_method if urls.hangup_url else urls.answer_method
        self._webhooks(order).notify(url, method, params)

    def _parameters(self, request: CallRequest, leg: Leg | None, status: str) -> dict[str, str]:
        order = request.order
        return {
            "From": self._applications.address_of(order.from_),
            "To": self._party(order.to),
            "CallStatus": status,
            "Direction": "outbound",
            "CallerName": order.caller_name,
            "RequestUUID": request.request_uuid,
            "ALegRequestUUID": request.request_uuid,
            **({"ALegUUID": leg.call_uuid} if leg is not None else {}),
        }

    def _webhooks(self, order: CallOrder) -> Webhooks:
        return self._applications.services_for(order.sub_account).webhooks

    def _party(self, to: str) -> str:
        """§3: a number as its digits, an endpoint or any SIP address as a sip: URI."""
        return to if to.startswith("sip:") else self._applications.address_of(to)


def _dial_target(party: str) -> DialTarget:
    return User(party) if party.startswith("sip:") else Number(party)
