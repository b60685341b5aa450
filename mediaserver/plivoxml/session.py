"""One call leg under an application: the leg, the parameters every request of the call carries,
and the services its verbs use (webhooks, sounds, dialling, the clock, the debug log).

The interpreter and the verb runners share this; none of them knows SIP or RTP (the leg is a
`CallControl`) and `calls/` knows no XML: app.py injects the one into the other.
"""

import asyncio
import enum
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from audiocodecs.pcm import Pcm16
from mediaserver.calls.call_control import CallControl
from mediaserver.calls.conference_rooms import ConferenceRooms
from mediaserver.calls.deadlines import Deadlines, NamedTimers
from mediaserver.calls.dialer import Caller
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import LegState
from mediaserver.calls.router import Refusal, Route
from mediaserver.media.tts import TtsEngine
from mediaserver.plivoxml.caller_audio import CallerAudio
from mediaserver.plivoxml.verbs import DialTarget, Record, Verb
from mediaserver.store.recordings import Recording

logger = logging.getLogger(__name__)


class FetchError(Exception):
    """An application URL could not give a document (unreachable, timeout, HTTP status...)."""


class UnsupportedVerbError(Exception):
    """A valid verb or attribute this server does not run: the call ends 8011 naming it."""


class SoundError(Exception):
    """A Play URL that could not be fetched or decoded."""


class Webhooks(Protocol):
    async def fetch_document(self, url: str, method: str, params: Mapping[str, str]) -> str:
        """The body the URL answers (raises FetchError)."""
        ...

    def notify(self, url: str, method: str, params: Mapping[str, str]) -> None:
        """A callback whose answer nobody reads (hangup_url, callbackUrl, redirect=false)."""
        ...


class Sounds(Protocol):
    async def load(self, url: str) -> Pcm16:
        """The audio at `url` at 8 kHz (raises SoundError)."""
        ...


class RecordingArchive(Protocol):
    """Where recordings go: their files, their rows, the URL that serves them."""

    def path_for(self, recording_id: str, file_format: str) -> Path: ...

    def url_for(self, recording_id: str, file_format: str) -> str: ...

    def add(self, recording: Recording) -> None: ...


class BackgroundRecording(Protocol):
    """A recording of the whole call (Record recordSession / startOnDialAnswer)."""

    def add_b_leg(self, b_leg: CallControl) -> None: ...

    async def finish(self) -> None: ...


class DialPlan(Protocol):
    """Where an application's Dial targets are, and how B legs present the caller."""

    def route_for(self, target: DialTarget) -> Route | Refusal: ...

    def caller(self, caller_id: str, caller_name: str) -> Caller: ...


class DocumentKind(enum.Enum):
    """Where a document came from: it chooses the hangup cause when it fails (7xxx / 8xxx)."""

    ANSWER = (Cause.ANSWER_URL_ERROR, Cause.INVALID_ANSWER_XML)
    ACTION = (Cause.ACTION_URL_ERROR, Cause.INVALID_ACTION_XML)
    TRANSFER = (Cause.TRANSFER_URL_ERROR, Cause.INVALID_TRANSFER_XML)
    REDIRECT = (Cause.REDIRECT_URL_ERROR, Cause.INVALID_REDIRECT_XML)

    @property
    def unreachable(self) -> Cause:
        return self.value[0]

    @property
    def invalid(self) -> Cause:
        return self.value[1]


@dataclass(frozen=True, slots=True)
class Goto:
    """Leave the running document for the one at `url` (Redirect, or an action that redirects)."""

    url: str
    method: str
    kind: DocumentKind
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApplicationUrls:
    answer_url: str
    answer_method: str = "POST"
    hangup_url: str | None = None  # None: the answer_url gets the hangup request (§3)
    hangup_method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"


