"""Concurrent bridged calls with RTP both ways: the most calls one server process carries with
RTP loss under 0.1 % and interarrival jitter (p95 over streams) under 5 ms.

SIPp sets the calls up (tools/load/uac_media.xml: an endpoint calling a number through the
outgoing carrier to tools/load/uas_media.xml) and holds them; SIPp's own RTP cannot feed
hundreds of calls, so a dedicated generator in a separate process (rtp_calls.c, compiled here)
sends 20 ms packets on every stream of both legs and scores what comes back (RFC 3550 A.3 loss
and A.8 jitter). The server's stream ports come from its /metrics.

Two runs: G.711 on both legs (PCMU; the relay fast path), and PCMU on the A legs with Opus on
the B legs (every call transcoded on the batch path). LOAD_SECONDS (default 60) sets how long
RTP flows per step.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from audiocodecs import new_encoder
from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_MS
from mediaserver.rtp.payload_types import OPUS, PCMU, PayloadFormat
from tools.bench.registration import DOMAIN, free_port
from tools.bench.signals import frames_of, voice_like
from tools.load.call_servers import (
    CALLED,
    CALLER,
    HERE,
    CpuMeter,
    OurServer,
    injection_file,
    missing_programs,
    start_ours,
)

SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
G711_STEPS = (250, 500, 625, 750, 1000)
OPUS_STEPS = (100, 150, 175, 200, 225)
G711_FLOOR, OPUS_FLOOR_PER_CORE = 500, 150
OPUS_PAYLOAD_TYPE = 111
SETUP_RATE = 100  # calls per second while ramping up
MAX_LOSS_PERCENT = 0.1
MAX_JITTER_MS = 5.0
_SAMPLE = re.compile(r"^mediaserver_leg_rtp_packets_received_total\{(.*)\} ")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class LegAudio:
    """What one side of every call carries: its SDP codec and the generator's frames file."""

    payload_type: int
    rtpmap: str
    frames: Path


@dataclass(frozen=True, slots=True)
class SideResult:
    streams: int
    sent: int
    received: int
    loss_percent: float
    jitter_ms_mean: float
    jitter_ms_p95: float
    jitter_ms_max: float
    late_send_ms_max: float


@dataclass(frozen=True, slots=True)
class Step:
    calls: int
    up: int
    a: SideResult | None
    b: SideResult | None
    cpu: float

    @property
    def clean(self) -> bool:
        sides = (self.a, self.b)
        return self.up == self.calls and all(
            side is not None
            and side.streams == self.calls
            and side.loss_percent < MAX_LOSS_PERCENT
            and side.jitter_ms_p95 < MAX_JITTER_MS
            for side in sides
        )

    def __str__(self) -> str:
        def side(name: str, result: SideResult | None) -> str:
            if result is None:
                return f"{name}: no result"
            return (
                f"{name}: {result.streams} streams, loss {result.loss_percent:.3f}%, jitter "
                f"mean/p95/max {result.jitter_ms_mean:.2f}/{result.jitter_ms_p95:.2f}/"
                f"{result.jitter_ms_max:.2f} ms"
            )

        verdict = "clean" if self.clean else "NOT clean"
        return (
            f"  {self.calls:>5} calls ({self.up} up): {side('to A', self.a)}; "
            f"{side('to B', self.b)}; server CPU {100 * self.cpu:.0f}% of a core; {verdict}"
        )


def run() -> None:
    missing = missing_programs("sipp", "gcc")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping")
        return
    with tempfile.TemporaryDirectory(prefix="load-concurrent-") as directory:
        workdir = Path(directory)
        generator = build_generator(workdir)
        pcmu = leg_audio(workdir, PCMU, 0)
        opus = leg_audio(workdir, OPUS, OPUS_PAYLOAD_TYPE)
        print(f"RTP {SECONDS} s per step from a dedicated generator process (rtp_calls.c);"
              " SIPp sets up and holds the calls")  # fmt: skip
        print("G.711 (PCMU both legs, relay fast path):")
        g711 = climb(workdir, generator, G711_STEPS, pcmu, pcmu)
        print("PCMU <-> Opus (every call transcoded):")
        transcoded = climb(workdir, generator, OPUS_STEPS, pcmu, opus)
    summarise(g711, transcoded)


