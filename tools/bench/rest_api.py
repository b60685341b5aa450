"""The REST API under load while calls carry media: GET Call/ (a page of 20 call records) and
POST Call/ (a call to a SIPp UAS, whose answer URL answers a one-second <Wait>) requests per
second with median and p99 latency, while HELD calls (BENCH_HELD_CALLS, default 100) are up
with RTP both ways; the same run's media and SIP figures beside them, to show whether the API
starves the calls.

The held calls are set up by SIPp as in tools/load/concurrent_calls.py (an endpoint calling a
number through the outgoing carrier to a SIPp UAS) and fed by its RTP generator (rtp_calls.c),
which scores what comes back: RFC 3550 A.3 loss and A.8 jitter. The media clock's late and
skipped ticks come from /metrics. The placed calls go to a second SIPp UAS by sip: URI; the
answer URL is tools/load/answer_application.py's /wait (an aiohttp child process).

The HTTP client is this process (aiohttp, CONCURRENCY requests in flight), apart from the
server's; each kind of request runs for BENCH_SECONDS (default 10), POST first so that GET
has records to page through. The rate limit is raised for the run (api.rate_limit_requests):
Plivo's 300 per 5 s would otherwise cap both at 60/s. Every process shares the machine's
cores, so the figures include their scheduling: the held calls' RTP is scored twice, over
BENCH_SECONDS with the API idle (the reference) and over the API load, and the server's CPU
share and the share of its time spent waiting for a CPU are printed for both.
"""

import asyncio
import base64
import os
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import numpy as np

from mediaserver.config import AccountConfig
from mediaserver.rtp.payload_types import PCMU
from tools.bench.registration import free_port
from tools.load.answer_application import AnswerApplication
from tools.load.call_servers import (
    CpuMeter,
    OurServer,
    group_cpu_seconds,
    missing_programs,
    start_ours,
)
from tools.load.concurrent_calls import (
    SETUP_RATE,
    SideResult,
    build_generator,
    endpoint_calls,
    leg_audio,
    parse_generator,
    stream_ports,
    trunk_uas,
    wait_for_calls,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
HELD_CALLS = int(os.environ.get("BENCH_HELD_CALLS", "100"))
CONCURRENCY = 20
GET_FLOOR, POST_FLOOR = 500, 100
PAGE = 20
CALLER_ID = "15550001111"
# Settling before the API load starts and after it ends, inside the RTP generator's run.
SETTLE_SECONDS = 2.0
DRAIN_SECONDS = 5.0
ACCOUNT = AccountConfig()
RATE_LIMIT_TOML = "rate_limit_requests = 1000000\nrate_limit_seconds = 1\n"
TICKS = ("mediaserver_media_late_ticks_total", "mediaserver_media_skipped_ticks_total")
SERVER_FIGURES = (
    *TICKS,
    "mediaserver_api_calls_api_calls_fired_total",
    "mediaserver_api_calls_api_calls_answered_total",
    "mediaserver_sip_retransmissions_absorbed_total",
    "mediaserver_rest_faults_5xx_total",
)

MakeRequest = Callable[[aiohttp.ClientSession], AbstractAsyncContextManager[aiohttp.ClientResponse]]


@dataclass(frozen=True, slots=True)
class Load:
    """What one kind of request did: how many per second, how long each took."""

    label: str
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int]
    server_cpu_seconds: float  # the server's CPU time over the load (0 for the reference)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def figures(self) -> str:
        median, p99 = np.percentile(self.latencies_ms, [50, 99])
        statuses = ", ".join(f"HTTP {code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"  {self.label}: {self.rate:.0f}/s, median {median:.1f} ms, p99 {p99:.1f} ms "
            f"({len(self.latencies_ms)} requests; {statuses})"
        )

    def line(self, floor: int) -> str:
        verdict = "met" if self.rate >= floor else "NOT met"
        return f"{self.figures()}; floor {floor}/s in one process: {verdict}"

    def cost(self, held_calls_share: float, what: str = "request") -> str:
        """The server's CPU per request beyond what the held calls take by themselves: a
        figure other processes on the machine move much less than the rates."""
        beyond = self.server_cpu_seconds - held_calls_share * self.seconds
        per_request = beyond / max(len(self.latencies_ms), 1)
        per_core = 1 / per_request if per_request > 0 else float("inf")
        return (
            f"    server CPU per {what}: {1000 * per_request:.2f} ms beyond the held calls'"
            f" own ({per_core:.0f}/s per core at that cost)"
        )


