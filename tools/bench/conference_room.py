"""Conference members through real sockets (a part of the conference benchmark: no run()).

Our server runs as its own process; its application (tools/load/answer_application.py's
/conference, a child process) answers every call with <Conference>. SIPp sets the member
calls up (tools/load/uac_media.xml, an endpoint authenticating with digest) and holds them;
a dedicated generator process (tools/load/rtp_calls.c) sends every member a voice-like PCMU
stream at 20 ms and scores what the server sends back to each member, its minus-one mix, as
RFC 3550 A.3 loss and A.8 interarrival jitter. Loss on what the members send the server comes
from the server's own receive statistics (/metrics).

Steps grow the members in one room up to ROOM_LIMIT, the most a room holds: the server keeps
Plivo's maxMembers range of 1 to 20 (plivo.md §2.8; PF allowed 200). Beyond it the members
fill rooms of ROOM_LIMIT in turn (100 members are 5 rooms of 20); the engine mixes all rooms
of a tick in one vectorised pass, so the cost per member is that of one room of that size.
Goal at the largest step printed: loss < 0.1 % and jitter p95 < 5 ms. LOAD_SECONDS (default
60) sets how long RTP flows per step.
"""

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mediaserver.rtp.payload_types import PCMU
from tools.bench.registration import DOMAIN, free_port
from tools.load.answer_application import AnswerApplication
from tools.load.app_digits import inbound_counters
from tools.load.call_servers import (
    APPLICATION_CALLER,
    CALLED,
    CpuMeter,
    injection_file,
    missing_programs,
    start_ours,
)
from tools.load.concurrent_calls import (
    MAX_JITTER_MS,
    MAX_LOSS_PERCENT,
    SECONDS,
    SETUP_RATE,
    LegAudio,
    SideResult,
    build_generator,
    leg_audio,
    parse_generator,
    sipp,
    stream_ports,
    wait_for_calls,
)

STEPS = (10, 20, 50, 100)  # all run: the goal is judged at the largest
MORE_STEPS = (150, 200)  # while every step so far was clean
ROOM_LIMIT = 20
_TICKS = ("mediaserver_media_late_ticks", "mediaserver_media_skipped_ticks")