@dataclass(frozen=True, slots=True)
class CallIdentity:
    """What the call's requests say of it beyond the leg itself (§3 common parameters)."""

    from_: str
    to: str
    caller_name: str = ""
    a_leg_uuid: str | None = None  # outbound legs: the first leg and its API request
    a_leg_request_uuid: str | None = None
    request_uuid: str | None = None
    forwarded_from: str | None = None
    # The account the call belongs to (a sub-account's auth_id; None: the main account): its
    # application's, or the REST caller's. It scopes conference room names (§2.8).
    sub_account: str | None = None


class DebugLog(Protocol):
    def __call__(self, call_uuid: str, entry: str) -> None: ...


def log_to_logger(call_uuid: str, entry: str) -> None:
    logger.warning("call %s: %s", call_uuid, entry)


@dataclass
class Services:
    webhooks: Webhooks
    sounds: Sounds
    dial_plan: DialPlan
    deadlines: Deadlines
    recordings: RecordingArchive
    debug_log: DebugLog = log_to_logger
    conferences: ConferenceRooms | None = None  # None: <Conference> is refused (simulate)
    tts: TtsEngine | None = None  # speech to a conference room (a leg speaks through its own)
    on_verb: Callable[[Verb], None] | None = None  # each verb as it starts (simulate's transcript)
    max_redirects: int = 70  # Plivo's transfer limit; beyond it the call ends "Loop Detected"


class CallSession:
    def __init__(
        self,
        leg: CallControl,
        urls: ApplicationUrls,
        identity: CallIdentity,
        services: Services,
        caller_audio: CallerAudio | None = None,
    ) -> None:
        self.leg = leg
        self.urls = urls
        self.identity = identity
        self.services = services
        self.timers = NamedTimers(services.deadlines)  # scheduled hangups, time limits
        # Verbs listen here, never on the leg itself; a listener from outside the document
        # (machine detection) may share it.
        self.caller_audio = caller_audio or CallerAudio(leg)
        self.session_recording: BackgroundRecording | None = None
        self.recording_on_answer: Record | None = None  # startOnDialAnswer, for the next Dial
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def call_status(self) -> str:
        if self.leg.ended:
            return "completed"
        return "in-progress" if self.leg.state is LegState.ANSWERED else "ringing"

    def parameters(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The session parameters every request carries (§1), then `extra`."""
        identity = self.identity
        params = {
            "CallUUID": self.leg.call_uuid,
            "From": identity.from_,
            "To": identity.to,
            "CallStatus": self.call_status,
            "Direction": self.leg.direction,
            "CallerName": identity.caller_name,
        }
        optional = {
            "ALegUUID": identity.a_leg_uuid,
            "ALegRequestUUID": identity.a_leg_request_uuid,
            "RequestUUID": identity.request_uuid,
            "ForwardedFrom": identity.forwarded_from,
        }
        params.update({name: value for name, value in optional.items() if value})
        params.update(self.leg.custom_headers)  # X-PH-* from the INVITE
        params.update(extra or {})
        return params

    def answer_if_needed(self) -> None:
        """Plivo's lazy answer: just before the first verb that needs the call up."""
        if self.leg.state is not LegState.ANSWERED and not self.leg.ended:
            self.leg.answer()

    def debug(self, entry: str) -> None:
        self.services.debug_log(self.leg.call_uuid, entry)

    def fail(self, cause: Cause, entry: str) -> None:
        """End the call for an application error, with the debug-log entry that says why."""
        self.debug(entry)
        self.leg.hangup(cause, HangupSource.ERROR)

    def notify(self, url: str, method: str, extra: Mapping[str, str]) -> None:
        self.services.webhooks.notify(url, method, self.parameters(extra))

    async def sleep(self, seconds: float) -> None:
        await self.services.deadlines.sleep(seconds)

    def background(self, work: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Work the document does not wait for (DTMF async, a ringback); cancelled by
        `close` if still running."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self) -> None:
        """The application is done with the call: its timers, background work and session
        recording end."""
        self.timers.cancel_all()
        for task in list(self._background):
            task.cancel()
        if self.session_recording is not None:
            await self.session_recording.finish()
            self.session_recording = None