@dataclass(frozen=True, slots=True)
class Period:
    sides: dict[str, SideResult]
    change: dict[str, int]  # SERVER_FIGURES over the period
    cpu: tuple[float, float]  # the server's share of a core, and of its time waiting for one
    loads: tuple[Load, Load] | None

    def print(self, label: str) -> None:
        for name, side in sorted(self.sides.items()):
            print(
                f"    {label}, RTP to {name} legs: {side.streams} streams, loss "
                f"{side.loss_percent:.3f}%, jitter mean/p95/max {side.jitter_ms_mean:.2f}/"
                f"{side.jitter_ms_p95:.2f}/{side.jitter_ms_max:.2f} ms"
            )
        late, skipped = (self.change[name] for name in TICKS)
        retransmissions = self.change["mediaserver_sip_retransmissions_absorbed_total"]
        print(
            f"    {label}: media clock {late} late ticks, {skipped} skipped; {retransmissions}"
            f" SIP retransmissions absorbed; server CPU {100 * self.cpu[0]:.0f}% of a core,"
            f" waiting for a CPU {100 * self.cpu[1]:.0f}% of the time"
        )


def run() -> None:
    missing = missing_programs("sipp", "gcc")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping")
        return
    with tempfile.TemporaryDirectory(prefix="bench-rest-api-") as directory:
        workdir = Path(directory)
        print(
            f"{HELD_CALLS} calls held with RTP both ways; {CONCURRENCY} requests in flight from"
            f" one aiohttp client process, {SECONDS:.0f} s per kind of request"
        )
        with AnswerApplication() as app:
            measure(workdir, app)


def measure(workdir: Path, app: AnswerApplication) -> None:
    generator = build_generator(workdir)
    frames = leg_audio(workdir, PCMU, 0).frames
    a_port, b_port, trunk_port, placed_port = (free_port() for _ in range(4))
    # The placed calls' far end takes their RTP on a socket nobody reads: it only has to exist.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    uas = trunk_uas(workdir, trunk_port, b_port, 0, PCMU.rtpmap)
    placed_uas = trunk_uas(workdir, placed_port, sink.getsockname()[1], 0, PCMU.rtpmap)
    server = start_ours(
        workdir / "server", f"127.0.0.1:{trunk_port}", "[calls]\nmedia_timeout = 600\n",
        api_toml=RATE_LIMIT_TOML,
    )  # fmt: skip
    uac = None
    loaded_seconds = SETTLE_SECONDS + 2 * SECONDS + DRAIN_SECONDS
    try:
        with server.running:
            hold_ms = int(1000 * (HELD_CALLS / SETUP_RATE + SECONDS + loaded_seconds + 30))
            uac = endpoint_calls(workdir, server, a_port, 0, "PCMU/8000", HELD_CALLS, hold_ms)
            up = wait_for_calls(server, HELD_CALLS, timeout=HELD_CALLS / SETUP_RATE + 30)
            media = MediaRun(generator, workdir, server, (a_port, b_port), frames)
            idle = media.measure(SECONDS, lambda: None)
            target = f"sip:placed@127.0.0.1:{placed_port}"
            loaded = media.measure(
                loaded_seconds, lambda: asyncio.run(api_load(server, target, app.url("/wait")))
            )
    finally:
        for process in (uac, uas, placed_uas):
            if process is not None:
                process.kill()
                process.wait()
        sink.close()
    # The reference: the same client against a bare aiohttp handler (a JSON counter) in its
    # own process, once the calls are gone.
    bare = asyncio.run(reference_load(app.url("/statistics")))
    report(up, idle, loaded, bare)


