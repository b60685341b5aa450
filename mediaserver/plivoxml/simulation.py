"""`mediaserver simulate`: an application run against a virtual caller, with a transcript of
every request (parameters and signature headers), every verb with its resolved attributes,
what the caller hears and how the call ends. No SIP, no RTP: the way to debug an application
before a phone is involved.

Time is real (a Wait waits); audio is heard at once. Dial never connects (nobody to answer),
and Record hears silence.
"""

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path

from mediaserver.calls.deadlines import Deadlines
from mediaserver.calls.dialer import Caller
from mediaserver.calls.hangup_cause import Cause
from mediaserver.calls.router import Refusal, Route
from mediaserver.clock import SystemClock
from mediaserver.media.tts import TtsEngine
from mediaserver.plivoxml.account_webhooks import AccountWebhooks
from mediaserver.plivoxml.application_script import run_application
from mediaserver.plivoxml.session import ApplicationUrls, CallIdentity, Services
from mediaserver.plivoxml.signature import RequestSigner
from mediaserver.plivoxml.sound_cache import SoundCache
from mediaserver.plivoxml.verbs import DialTarget, Number, Verb
from mediaserver.plivoxml.virtual_leg import VirtualLeg
from mediaserver.plivoxml.webhooks import WebhookClient, WebhookExchange
from mediaserver.store.recordings import Recording

Print = Callable[[str], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Simulation:
    answer_url: str
    method: str = "POST"
    from_number: str = "15551230000"
    to_number: str = "15557650000"
    digits: str = ""


class _NoDialPlan:
    """Every target is 'routed' so the transcript shows the dial; the virtual caller's dial
    is never answered."""

    def route_for(self, target: DialTarget) -> Route | Refusal:
        return Route((), target.number if isinstance(target, Number) else target.uri)

    def caller(self, caller_id: str, caller_name: str) -> Caller:
        return Caller(f"<sip:{caller_id}@simulation.invalid>", caller_id)


class _TranscriptRecordings:
    def __init__(self, directory: Path, say: Print) -> None:
        self._directory = directory
        self._say = say

    def path_for(self, recording_id: str, file_format: str) -> Path:
        return self._directory / f"{recording_id}.{file_format}"

    def url_for(self, recording_id: str, file_format: str) -> str:
        return f"file://{self.path_for(recording_id, file_format)}"

    def add(self, recording: Recording) -> None:
        self._say(f"recording {recording.recording_id}: {recording.recording_duration_ms} ms")


async def simulate(
    simulation: Simulation, auth_token: str, tts: TtsEngine, say: Print
) -> Cause | None:
    """Run the application; return the cause the call ended with."""
    client = WebhookClient(SystemClock(), lambda exchange: say(_describe(exchange)))
    client.start()
    with tempfile.TemporaryDirectory(prefix="mediaserver-simulate-") as scratch:
        sounds = SoundCache(Path(scratch) / "sounds")
        deadlines = Deadlines(SystemClock())
        services = Services(
            AccountWebhooks(client, RequestSigner(auth_token, auth_token)),
            sounds,
            _NoDialPlan(),
            deadlines,
            _TranscriptRecordings(Path(scratch), say),
            debug_log=lambda call_uuid, entry: say(f"debug log: {entry}"),
            on_verb=lambda verb: say(f"verb {_verb_line(verb)}"),
        )
        leg = VirtualLeg(simulation.from_number, simulation.to_number, simulation.digits, tts, say)
        identity = CallIdentity(simulation.from_number, simulation.to_number)
        urls = ApplicationUrls(simulation.answer_url, simulation.method)
        try:
            await run_application(leg, urls, identity, services)
        finally:
            await client.close()
            await sounds.close()
            deadlines.close()
    return leg.cause


def _describe(exchange: WebhookExchange) -> str:
    outcome = exchange.error or f"HTTP {exchange.status}"
    lines = [
        f"request {exchange.method} {exchange.url} (attempt {exchange.attempt}): {outcome},"
        f" {exchange.latency_ms:.0f} ms"
    ]
    lines += [f"    {name}={value}" for name, value in sorted(exchange.params.items())]
    lines += [f"    header {name}: {value}" for name, value in exchange.signature_headers.items()]
    return "\n".join(lines)


def _verb_line(verb: Verb) -> str:
    fields = ", ".join(
        f"{field.name}={getattr(verb, field.name)!r}" for field in dataclasses.fields(verb)
    )
    return f"{type(verb).__name__}({fields})"
