"""Concurrent WebRTC legs one server process carries before audio breaks (loss > 0.1 % or
jitter p95 > 5 ms, as tools/load/concurrent_calls.py scores plain RTP), and the same run's
plain-RTP figure for as many calls (a part of webrtc.py's run()).

The load: aiortc browsers (browser_peer.py), PEERS_PER_PROCESS to a process in processes of
their own, each registered over WebSocket and calling a number the server dials through the
outgoing carrier to SIPp (uas_media.xml, PCMU). Each browser sends a voice-like signal in
Opus over SRTP. The rtp_calls.c generator feeds the PCMU side of every call and scores what
the browsers sent (browser -> SIP); each browser scores what it receives (SIP -> browser:
RFC 3550 loss and interarrival jitter on its arrivals, as rtp_calls.c computes them; its
jitter is printed, not judged: see WebRtcStep.clean).
The reference is concurrent_calls.py's step with the same codecs: Opus over plain RTP from
the endpoints, PCMU at the trunk, both sides fed and scored by the generator.

Loopback only; every step ends by itself (BENCH_WEBRTC_SECONDS of audio, default 20).
"""

import asyncio
import contextlib
import multiprocessing
import multiprocessing.synchronize
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path

import numpy as np

from mediaserver.rtp.payload_types import OPUS, PCMU
from tools.bench.browser_peer import BrowserPeer, browser_call
from tools.bench.registration import DOMAIN, free_port, free_tcp_port
from tools.bench.signals import voice_like
from tools.load.call_servers import CALLED, CALLER, CpuMeter, missing_programs, start_ours
from tools.load.concurrent_calls import (
    MAX_JITTER_MS,
    MAX_LOSS_PERCENT,
    OPUS_PAYLOAD_TYPE,
    SideResult,
    Step,
    build_generator,
    leg_audio,
    parse_generator,
    run_step,
    stream_ports,
    trunk_uas,
)

SECONDS = int(os.environ.get("BENCH_WEBRTC_SECONDS", "20"))
STEPS = (10, 25, 50, 100)
PEERS_PER_PROCESS = 10
# A browser whose frames leave later than this behind their schedule has not kept time: the
# step then measured the load (aiortc in Python, on shared cores) rather than the server.
PEER_LATE_MS = 20.0
SETUP_SECONDS_PER_CALL = 1.0  # how long a step waits for its calls, per call of a process
LATE_TICKS = "mediaserver_media_late_ticks_total"
# One browser's (packets expected, received, jitter ms, its own sending's lateness p99 in ms).
BrowserScore = tuple[int, int, float, float]


@dataclass(frozen=True, slots=True)
class WebRtcStep:
    legs: int
    up: int
    to_sip: SideResult | None
    to_browser: SideResult | None
    server_cpu: float  # cores the server used
    server_waiting: float  # the share of the time it was ready to run but had no CPU
    late_ticks: int  # the server's media clock: ticks that ran late while audio flowed
    peers_cpu: float  # cores the browsers' processes used

    @property
    def clean(self) -> bool:
        """Every call up, loss under the limit both ways, and jitter under it as the
        generator scored it. The browsers' jitter is printed, not judged: they stamp arrivals
        in Python processes that share the cores with the server, and how late their own
        sending ran (printed beside) shows how much of that jitter is theirs."""
        sides = (self.to_sip, self.to_browser)
        return (
            self.up == self.legs
            and self.to_sip is not None
            and self.to_sip.jitter_ms_p95 < MAX_JITTER_MS
            and all(
                side is not None
                and side.streams == self.legs
                and side.loss_percent < MAX_LOSS_PERCENT
                for side in sides
            )
        )