@dataclass
class MediaRun:
    """The held calls' RTP from the generator for a while, scored, with the server's figures
    and CPU over the same while."""

    generator: Path
    workdir: Path
    server: OurServer
    ports: tuple[int, int]  # where the generator sends the A and the B legs' RTP from
    frames: Path

    def measure(self, seconds: float, during: Callable[[], tuple[Load, Load] | None]) -> Period:
        a_ports, b_ports = stream_ports(self.server)
        (self.workdir / "a.ports").write_text("".join(f"{port}\n" for port in a_ports))
        (self.workdir / "b.ports").write_text("".join(f"{port}\n" for port in b_ports))
        a_port, b_port = self.ports
        media = subprocess.Popen(
            [str(self.generator), str(a_port), str(self.workdir / "a.ports"), str(self.frames),
             str(b_port), str(self.workdir / "b.ports"), str(self.frames), str(int(seconds))],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        before = server_figures(self.server)
        meter = CpuMeter(self.server.pid)
        time.sleep(SETTLE_SECONDS)
        loads = during()
        output, _ = media.communicate(timeout=seconds + 60)
        cpu = (meter.share(), meter.waiting_share())
        after = server_figures(self.server)
        change = {name: int(after[name] - before[name]) for name in SERVER_FIGURES}
        return Period(parse_generator(output), change, cpu, loads)


async def api_load(server: OurServer, target: str, answer_url: str) -> tuple[Load, Load]:
    base = f"http://127.0.0.1:{server.api_port}/v1/Account/{ACCOUNT.auth_id}/Call/"
    credentials = base64.b64encode(f"{ACCOUNT.auth_id}:{ACCOUNT.auth_token}".encode()).decode()
    order = {"from": CALLER_ID, "to": target, "answer_url": answer_url, "answer_method": "POST"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    headers = {"Authorization": f"Basic {credentials}"}
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        placed = await load(
            "POST Call/ (a call to a SIPp UAS)", session, lambda s: s.post(base, json=order),
            server.pid,
        )  # fmt: skip
        # The placed calls end a second after their answer: their records are written.
        await asyncio.sleep(DRAIN_SECONDS)
        page = {"limit": str(PAGE)}
        listed = await load(
            f"GET Call/ (a page of {PAGE})", session, lambda s: s.get(base, params=page),
            server.pid,
        )  # fmt: skip
    return placed, listed


async def reference_load(url: str) -> Load:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        return await load("GET of a bare aiohttp handler", session, lambda s: s.get(url), None)


async def load(
    label: str, session: aiohttp.ClientSession, request: MakeRequest, server: int | None
) -> Load:
    """CONCURRENCY workers, each sending its next request as soon as the last is answered;
    the CPU time of `server`'s process group over the while."""
    cpu = 0.0 if server is None else group_cpu_seconds(server)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    deadline = started + SECONDS

    async def worker() -> None:
        while (sent := time.perf_counter()) < deadline:
            async with request(session) as response:
                await response.read()
                statuses[response.status] += 1
            latencies.append(1000 * (time.perf_counter() - sent))

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    cpu = 0.0 if server is None else group_cpu_seconds(server) - cpu
    return Load(label, time.perf_counter() - started, latencies, statuses, cpu)


def server_figures(server: OurServer) -> dict[str, float]:
    metrics = server.metrics()
    return {name: metrics.get(name, 0.0) for name in SERVER_FIGURES}


def report(up: int, idle: Period, loaded: Period, bare: Load) -> None:
    assert loaded.loads is not None
    placed, listed = loaded.loads
    print(placed.line(POST_FLOOR))
    # Roughly: its SIP, webhooks and record too, but not of the calls still up at the end.
    print(placed.cost(idle.cpu[0], "placed call"))
    print(listed.line(GET_FLOOR))
    print(listed.cost(idle.cpu[0]))
    print(f"{bare.figures()}; reference: GET Call/ ran at {listed.rate / bare.rate:.2f} of it")
    fired = loaded.change["mediaserver_api_calls_api_calls_fired_total"]
    answered = loaded.change["mediaserver_api_calls_api_calls_answered_total"]
    print(
        f"  SIP: {up} of {HELD_CALLS} held calls up; {answered} of {fired} placed calls answered;"
        f" {loaded.change['mediaserver_rest_faults_5xx_total']} API 5xx"
    )
    print("  the held calls' media, with the API idle (reference) and under the load above:")
    idle.print("API idle")
    loaded.print("API loaded")
