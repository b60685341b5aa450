"""What the call load tests share: our server and Kamailio as child processes set up for
calls, SIPp runs with their statistics, and the CPU a process used."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mediaserver.api.metrics import parse
from tools.bench.registration import (
    DOMAIN,
    RunningServer,
    free_port,
    last_statistics_row,
    write_injection_file,
    write_kamailio_tables,
)

REPOSITORY = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CALLER = ("sippuser", "sipp-secret")
# An endpoint whose calls its application drives (an endpoint's application runs the calls it
# makes, whatever it calls).
APPLICATION_CALLER = ("appuser", "app-secret")
CALLED = "15551230000"
KAMAILIO_PROXY_CFG = REPOSITORY / "tools" / "bench" / "kamailio" / "proxy.cfg"
KAMAILIO_CHILDREN = 2


def missing_programs(*programs: str) -> list[str]:
    return [program for program in programs if shutil.which(program) is None]


@dataclass
class OurServer:
    running: RunningServer
    api_port: int

    @property
    def pid(self) -> int:
        return self.running.pid

    def metrics(self) -> dict[str, float]:
        return parse(self.metrics_text())

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/metrics", timeout=10) as r:
            return str(r.read().decode())


def start_ours(
    workdir: Path,
    trunk: str,
    extra_toml: str = "",
    answer_url: str | None = None,
    api_toml: str = "",
    listen: tuple[str, ...] = (),
) -> OurServer:
    """Our server with one endpoint (CALLER) and an outgoing carrier to `trunk`; with
    `answer_url`, also an application of that URL and APPLICATION_CALLER running it; with
    `listen`, SIP listeners (`ws:127.0.0.1:PORT`) besides its UDP one. `api_toml` adds keys
    to the [api] section, `extra_toml` sections of its own."""
    workdir.mkdir(parents=True, exist_ok=True)
    database, config = workdir / "mediaserver.db", workdir / "mediaserver.toml"
    port, api_port = free_port(), free_port()
    listeners = ", ".join(f'"{entry}"' for entry in (f"udp:127.0.0.1:{port}", *listen))
    config.write_text(
        f'[sip]\ndomain = "{DOMAIN}"\nlisten = [{listeners}]\n'
        f'[storage]\nurl = "sqlite:///{database}"\n[log]\nlevel = "WARNING"\n'
        f'[api]\nlisten = "127.0.0.1:{api_port}"\n{api_toml}'
        f'[rtp]\naddress = "127.0.0.1"\nport_min = 20000\nport_max = 60000\n{extra_toml}'
    )
    admin = [sys.executable, "-m", "mediaserver", "--config", str(config)]
    subprocess.run([*admin, "endpoint", "add", *CALLER, "--exact"], check=True, capture_output=True)
    subprocess.run(
        [*admin, "carrier", "outgoing", "add", "trunk", "--address", trunk],
        check=True, capture_output=True,
    )  # fmt: skip
    if answer_url is not None:
        add_application_caller(admin, answer_url)
    command = [sys.executable, "-m", "mediaserver", "run", "--config", str(config)]
    running = RunningServer(command, port, workdir / "mediaserver.log")
    return OurServer(running, api_port)


def add_application_caller(admin: list[str], answer_url: str) -> None:
    added = subprocess.run(
        [*admin, "application", "add", "bench", "--answer-url", answer_url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    app_id = added.stdout.split()[-1]  # printed alone on the last line
    subprocess.run(
        [*admin, "endpoint", "add", *APPLICATION_CALLER, "--exact", "--app", app_id],
        check=True, capture_output=True,
    )  # fmt: skip


def start_kamailio_proxy(workdir: Path, trunk: str) -> RunningServer:
    database = workdir / "db"
    database.mkdir(parents=True)
    write_kamailio_tables(database, [CALLER])
    port = free_port()
    config = workdir / "kamailio.cfg"
    text = KAMAILIO_PROXY_CFG.read_text()
    for name, value in (
        ("@CHILDREN@", str(KAMAILIO_CHILDREN)),
        ("@PORT@", str(port)),
        ("@DOMAIN@", DOMAIN),
        ("@WORKDIR@", str(workdir)),
        ("@TRUNK@", trunk),
    ):
        text = text.replace(name, value)
    config.write_text(text)
    command = ["kamailio", "-f", str(config), "-E", "-DD", "-w", str(workdir)]
    return RunningServer(command, port, workdir / "kamailio.log")


def injection_file(workdir: Path, caller: tuple[str, str] = CALLER) -> Path:
    return write_injection_file(workdir / f"{caller[0]}.csv", [caller])


@dataclass(frozen=True, slots=True)
class SippOutcome:
    successful: int
    failed: int
    retransmissions: int
    wall_seconds: float
    exit_code: int


def sipp_outcome(statistics: Path, wall_seconds: float, exit_code: int) -> SippOutcome:
    counters = last_statistics_row(statistics)
    return SippOutcome(
        successful=int(counters.get("SuccessfulCall(C)", 0)),
        failed=int(counters.get("FailedCall(C)", 0)),
        retransmissions=int(counters.get("Retransmissions(C)", 0)),
        wall_seconds=wall_seconds,
        exit_code=exit_code,
    )


def group_cpu_seconds(group: int) -> float:
    """User + system CPU time so far of the processes in a process group (/proc/PID/stat
    fields 5, 14 and 15): a server and, for Kamailio, the workers it forked."""
    total = 0
    for _, fields in _group_members(group):
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def group_waiting_seconds(group: int) -> float:
    """How long the main threads of a process group were ready to run but waited for a CPU
    that other processes had (/proc/PID/schedstat, second field, in ns)."""
    total = 0
    for directory, _ in _group_members(group):
        try:
            total += int((directory / "schedstat").read_text().split()[1])
        except OSError:
            continue  # exited meanwhile
    return total / 1e9


def _group_members(group: int) -> list[tuple[Path, list[str]]]:
    """(/proc/PID, the fields of its stat after the command) of each process in `group`."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[2]) == group:
            members.append((stat.parent, fields))
    return members


class CpuMeter:
    """CPU share of a server's process group since the meter was made, in cores; and the
    share of that time it waited for a CPU, which says when the machine, not the server, set
    the pace (other processes on the same cores)."""

    def __init__(self, group: int) -> None:
        self._group = group
        self._cpu = group_cpu_seconds(group)
        self._waiting = group_waiting_seconds(group)
        self._wall = time.monotonic()

    def share(self) -> float:
        return (group_cpu_seconds(self._group) - self._cpu) / (time.monotonic() - self._wall)

    def waiting_share(self) -> float:
        waited = group_waiting_seconds(self._group) - self._waiting
        return waited / (time.monotonic() - self._wall)
