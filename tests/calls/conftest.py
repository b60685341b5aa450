"""The calls unit tests' harness: a call service on an in-memory SIP peer, fake media and a
manual clock; numbers and applications in an in-memory database."""

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from mediaserver.calls.call_service import ApplicationScript, CallService
from mediaserver.calls.leg import Leg
from mediaserver.calls.router import Router
from mediaserver.clock import ManualClock
from mediaserver.config import CallsConfig
from mediaserver.sip.message import Request
from mediaserver.store.applications import SqliteApplications
from mediaserver.store.bindings import Binding
from mediaserver.store.database import open_database
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.transport.peer import Peer
from tests.calls.in_memory import FakeMedia, InMemorySip


class Directory:
    """Endpoints, their registered contacts, one outgoing carrier, incoming carriers' addresses."""

    def __init__(self) -> None:
        self.contacts: dict[str, list[Binding]] = {}
        self.carrier: SimpleNamespace | None = None
        self.carrier_addresses: set[str] = set()

    def register(self, username: str, port: int) -> None:
        binding = Binding(
            username, f"sip:{username}@127.0.0.1:{port}", 1e12, None, "c", 1, "udp",
            "127.0.0.1", port,
        )  # fmt: skip
        self.contacts.setdefault(username, []).append(binding)

    def contacts_for(self, username: str) -> list[Binding]:
        return self.contacts.get(username, [])

    def get(self, username: str) -> object | None:
        return username if username in ("alice", "bob", "carol") else None

    def incoming_for_source(self, ip: str) -> SimpleNamespace | None:
        return SimpleNamespace(name="trunk") if ip in self.carrier_addresses else None

    def default_outgoing(self) -> SimpleNamespace | None:
        return self.carrier


class Caller:
    """Every INVITE is authenticated as alice, whose application is `app_id`, of the account
    `sub_account`."""

    app_id: str | None = None
    sub_account: str | None = None

    def authenticate(self, request: Request, source: Peer) -> object:
        return SimpleNamespace(username="alice", app_id=self.app_id, sub_account=self.sub_account)


@dataclass
class Harness:
    service: CallService
    sip: InMemorySip
    clock: ManualClock
    directory: Directory
    media: list[FakeMedia]
    ended: list[Leg]
    caller: Caller
    database: sqlite3.Connection

    async def settle(self) -> None:
        """Let every ready task run (scripts wake on events and deadlines)."""
        for _ in range(20):
            await asyncio.sleep(0)

    async def advance(self, seconds: float, step: float = 0.5) -> None:
        """Move the clock in steps, firing what falls due at each."""
        target = self.clock.now() + seconds
        while self.clock.now() < target:
            self.clock.advance(min(step, target - self.clock.now()))
            self.service.deadlines.expire_due()
            await self.settle()

    def causes(self) -> list[tuple[str, int, str]]:
        return [
            (leg.direction, leg.cause.cause.code if leg.cause else 0, leg.hangup_source.value
             if leg.hangup_source else "")
            for leg in self.ended
        ]  # fmt: skip


@contextlib.asynccontextmanager
async def running_harness(
    tts: object = None,
    application_script: ApplicationScript | None = None,
    inbound_script: object = None,
) -> AsyncIterator[Harness]:
    """A call service serving until the block ends; every leg is gone afterwards."""
    clock, sip, directory, caller = ManualClock(), InMemorySip(), Directory(), Caller()
    database = open_database(":memory:")
    media: list[FakeMedia] = []

    def new_media(peer: Peer, offer: bytes) -> FakeMedia:
        media.append(FakeMedia())
        return media[-1]

    config = CallsConfig(ring_timeout=30, media_timeout=10, max_duration=100)
    router = Router(
        directory, directory, directory,  # type: ignore[arg-type]
        SqliteNumbers(database), SqliteApplications(database),
    )  # fmt: skip
    service = CallService(
        sip, caller, router, None, config, clock, "phone.local",  # type: ignore[arg-type]
        tts=tts, new_media=new_media, application_script=application_script,  # type: ignore[arg-type]
        inbound_script=inbound_script,  # type: ignore[arg-type]
    )  # fmt: skip
    ended: list[Leg] = []
    service.on_leg_ended = ended.append
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    await asyncio.sleep(0)
    yield Harness(service, sip, clock, directory, media, ended, caller, database)
    stop.set()
    await running
    database.close()
    assert service.statistics()["legs"] == 0


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running_harness() as running:
        yield running