def measure_capacity() -> None:
    missing = missing_programs("sipp", "gcc")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping capacity")
        return
    print(f"concurrent WebRTC legs (Opus/SRTP browser <-> PCMU trunk), {SECONDS} s of audio a "
          f"step; clean: loss < {MAX_LOSS_PERCENT} % both ways, jitter p95 < {MAX_JITTER_MS} ms "
          "to SIP; beside each, plain RTP (Opus endpoint <-> PCMU trunk)")  # fmt: skip
    best, best_plain = 0, 0
    with tempfile.TemporaryDirectory(prefix="bench-webrtc-capacity-") as directory:
        workdir = Path(directory)
        generator = build_generator(workdir)
        pcmu = leg_audio(workdir, PCMU, 0)
        opus = leg_audio(workdir, OPUS, OPUS_PAYLOAD_TYPE)
        for legs in STEPS:
            step = webrtc_step(workdir / f"webrtc-{legs}", generator, legs, pcmu.frames)
            (workdir / f"plain-{legs}").mkdir()
            plain = run_step(workdir / f"plain-{legs}" / "step", generator, legs, opus, pcmu,
                             SECONDS)  # fmt: skip
            _report(step, plain)
            best_plain = legs if plain.clean else best_plain
            if not step.clean:
                break
            best = legs
    print(f"WebRTC legs carried clean: {best} (steps {', '.join(map(str, STEPS))}, up to the "
          f"first that was not); plain RTP over the same steps: {best_plain} clean")  # fmt: skip


def webrtc_step(workdir: Path, generator: Path, legs: int, pcmu_frames: Path) -> WebRtcStep:
    workdir.mkdir()
    trunk_port, b_port, a_port, ws_port = free_port(), free_port(), free_port(), free_tcp_port()
    uas = trunk_uas(workdir, trunk_port, b_port, 0, PCMU.rtpmap)
    server = start_ours(
        workdir / "server", f"127.0.0.1:{trunk_port}", "[calls]\nmedia_timeout = 600\n",
        listen=(f"ws:127.0.0.1:{ws_port}",),
    )  # fmt: skip
    context = multiprocessing.get_context("spawn")
    up_queue: Queue[int] = context.Queue()
    scores: Queue[list[BrowserScore]] = context.Queue()
    go = context.Event()
    counts = [min(PEERS_PER_PROCESS, legs - first) for first in range(0, legs, PEERS_PER_PROCESS)]
    url = f"ws://127.0.0.1:{ws_port}/"
    workers = [
        context.Process(target=carry, args=(url, count, up_queue, go, scores), daemon=True)
        for count in counts
    ]
    try:
        with server.running:
            for worker in workers:
                worker.start()
            up = _wait_up(up_queue, len(workers), SETUP_SECONDS_PER_CALL * max(counts) + 20)
            _, b_ports = stream_ports(server)
            (workdir / "b.ports").write_text("\n".join(map(str, b_ports)) + "\n")
            (workdir / "none.ports").write_text("")
            cpu_before = sum(_cpu_seconds(worker.pid) for worker in workers)
            meter, started = CpuMeter(server.pid), time.monotonic()
            ticks_before = server.metrics().get(LATE_TICKS, 0)
            go.set()
            generated = _generate(generator, workdir, a_port, b_port, pcmu_frames)
            server_cpu, server_waiting = meter.share(), meter.waiting_share()
            late_ticks = int(server.metrics().get(LATE_TICKS, 0) - ticks_before)
            peers_cpu = (sum(_cpu_seconds(worker.pid) for worker in workers) - cpu_before) / (
                time.monotonic() - started
            )
            browsers = [score for _ in workers for score in scores.get(timeout=60)]
    finally:
        for worker in workers:
            if worker.pid is None:
                continue  # never started
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        uas.kill()
        uas.wait()
    return WebRtcStep(legs, up, parse_generator(generated).get("B"), _score(browsers), server_cpu,
                      server_waiting, late_ticks, peers_cpu)  # fmt: skip


def carry(
    url: str, count: int, up: "Queue[int]", go: multiprocessing.synchronize.Event,
    scores: "Queue[list[BrowserScore]]",
) -> None:  # fmt: skip
    """A load process: `count` browser calls, held until `go` and for SECONDS after it."""
    asyncio.run(_carry(url, count, up, go, scores))