def summarise(g711: Step | None, opus: Step | None) -> None:
    best = g711.calls if g711 else 0
    print(
        f"G.711 bridged calls: {best} with loss < {MAX_LOSS_PERCENT}% and jitter p95 < "
        f"{MAX_JITTER_MS} ms (floor {G711_FLOOR} in one process; goal 1,000 per core)"
    )
    if g711 is not None:
        print(f"  server CPU at {best} calls: {100 * g711.cpu:.0f}% of a core")
    best_opus = opus.calls if opus else 0
    per_core = best_opus / opus.cpu if opus and opus.cpu else 0.0
    print(f"PCMU<->Opus calls: {best_opus} clean, using {100 * (opus.cpu if opus else 0):.0f}% of"
          f" a core: {per_core:.0f} per core (floor {OPUS_FLOOR_PER_CORE} per core)")  # fmt: skip


def climb(
    workdir: Path, generator: Path, steps: tuple[int, ...], a: LegAudio, b: LegAudio
) -> Step | None:
    best = None
    for calls in steps:
        step = run_step(workdir / f"{b.rtpmap.split('/')[0]}-{calls}", generator, calls, a, b)
        print(step, flush=True)
        if not step.clean:
            break
        best = step
    return best


def run_step(
    workdir: Path, generator: Path, calls: int, a: LegAudio, b: LegAudio, seconds: int = SECONDS
) -> Step:
    """`a` sets the codec the endpoints offer (uac_media.xml), `b` the trunk's (uas_media.xml)."""
    workdir.mkdir()
    a_port, b_port, trunk_port = free_port(), free_port(), free_port()
    hold_ms = 1000 * (calls // SETUP_RATE + seconds + 20)
    uas = trunk_uas(workdir, trunk_port, b_port, b.payload_type, b.rtpmap)
    server = start_ours(
        workdir / "server", f"127.0.0.1:{trunk_port}", "[calls]\nmedia_timeout = 600\n"
    )
    uac = None
    try:
        with server.running:
            uac = endpoint_calls(workdir, server, a_port, a.payload_type, a.rtpmap, calls, hold_ms)
            up = wait_for_calls(server, calls, timeout=calls / SETUP_RATE + 30)
            a_ports, b_ports = stream_ports(server)
            (workdir / "a.ports").write_text("\n".join(map(str, a_ports)) + "\n")
            (workdir / "b.ports").write_text("\n".join(map(str, b_ports)) + "\n")
            meter = CpuMeter(server.pid)
            result = subprocess.run(
                [str(generator), str(a_port), str(workdir / "a.ports"), str(a.frames),
                 str(b_port), str(workdir / "b.ports"), str(b.frames), str(seconds)],
                capture_output=True, text=True, timeout=seconds + 60, check=False,
            )  # fmt: skip
            cpu = meter.share()
    finally:
        for process in (uac, uas):
            if process is not None:
                process.kill()
                process.wait()
    sides = parse_generator(result.stdout)
    return Step(calls, up, sides.get("A"), sides.get("B"), cpu)


def trunk_uas(
    workdir: Path, port: int, rtp_port: int, payload_type: int, rtpmap: str
) -> subprocess.Popen[bytes]:
    """SIPp as the carrier's far end on `port` (uas_media.xml), answering every call with one
    codec on `rtp_port`."""
    keys = ["-key", "b_port", str(rtp_port), "-key", "pt", str(payload_type),
            "-key", "rtpmap", rtpmap]  # fmt: skip
    return sipp(workdir, "uas_media.xml", port, None, *keys)


def endpoint_calls(
    workdir: Path, server: OurServer, rtp_port: int, payload_type: int, rtpmap: str,
    calls: int, hold_ms: int, caller: tuple[str, str] = CALLER,
) -> subprocess.Popen[bytes]:  # fmt: skip
    """SIPp as the endpoint `caller` (uac_media.xml) calling CALLED `calls` times, each call
    offering one codec on `rtp_port` and held for `hold_ms`."""
    return sipp(
        workdir, "uac_media.xml", free_port(), f"127.0.0.1:{server.running.port}",
        "-inf", str(injection_file(workdir, caller)), "-s", CALLED,
        "-auth_uri", f"{CALLED}@{DOMAIN}", "-key", "a_port", str(rtp_port),
        "-key", "pt", str(payload_type), "-key", "rtpmap", rtpmap,
        "-r", str(SETUP_RATE), "-m", str(calls), "-l", str(calls), "-d", str(hold_ms),
    )  # fmt: skip


def sipp(
    workdir: Path, scenario: str, port: int, target: str | None, *arguments: str
) -> subprocess.Popen[bytes]:
    command = ["sipp", "-sf", str(HERE / scenario), "-i", "127.0.0.1", "-p", str(port),
               "-nostdin", "-timeout", "900s", *arguments]  # fmt: skip
    if target:
        command.append(target)
    return subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def wait_for_calls(server: OurServer, calls: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < deadline:
        answered = int(server.metrics().get("mediaserver_calls_calls_answered_total", 0))
        if answered >= calls:
            break
        time.sleep(0.5)
    time.sleep(1)  # the last ACKs
    return answered


def stream_ports(server: OurServer) -> tuple[list[int], list[int]]:
    """The RTP ports of the A legs (inbound) and the B legs (outbound), from /metrics."""
    ports: dict[str, list[int]] = {"inbound": [], "outbound": []}
    for line in server.metrics_text().splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match.group(1)))
            ports[labels["direction"]].append(int(labels["rtp_port"]))
    return ports["inbound"], ports["outbound"]