@dataclass(frozen=True, slots=True)
class RoomStep:
    members: int
    up: int  # member calls answered
    in_rooms: int  # members the rooms held while the RTP flowed
    to_members: SideResult | None  # the mixes the server sent, as the generator got them
    server_received: int
    server_lost: int
    cpu: float
    waiting: float  # share of the time the server waited for a CPU other processes had
    ticks_late: int  # media clock ticks run late (caught up) or skipped during the RTP
    ticks_skipped: int

    @property
    def rooms(self) -> int:
        return -(-self.members // ROOM_LIMIT)

    @property
    def server_loss_percent(self) -> float:
        expected = self.server_received + self.server_lost
        return 100.0 * self.server_lost / expected if expected else 100.0

    @property
    def clean(self) -> bool:
        mixes = self.to_members
        return (
            self.up == self.in_rooms == self.members
            and mixes is not None
            and mixes.streams == self.members
            and mixes.loss_percent < MAX_LOSS_PERCENT
            and mixes.jitter_ms_p95 < MAX_JITTER_MS
            and self.server_loss_percent < MAX_LOSS_PERCENT
        )

    def __str__(self) -> str:
        mixes = self.to_members
        heard = "no result"
        if mixes is not None:
            heard = (
                f"{mixes.streams} streams, loss {mixes.loss_percent:.3f}%, jitter p95/max "
                f"{mixes.jitter_ms_p95:.2f}/{mixes.jitter_ms_max:.2f} ms (the generator itself "
                f"up to {mixes.late_send_ms_max:.1f} ms late)"
            )
        shape = f"{self.rooms} rooms of {ROOM_LIMIT}" if self.rooms > 1 else "one room"
        return (
            f"  {self.members:>4} members ({shape}; {self.up} up, {self.in_rooms} in): to members "
            f"{heard}; from members loss {self.server_loss_percent:.3f}%; media ticks "
            f"{self.ticks_late} late, {self.ticks_skipped} skipped; server CPU "
            f"{100 * self.cpu:.0f}% of a core, waiting for a CPU {100 * self.waiting:.0f}% of "
            f"the time; {'clean' if self.clean else 'NOT clean'}"
        )

    def verdict(self) -> str:
        mixes = self.to_members
        if mixes is None:
            return "no result"
        return (
            f"loss {mixes.loss_percent:.3f}% to members and {self.server_loss_percent:.3f}% from "
            f"them, jitter p95 {mixes.jitter_ms_p95:.2f} ms, server CPU {100 * self.cpu:.0f}% "
            f"of a core, {self.ticks_late} late media ticks: "
            f"{'clean' if self.clean else 'NOT clean'}"
        )


def members_through_sockets() -> None:
    missing = missing_programs("sipp", "gcc")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping sockets")
        return
    print(f"through sockets: PCMU members, RTP {SECONDS} s per step from a generator process "
          "(rtp_calls.c); SIPp sets up and holds the calls")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-conference-") as directory:
        workdir = Path(directory)
        generator = build_generator(workdir)
        audio = leg_audio(workdir, PCMU, 0)
        steps = []
        for members in (*STEPS, *MORE_STEPS):
            if members in MORE_STEPS and not all(step.clean for step in steps):
                break
            steps.append(run_step(workdir / f"members-{members}", generator, members, audio))
            print(steps[-1], flush=True)
    largest = steps[-1]
    print(f"RESULT through sockets at the largest size, {largest.members} members: "
          f"{largest.verdict()} (goal loss < {MAX_LOSS_PERCENT}% and jitter p95 < "
          f"{MAX_JITTER_MS} ms with 100 members in one room; a room holds at most "
          f"{ROOM_LIMIT})")  # fmt: skip


def run_step(workdir: Path, generator: Path, members: int, audio: LegAudio) -> RoomStep:
    workdir.mkdir()
    a_port = free_port()
    hold_ms = 1000 * (members // SETUP_RATE + SECONDS + 20)
    with AnswerApplication() as app:
        server = start_ours(
            workdir / "server",
            "127.0.0.1:9",
            "[calls]\nmedia_timeout = 600\n",
            app.url(f"/conference?size={ROOM_LIMIT}"),
        )
        uac = None
        try:
            with server.running:
                uac = sipp(
                    workdir, "uac_media.xml", free_port(), f"127.0.0.1:{server.running.port}",
                    "-inf", str(injection_file(workdir, APPLICATION_CALLER)), "-s", CALLED,
                    "-auth_uri", f"{CALLED}@{DOMAIN}", "-key", "a_port", str(a_port),
                    "-r", str(SETUP_RATE), "-m", str(members), "-l", str(members),
                    "-d", str(hold_ms),
                )  # fmt: skip
                up = wait_for_calls(server, members, timeout=members / SETUP_RATE + 30)
                ports, _ = stream_ports(server)
                (workdir / "members.ports").write_text("\n".join(map(str, ports)) + "\n")
                (workdir / "none.ports").write_text("")
                before = server.metrics()
                meter = CpuMeter(server.pid)
                result = subprocess.run(
                    [str(generator), str(a_port), str(workdir / "members.ports"),
                     str(audio.frames), str(free_port()), str(workdir / "none.ports"),
                     str(audio.frames), str(SECONDS)],
                    capture_output=True, text=True, timeout=SECONDS + 60, check=False,
                )  # fmt: skip
                cpu, waiting = meter.share(), meter.waiting_share()
                received, lost = inbound_counters(server)
                after = server.metrics()
        finally:
            if uac is not None:
                uac.kill()
                uac.wait()
    late, skipped = (int(after.get(name, 0) - before.get(name, 0)) for name in _TICKS)
    in_rooms = int(before.get("mediaserver_applications_conference_members", 0))
    return RoomStep(
        members, up, in_rooms, parse_generator(result.stdout).get("A"), received, lost, cpu,
        waiting, late, skipped,
    )  # fmt: skip
