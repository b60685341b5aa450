"""Composition root: configuration in, every part built, one TaskGroup, clean stop."""

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import resource
import signal
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mediaserver.api.http_server import ApiServer
from mediaserver.api.metric_sources import MeasuredParts, leg_sources, metric_sources
from mediaserver.api.phone_page import PhonePage
from mediaserver.api.recording_files import RecordingFiles
from mediaserver.api.rest.caller import Authenticator
from mediaserver.api.rest.rate_limit import RateLimit, RateLimiter
from mediaserver.api.rest.resources.catalog import RestParts, every_route
from mediaserver.api.rest.rest_api import MAX_REQUEST_BYTES, RestApi
from mediaserver.api.rest.route import Route
from mediaserver.api.server_metrics import ServerMetrics
from mediaserver.calls.call_record import CallRecordWriter
from mediaserver.calls.call_service import CallService, InboundScript
from mediaserver.calls.registrar import Registrar
from mediaserver.calls.router import Router
from mediaserver.calls.sip_service import SipService
from mediaserver.clock import Clock, SystemClock
from mediaserver.config import WEBSOCKET_TRANSPORTS, Config
from mediaserver.logs import configure_logging
from mediaserver.media.engine import MediaEngine
from mediaserver.media.recent_speech import RecentSpeech
from mediaserver.media.tts import TtsEngine
from mediaserver.media.tts_cache import TtsCache
from mediaserver.plivoxml.application_calls import ApplicationCalls, SubaccountToken
from mediaserver.plivoxml.call_requests import CallRequests
from mediaserver.plivoxml.live_media import LiveMedia
from mediaserver.plivoxml.recording_archive import RecordingArchive
from mediaserver.sip.transaction.timers import Timers
from mediaserver.store.applications import SqliteApplications
from mediaserver.store.bindings import SqliteBindings
from mediaserver.store.call_records import SqliteCallRecords
from mediaserver.store.conference_records import SqliteConferenceRecords
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.store.recordings import SqliteRecordings
from mediaserver.store.sqlite_carriers import SqliteCarriers
from mediaserver.store.subaccounts import SqliteSubaccounts
from mediaserver.transport.certificate import TlsFiles, self_signed
from mediaserver.transport.local_address import LocalAddress
from mediaserver.transport.sip_transport import SipTransport
from mediaserver.transport.websocket import WebSocketSettings

logger = logging.getLogger(__name__)

# Expired bindings are invisible to lookups anyway; the sweep only keeps the table small.
REGISTRAR_SWEEP_INTERVAL = 30.0
EXIT_CANNOT_LISTEN = 1
# Young collections every 100,000 net allocations; the middle and old generations after 50
# and 1,000 of those (cyclic garbage is rare here: a call's objects are freed by refcount).
GC_THRESHOLDS = (100_000, 50, 1000)


def run_server(config: Config) -> int:
    configure_logging(config.log)
    _raise_file_limit()
    _tune_garbage_collector()
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(config))
    except OSError as error:
        logger.error("cannot listen: %s", error)
        return EXIT_CANNOT_LISTEN
    return 0


def _raise_file_limit() -> None:
    """Every call holds four sockets (RTP and RTCP per leg): take all the descriptors the
    system allows this process, not the shell's default soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        logger.info("file descriptor limit raised from %d to %d", soft, hard)


def _tune_garbage_collector() -> None:
    """Every SIP message and RTP tick allocates short-lived objects, and reference counting
    frees nearly all of them. CPython's default thresholds (700, 10, 10) still run a young
    collection every 700 allocations, and the older generations fill with every live
    transaction, so full collections walk tens of thousands of them and stall the loop: under
    1,100 registrations/s for 40 s, 14,839 SIPp retransmissions and 67 failed, against none
    with these settings. Everything imported so far lives as long as the process: frozen, no
    collection walks it again."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _applications(
    config: Config,
    clock: SystemClock,
    router: Router,
    database: sqlite3.Connection,
    engine: MediaEngine,
    tts: TtsEngine,
) -> ApplicationCalls:
    """The Plivo XML side: recordings under the data directory, served by the API listener;
    Play sounds cached beside them."""
    data = config.storage.sqlite_path.parent
    archive = RecordingArchive(
        data / "recordings",
        SqliteRecordings(database),
        f"http://{config.api.listen}",
        config.account.auth_id,
        config.account.auth_token,
    )
    return ApplicationCalls(
        clock, router, config.sip.domain, archive, data / "sound-cache",
        config.account.auth_token, engine, tts, SqliteConferenceRecords(database),
        _subaccount_token(SqliteSubaccounts(database)),
        conference_max_members=config.calls.conference_max_members,
    )  # fmt: skip