def parse_generator(output: str) -> dict[str, SideResult]:
    sides: dict[str, SideResult] = {}
    for line in output.splitlines():
        fields = dict(item.split("=", 1) for item in line.split())
        if "side" not in fields:
            continue
        sides[fields["side"]] = SideResult(
            streams=int(fields["streams"]),
            sent=int(fields["sent"]),
            received=int(fields["received"]),
            loss_percent=float(fields["loss_pct"]),
            jitter_ms_mean=float(fields["jitter_ms_mean"]),
            jitter_ms_p95=float(fields["jitter_ms_p95"]),
            jitter_ms_max=float(fields["jitter_ms_max"]),
            late_send_ms_max=float(fields["late_send_ms_max"]),
        )
    return sides


def build_generator(workdir: Path) -> Path:
    binary = workdir / "rtp_calls"
    compiler = shutil.which("gcc") or "cc"
    subprocess.run(
        [compiler, "-O2", "-o", str(binary), str(HERE / "rtp_calls.c"), "-lm"], check=True
    )
    return binary


def leg_audio(
    workdir: Path, payload_format: PayloadFormat, payload_type: int, signal: Pcm16 | None = None
) -> LegAudio:
    """`signal` (by default two seconds of voice-like audio) as 20 ms frames, in rtp_calls.c's
    file format: payload type, RTP timestamp step, then length-prefixed payloads. Opus is
    encoded at 48 kHz, full band, as a browser would send it."""
    encoder = new_encoder(payload_format.encoding_name)
    step = payload_format.clock_rate * FRAME_MS // 1000
    records = [payload_type.to_bytes(2, "big"), step.to_bytes(2, "big")]
    if signal is None:
        signal = voice_like(encoder.sample_rate)
    for frame in frames_of(signal, encoder.frame_samples):
        payload = encoder.encode(frame)
        records.append(len(payload).to_bytes(2, "big") + payload)
    path = workdir / f"{payload_format.encoding_name}.frames"
    path.write_bytes(b"".join(records))
    return LegAudio(payload_type, payload_format.rtpmap, path)