async def _carry(
    url: str, count: int, up: "Queue[int]", go: multiprocessing.synchronize.Event,
    scores: "Queue[list[BrowserScore]]",
) -> None:  # fmt: skip
    signal = voice_like(48000)
    peers: list[BrowserPeer] = []
    async with contextlib.AsyncExitStack() as calls:
        try:
            # One call after another: browsers arriving, not one burst of handshakes.
            for _ in range(count):
                peer = BrowserPeer(signal, keep_payloads=False)
                await calls.enter_async_context(browser_call(url, CALLER, DOMAIN, CALLED, peer))
                peers.append(peer)
        except Exception as error:
            print(f"browser call {len(peers) + 1} failed: {error}", flush=True)
        up.put(len(peers))
        await asyncio.to_thread(go.wait, SETUP_SECONDS_PER_CALL * PEERS_PER_PROCESS * 10)
        for peer in peers:
            peer.count_from_now()
        await asyncio.sleep(SECONDS)
        scores.put([
            (peer.received.expected, peer.received.received, peer.received.jitter_ms,
             peer.track.log.late_ms_p99())
            for peer in peers
        ])  # fmt: skip


def _wait_up(up_queue: "Queue[int]", workers: int, timeout: float) -> int:
    deadline, up = time.monotonic() + timeout, 0
    for _ in range(workers):
        with contextlib.suppress(Exception):
            up += up_queue.get(timeout=max(deadline - time.monotonic(), 0.1))
    return up


def _generate(generator: Path, workdir: Path, a_port: int, b_port: int, frames: Path) -> str:
    """The generator on the trunk side only (the browsers are the other side)."""
    result = subprocess.run(
        [str(generator), str(a_port), str(workdir / "none.ports"), str(frames),
         str(b_port), str(workdir / "b.ports"), str(frames), str(SECONDS)],
        capture_output=True, text=True, timeout=SECONDS + 60, check=False,
    )  # fmt: skip
    return result.stdout


def _score(browsers: list[BrowserScore]) -> SideResult | None:
    if not browsers:
        return None
    expected = sum(score[0] for score in browsers)
    received = sum(score[1] for score in browsers)
    jitters = [score[2] for score in browsers]
    lost = max(expected - received, 0)
    return SideResult(
        streams=sum(1 for score in browsers if score[1]), sent=0, received=received,
        loss_percent=100 * lost / expected if expected else 100.0,
        jitter_ms_mean=float(np.mean(jitters)), jitter_ms_p95=float(np.percentile(jitters, 95)),
        jitter_ms_max=max(jitters), late_send_ms_max=max(score[3] for score in browsers),
    )  # fmt: skip


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU of one process so far (/proc/PID/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _report(step: WebRtcStep, plain: Step) -> None:
    def side(name: str, result: SideResult | None) -> str:
        if result is None:
            return f"{name}: no result"
        return (f"{name}: loss {result.loss_percent:.3f}%, jitter p95/max "
                f"{result.jitter_ms_p95:.2f}/{result.jitter_ms_max:.2f} ms")  # fmt: skip

    verdict = "clean" if step.clean else "NOT clean"
    late = ""
    if step.to_browser is not None:
        late = f" (their own sending ran up to {step.to_browser.late_send_ms_max:.1f} ms late)"
    print(f"  {step.legs:>4} WebRTC legs ({step.up} up): {side('to SIP', step.to_sip)}; "
          f"{side('to browser', step.to_browser)}{late}; {verdict}; server CPU "
          f"{100 * step.server_cpu:.0f}% of a core, waiting for a CPU "
          f"{100 * step.server_waiting:.0f}% of the time, {step.late_ticks} late media ticks "
          f"(the browsers' processes: {100 * step.peers_cpu:.0f}% of a core)")  # fmt: skip
    print(f"       plain RTP reference:{str(plain).split(':', 1)[1]}")
    if step.to_browser is not None and step.to_browser.late_send_ms_max > PEER_LATE_MS:
        print("       the browsers did not keep time: at this step the load, not the server, "
              "set the pace")  # fmt: skip
