"""What the call service runs for a call the router gave to an application: the application's
URLs and the call's identity made into a session, and its XML run on the leg.

It holds what every application call shares: the one webhook client (one aiohttp session),
the sound cache, the recording archive, the per-call debug log and a clock of deadlines for
the interpreter's waits; and which application each live leg runs (its URLs and identity),
so a transfer can start the leg on another document with the same identity.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.conference_rooms import ConferenceRooms
from mediaserver.calls.deadlines import Deadlines
from mediaserver.calls.dialer import Caller
from mediaserver.calls.room_mixer import EngineRoomMixer
from mediaserver.calls.router import ApplicationRoute, Router
from mediaserver.clock import Clock
from mediaserver.media.engine import MediaEngine
from mediaserver.media.tts import TtsEngine
from mediaserver.plivoxml.account_webhooks import AccountWebhooks
from mediaserver.plivoxml.application_script import run_application
from mediaserver.plivoxml.call_debug_log import CallDebugLog
from mediaserver.plivoxml.caller_audio import CallerAudio
from mediaserver.plivoxml.dial_plan import RouterDialPlan
from mediaserver.plivoxml.recording_archive import AccountRecordings, RecordingArchive
from mediaserver.plivoxml.session import ApplicationUrls, CallIdentity, Services
from mediaserver.plivoxml.signature import RequestSigner
from mediaserver.plivoxml.sound_cache import SoundCache
from mediaserver.plivoxml.webhooks import WebhookClient
from mediaserver.store.conference_records import ConferenceRecords

# A sub-account's auth token by its auth_id (None: no such sub-account).
SubaccountToken = Callable[[str], str | None]
_PHONE_NUMBER = re.compile(r"\+?[0-9]{3,20}")
_DISPLAY_NAME = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, slots=True)
class RunningApplication:
    urls: ApplicationUrls
    identity: CallIdentity


class ApplicationCalls:
    def __init__(
        self,
        clock: Clock,
        router: Router,
        domain: str,
        archive: RecordingArchive,
        sound_directory: Path,
        auth_token: str,
        engine: MediaEngine | None = None,
        tts: TtsEngine | None = None,
        conference_records: ConferenceRecords | None = None,
        subaccount_token: SubaccountToken = lambda _: None,
        conference_max_members: int = 20,
    ) -> None:
        self.debug_log = CallDebugLog()
        self.webhooks = WebhookClient(clock, self.debug_log.exchange)
        self.sounds = SoundCache(sound_directory)
        self.deadlines = Deadlines(clock)
        self.archive = archive
        # The account's conference rooms (the REST API reaches them through ConferenceControl).
        self.conferences = (
            None
            if engine is None
            else ConferenceRooms(
                self.deadlines,
                lambda: EngineRoomMixer(engine),
                conference_records,
                default_max_members=conference_max_members,
            )
        )
        self._domain = domain
        self._auth_token = auth_token
        self._subaccount_token = subaccount_token
        self.dial_plan = RouterDialPlan(router, domain)
        # The main account's calls: both header families signed with its token.
        self.services = Services(
            AccountWebhooks(self.webhooks, RequestSigner(auth_token, auth_token)),
            self.sounds,
            self.dial_plan,
            self.deadlines,
            archive,
            debug_log=self.debug_log,
            conferences=self.conferences,
            tts=tts,
        )
        self.running: dict[str, RunningApplication] = {}

    def start(self) -> None:
        self.webhooks.start()

    async def close(self) -> None:
        if self.conferences is not None:
            await self.conferences.close()
        await self.webhooks.close()
        await self.sounds.close()
        self.deadlines.close()

    def statistics(self) -> dict[str, int]:
        rooms = {} if self.conferences is None else self.conferences.statistics()
        return {
            **self.webhooks.statistics(),
            **self.debug_log.statistics(),
            "application_timers": len(self.deadlines),
            "application_legs": len(self.running),
            **rooms,
        }

    def services_for(self, sub_account: str | None) -> Services:
        """What one account's calls use: webhooks signed with its token, the -Ma- headers
        with the main account's (plivo.md §5), and recordings filed under it. A sub-account
        removed while its call runs leaves the main account's token to sign with."""
        if sub_account is None:
            return self.services
        token = self._subaccount_token(sub_account) or self._auth_token
        signer = RequestSigner(token, self._auth_token)
        return replace(
            self.services,
            webhooks=AccountWebhooks(self.webhooks, signer),
            recordings=AccountRecordings(self.archive, sub_account),
        )

    async def __call__(self, leg: CallControl, route: ApplicationRoute, caller: Caller) -> None:
        application = route.application
        urls = ApplicationUrls(
            answer_url=application.answer_url,
            answer_method=application.answer_method,
            hangup_url=application.hangup_url or None,
            hangup_method=application.hangup_method,
            fallback_url=application.fallback_answer_url or None,
            fallback_method=application.fallback_method,
        )
        identity = CallIdentity(
            from_=self.address_of(leg.from_number),
            to=self.address_of(route.to_number),
            caller_name=_display_name(caller.from_address),
            sub_account=route.sub_account,
        )
        await self.run(leg, urls, identity, sub_account=route.sub_account)

    async def run(
        self,
        leg: CallControl,
        urls: ApplicationUrls,
        identity: CallIdentity,
        caller_audio: CallerAudio | None = None,
        sub_account: str | None = None,
    ) -> None:
        """Run the application on `leg` for the account the call belongs to, known as
        running until it returns; its verbs hear the callee through `caller_audio` when
        others listen there too."""
        running = self.running[leg.call_uuid] = RunningApplication(urls, identity)
        try:
            services = self.services_for(sub_account)
            await run_application(leg, urls, identity, services, caller_audio)
        finally:
            # A transfer's new run may have replaced this one's entry already.
            if self.running.get(leg.call_uuid) is running:
                del self.running[leg.call_uuid]

    def address_of(self, user: str) -> str:
        """How Plivo names a party (§3): a phone number as its digits, an endpoint as its
        SIP URI."""
        if _PHONE_NUMBER.fullmatch(user):
            return user.removeprefix("+")
        return f"sip:{user}@{self._domain}"


def _display_name(name_addr: str) -> str:
    found = _DISPLAY_NAME.match(name_addr)
    return "" if found is None else found.group(1)
