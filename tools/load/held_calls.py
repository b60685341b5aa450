"""Application calls held by SIPp while the generator feeds the callers' streams (a part of
the load tests and benchmarks: no run()).

SIPp places the calls as the endpoint whose application is `answer_url`
(tools/load/uac_media.xml) and holds them; once they are up, rtp_calls.c (see
concurrent_calls.py) sends every caller's stream 20 ms packets of `audio` for SECONDS and
scores what the server sends back. Measured meanwhile: the server's CPU, what it received
from the callers (RFC 3550 A.3 per leg, from /metrics) and its /metrics before and after.
"""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.bench.registration import free_port
from tools.load.call_servers import (
    APPLICATION_CALLER,
    CpuMeter,
    OurServer,
    start_ours,
)
from tools.load.concurrent_calls import (
    SECONDS,
    SETUP_RATE,
    LegAudio,
    SideResult,
    endpoint_calls,
    parse_generator,
    stream_ports,
    wait_for_calls,
)

_INBOUND = re.compile(
    r'^(mediaserver_leg_rtp_packets_(?:received_total|lost))\{.*direction="inbound"'
)
_TICKS = ("mediaserver_media_late_ticks_total", "mediaserver_media_skipped_ticks_total")


@dataclass(frozen=True, slots=True)
class HeldCalls:
    up: int  # calls answered
    streams: int  # the callers' legs the generator fed
    to_callers: SideResult | None  # what the server sent, as the generator got it
    server_received: int
    server_lost: int
    cpu: float  # server CPU while the RTP flowed, in cores
    waiting: float  # share of the time the server waited for a CPU other processes had
    before: dict[str, float]  # the server's /metrics as the RTP began
    after: dict[str, float]  # and as it ended

    @property
    def server_loss_percent(self) -> float:
        expected = self.server_received + self.server_lost
        return 100.0 * self.server_lost / expected if expected else 100.0

    def ticks(self) -> tuple[int, int]:
        """Media clock ticks run late (caught up) and skipped while the RTP flowed."""
        late, skipped = (int(self.after.get(name, 0) - self.before.get(name, 0)) for name in _TICKS)
        return late, skipped


def hold_calls(
    workdir: Path,
    generator: Path,
    calls: int,
    answer_url: str,
    audio: LegAudio,
    calls_settings: str = "",
) -> HeldCalls:
    """`calls_settings`: TOML lines for the server's [calls] beside its media_timeout."""
    a_port = free_port()
    server = start_ours(
        workdir / "server",
        "127.0.0.1:9",
        f"[calls]\nmedia_timeout = 600\n{calls_settings}",
        answer_url,
    )
    uac = None
    try:
        with server.running:
            uac = endpoint_calls(
                workdir, server, a_port, audio.payload_type, audio.rtpmap, calls,
                1000 * (calls // SETUP_RATE + SECONDS + 20), APPLICATION_CALLER,
            )  # fmt: skip
            up = wait_for_calls(server, calls, timeout=calls / SETUP_RATE + 30)
            a_ports, _ = stream_ports(server)
            (workdir / "a.ports").write_text("\n".join(map(str, a_ports)) + "\n")
            (workdir / "none.ports").write_text("")
            before = server.metrics()
            meter = CpuMeter(server.pid)
            result = subprocess.run(
                [str(generator), str(a_port), str(workdir / "a.ports"), str(audio.frames),
                 str(free_port()), str(workdir / "none.ports"), str(audio.frames), str(SECONDS)],
                capture_output=True, text=True, timeout=SECONDS + 60, check=False,
            )  # fmt: skip
            cpu, waiting = meter.share(), meter.waiting_share()
            received, lost = inbound_counters(server)
            after = server.metrics()
    finally:
        if uac is not None:
            uac.kill()
            uac.wait()
    return HeldCalls(
        up, len(a_ports), parse_generator(result.stdout).get("A"), received, lost, cpu, waiting,
        before, after,
    )  # fmt: skip


def inbound_counters(server: OurServer) -> tuple[int, int]:
    """(packets received, packets lost) summed over the callers' legs, from /metrics."""
    totals = {
        "mediaserver_leg_rtp_packets_received_total": 0,
        "mediaserver_leg_rtp_packets_lost": 0,
    }
    for line in server.metrics_text().splitlines():
        match = _INBOUND.match(line)
        if match:
            totals[match.group(1)] += int(float(line.rsplit(" ", 1)[1]))
    return totals["mediaserver_leg_rtp_packets_received_total"], totals[
        "mediaserver_leg_rtp_packets_lost"
    ]
