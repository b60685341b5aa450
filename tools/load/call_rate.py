"""Call setup rate: calls per second (INVITE to BYE, short holds) with no failed call.

SIPp plays an endpoint (fixtures/sipp/call_auth_uac.xml: INVITE, 407, INVITE with
credentials, 200, ACK, HOLD_MS, BYE) calling a number that leaves through the outgoing
carrier to a SIPp UAS (the built-in `uas`). The rate steps up, STEP_SECONDS per step, until
a step fails a call or falls behind; the highest clean step is the result. The same SIPp pair
through Kamailio as a stateful proxy (digest auth, record-route, tm) is the reference.
"""

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.bench.registration import DOMAIN, RunningServer, free_port
from tools.load.call_servers import (
    CALLED,
    KAMAILIO_CHILDREN,
    REPOSITORY,
    CpuMeter,
    SippOutcome,
    injection_file,
    missing_programs,
    sipp_outcome,
    start_kamailio_proxy,
    start_ours,
)

SCENARIO = REPOSITORY / "fixtures" / "sipp" / "call_auth_uac.xml"
RATES = (50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200)
STEP_SECONDS = 10
HOLD_MS = 100
FLOOR_PER_SECOND = 100
KEEP_UP = 0.9
STEP_ATTEMPTS = 2


def run() -> None:
    missing = missing_programs("sipp", "kamailio")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping")
        return
    with tempfile.TemporaryDirectory(prefix="load-call-rate-") as directory:
        workdir = Path(directory)
        injection = injection_file(workdir)
        print(f"{STEP_SECONDS} s steps, calls held {HOLD_MS} ms; SIPp UAC -> server -> SIPp UAS")
        print("mediaserver (one process, B2BUA with media ports per leg):")
        ours, cpu = climb(workdir / "ours", injection, ours=True)
        print(f"kamailio ({KAMAILIO_CHILDREN} UDP workers, stateful proxy, auth_db):")
        reference, _ = climb(workdir / "kamailio", injection, ours=False)
    print(f"mediaserver: {ours:,.0f} calls/s with no failure (floor {FLOOR_PER_SECOND}/s),"
          f" server CPU {100 * cpu:.0f}% of a core at that rate")  # fmt: skip
    print(f"kamailio:    {reference:,.0f} calls/s with no failure")
    print(f"ratio mediaserver/kamailio: {ours / reference if reference else 0:.2f}")


def climb(
    workdir: Path,
    injection: Path,
    *,
    ours: bool,
    scenario: Path = SCENARIO,
    answer_url: str | None = None,
    call_seconds: float = HOLD_MS / 1000,
) -> tuple[float, float]:
    """(the best clean achieved rate, the server's CPU share during that step). With
    `answer_url`, our server also has an application caller (call_servers.py) for the
    injection file to name. `call_seconds`: how long the scenario holds a call."""
    workdir.mkdir()
    trunk_port = free_port()
    trunk = f"127.0.0.1:{trunk_port}"
    uas = subprocess.Popen(
        ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(trunk_port), "-nostdin",
         "-timeout", "600s"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    best, best_cpu = 0.0, 0.0
    try:
        server: RunningServer
        pid: int
        if ours:
            our_server = start_ours(workdir / "server", trunk, answer_url=answer_url)
            server, pid = our_server.running, our_server.pid
        else:
            server = start_kamailio_proxy(workdir / "server", trunk)
            pid = server.pid
        with server:
            for rate in RATES:
                plan = StepPlan(rate, scenario, call_seconds)
                outcome, cpu = clean_step(server, pid, injection, plan, workdir)
                if outcome is None:
                    break
                best, best_cpu = plan.achieved(outcome), cpu
    finally:
        uas.kill()
        uas.wait()
    return best, best_cpu


@dataclass(frozen=True, slots=True)
class StepPlan:
    rate: int
    scenario: Path
    call_seconds: float

    def achieved(self, outcome: SippOutcome) -> float:
        """Calls per second over the time calls were started: SIPp's wall time less the
        length of its last call."""
        return outcome.successful / (outcome.wall_seconds - self.call_seconds)


def clean_step(
    server: RunningServer, pid: int, injection: Path, plan: StepPlan, workdir: Path
) -> tuple[SippOutcome | None, float]:
    rate = plan.rate
    for _ in range(STEP_ATTEMPTS):
        meter = CpuMeter(pid)
        outcome = drive(server.port, injection, rate, workdir, plan.scenario)
        cpu, waiting = meter.share(), meter.waiting_share()
        achieved = plan.achieved(outcome)
        print(
            f"  {rate:>5}/s target: {outcome.successful} ok, {outcome.failed} failed, "
            f"{outcome.retransmissions} retransmissions, {achieved:,.0f}/s, "
            f"server CPU {100 * cpu:.0f}%, waiting for a CPU {100 * waiting:.0f}% of the time",
            flush=True,
        )
        expected = rate * STEP_SECONDS
        clean = outcome.exit_code == 0 and outcome.failed == 0
        if clean and outcome.successful == expected and achieved >= KEEP_UP * rate:
            return outcome, cpu
    return None, 0.0


def drive(port: int, injection: Path, rate: int, workdir: Path, scenario: Path) -> SippOutcome:
    statistics = workdir / f"stats-{port}-{rate}-{time.monotonic_ns()}.csv"
    command = [
        "sipp", "-sf", str(scenario), "-inf", str(injection), "-s", CALLED,
        "-auth_uri", f"{CALLED}@{DOMAIN}", "-d", str(HOLD_MS),
        "-r", str(rate), "-m", str(rate * STEP_SECONDS), "-l", str(rate * 5),
        "-i", "127.0.0.1", "-p", str(free_port()), "-nostdin",
        "-timeout", f"{STEP_SECONDS + 30}s", "-recv_timeout", "10000",
        "-trace_stat", "-stf", str(statistics), f"127.0.0.1:{port}",
    ]  # fmt: skip
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=workdir, capture_output=True, timeout=STEP_SECONDS + 60, check=False
    )
    return sipp_outcome(statistics, time.monotonic() - started, completed.returncode)