def _subaccount_token(subaccounts: SqliteSubaccounts) -> SubaccountToken:
    def token(auth_id: str) -> str | None:
        found = subaccounts.get(auth_id)
        return None if found is None else found.auth_token

    return token


def _rest_api(
    config: Config, clock: SystemClock, database: sqlite3.Connection, routes: list[Route]
) -> RestApi:
    """The Plivo-compatible REST API: the main account from configuration, sub-accounts from
    the store, the configured rate limit (Plivo's by default)."""
    account = config.account
    authenticator = Authenticator(account.auth_id, account.auth_token, SqliteSubaccounts(database))
    limit = RateLimit(config.api.rate_limit_requests, config.api.rate_limit_seconds)
    return RestApi(routes, authenticator, RateLimiter(limit, clock))


def nonce_secret(config: Config) -> bytes:
    """Digest nonces must verify after a restart, so their key derives from configuration."""
    return hashlib.sha256(
        b"mediaserver digest nonce\0" + config.account.auth_token.encode()
    ).digest()


@dataclass
class Server:
    """Every part, built from the configuration and wired; `serve` runs one until a signal,
    tests run one in their own loop (and drive its call service directly)."""

    config: Config
    database: sqlite3.Connection
    registrar: Registrar
    router: Router
    transport: SipTransport
    engine: MediaEngine
    tts: TtsCache
    calls: CallService
    applications: ApplicationCalls
    api: ApiServer
    live_media: LiveMedia
    api_tls: TlsFiles | None  # api.tls: the API listener speaks https with the wss pair

    @classmethod
    def build(cls, config: Config, inbound_script: InboundScript | None = None) -> "Server":
        database = open_database(config.storage.sqlite_path)
        clock = SystemClock()
        tls = _tls_files(config, clock) if _uses_tls(config) else None
        endpoints = SqliteEndpoints(database)
        # Who we are (domain, advertised and listening addresses): the transport writes it into
        # messages, the registrar checks digest URIs against it.
        local = LocalAddress(config.sip.advertised_address, config.sip.domain)
        registrar = Registrar(
            config.registrar,
            config.sip.domain,
            endpoints,
            SqliteBindings(database),
            clock,
            nonce_secret(config),
            local,
        )
        sip_service = SipService(registrar)
        timers = Timers(config.sip.t1_ms / 1000, config.sip.t2_ms / 1000, config.sip.t4_ms / 1000)
        transport = SipTransport(
            sip_service, clock, local=local, timers=timers,
            websocket=_websocket_settings(config, tls),
            on_connection_closed=sip_service.connection_closed,
        )  # fmt: skip
        engine = MediaEngine(config.rtp, clock)
        router = Router(
            registrar,
            endpoints,
            SqliteCarriers(database),
            SqliteNumbers(database),
            SqliteApplications(database),
        )
        tts = TtsCache.configured(config.tts, config.storage.sqlite_path.parent / "tts-cache")
        speech = RecentSpeech(tts)
        applications = _applications(config, clock, router, database, engine, speech)
        calls = CallService(
            transport,
            registrar,
            router,
            engine,
            config.calls,
            clock,
            config.sip.domain,
            config.rtp.address,
            config.webrtc.candidate_address,
            timers,
            speech,
            inbound_script=inbound_script,
            application_script=applications,
        )
        calls.on_leg_ended = CallRecordWriter(SqliteCallRecords(database))
        sip_service.calls = calls
        requests = CallRequests(calls, applications)
        live_media = LiveMedia(applications.services, applications.services_for)
        parts = RestParts(registrar, calls, requests, applications, live_media)
        routes = every_route(config.sip.domain, clock, database, parts)
        rest = _rest_api(config, clock, database, routes)
        measured = MeasuredParts(
            transport, registrar, calls, applications, requests, live_media, rest, engine, tts,
            speech,
        )  # fmt: skip
        metrics = ServerMetrics(metric_sources(measured), leg_sources(calls))
        calls.on_leg_answered = metrics.leg_answered
        applications.webhooks.observe(metrics.webhook_exchange)
        api = ApiServer(
            metrics,
            [
                *RecordingFiles(
                    applications.archive, config.account.auth_id, config.account.auth_token
                ).routes(),
                *rest.routes(),
                *PhonePage(config.sip.domain, config.sip.listen_addresses).routes(),
            ],
            [rest.errors_middleware],
            MAX_REQUEST_BYTES,
        )
        parts_built = (registrar, router, transport, engine, tts, calls, applications, api)
        return cls(config, database, *parts_built, live_media, tls if config.api.tls else None)

    async def start(self) -> None:
        # The API first: once SIP answers, /metrics is reachable too (tests and probes rely
        # on an answered OPTIONS meaning the whole server is up).
        tls = None if self.api_tls is None else self.api_tls.server_context()
        await self.api.start(self.config.api.listen, tls)
        await self.tts.start()
        self.applications.start()
        forgotten = self.registrar.forget_connections(WEBSOCKET_TRANSPORTS)
        if forgotten:
            logger.info("removed %d bindings of WebSockets from before the start", forgotten)
        await self.transport.start(self.config.sip.listen_addresses)
        logger.info("mediaserver started (SIP domain %s)", self.config.sip.domain)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; every call is hung up before this returns."""
        async with asyncio.TaskGroup() as tasks:
            sweeper = tasks.create_task(_sweep(self.registrar))
            tasks.create_task(self.calls.run(stop))
            await stop.wait()
            logger.info("stopping")
            sweeper.cancel()

    async def close(self) -> None:
        for name, statistics in (
            ("SIP", self.transport.statistics()),
            ("registrar", self.registrar.statistics()),
            ("call", self.calls.statistics()),
        ):
            logger.info("%s statistics: %s", name, json.dumps(statistics, sort_keys=True))
        await self.live_media.close()
        self.engine.close()
        await self.tts.close()
        await self.applications.close()
        await self.api.close()
        await self.transport.close()
        self.database.close()


async def serve(config: Config, ready: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or cancellation), then close everything."""
    server = Server.build(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
        if ready is not None:
            ready.set()
        await server.run(stop)
    finally:
        await server.close()
        # Removed last: a second Ctrl-C while closing must not interrupt the close.
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
        logger.info("stopped")


def _uses_tls(config: Config) -> bool:
    return config.api.tls or any(
        address.transport == "wss" for address in config.sip.listen_addresses
    )


def _websocket_settings(config: Config, tls: TlsFiles | None) -> WebSocketSettings:
    sip = config.sip
    transports = {address.transport for address in sip.listen_addresses}
    if transports & set(WEBSOCKET_TRANSPORTS) and not sip.ws_origins:
        logger.info("WebSocket: every Origin is allowed (sip.ws_origins is empty)")
    return WebSocketSettings(
        origins=tuple(sip.ws_origins),
        ping_interval=sip.ws_ping_interval,
        idle_timeout=sip.ws_idle_timeout,
        tls=tls if "wss" in transports else None,
    )


def _tls_files(config: Config, clock: Clock) -> TlsFiles:
    """The configured pair, else a self-signed one kept beside the database (var/tls/)."""
    if config.sip.tls_certificate:
        return TlsFiles(Path(config.sip.tls_certificate), Path(config.sip.tls_key))
    directory = config.storage.sqlite_path.parent / "tls"
    files, made = self_signed(directory, clock.wall())
    verb = "created" if made else "using"
    logger.warning(
        "wss and https: %s a self-signed certificate %s (key %s); set sip.tls_certificate and"
        " sip.tls_key for one browsers trust",
        verb, files.certificate, files.key,
    )  # fmt: skip
    return files


async def _sweep(registrar: Registrar) -> None:
    while True:
        await asyncio.sleep(REGISTRAR_SWEEP_INTERVAL)
        try:
            removed = registrar.sweep_expired()
        except sqlite3.Error:
            # A busy or failing store must not take the SIP service down; try next round.
            logger.exception("registrar sweep failed")
            continue
        if removed:
            logger.info("removed %d expired bindings", removed)
