"""Registrations per second with digest auth, ours against Kamailio, both driven by SIPp.

Each registration is REGISTER -> 401 -> REGISTER with credentials -> 200
(fixtures/sipp/register_auth.xml), cycling through USERS users from an injection file. For
each server the rate steps up (STEP_SECONDS per step) until a step has a failed call, a
timeout or falls behind its target; the highest clean rate is then held for SUSTAIN_SECONDS.
Every run starts on a freshly started server (same database), so an overloaded step leaves
nothing behind for the next. Our server runs as one process; Kamailio with KAMAILIO_CHILDREN
UDP workers.
"""

import contextlib
import csv
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from mediaserver.calls.registrar import Registrar
from mediaserver.clock import SystemClock
from mediaserver.config import RegistrarConfig
from mediaserver.sip.digest import DigestChallenge, DigestCredentials, ha1_for
from mediaserver.sip.message import Request, Response, parse_message
from mediaserver.store.bindings import SqliteBindings
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.transport.local_address import LocalAddress
from mediaserver.transport.peer import Peer

REPOSITORY = Path(__file__).resolve().parents[2]
SCENARIO = REPOSITORY / "fixtures" / "sipp" / "register_auth.xml"
KAMAILIO_CFG = Path(__file__).resolve().parent / "kamailio" / "registrar.cfg"
DOMAIN = "phone.local"
USERS = 1000
RATES = (500, 750, 900, 1000, 1100, 1250, 1500, 2000, 2500, 3000, 4000, 6000, 8000, 10000, 12000)
CORE_REGISTRATIONS = 3000
STEP_SECONDS = 5
# Longer than Timer J (64*T1 = 32 s, RFC 3261 §17.2.2), so the held run includes the steady
# state where completed server transactions expire as fast as new ones arrive.
SUSTAIN_SECONDS = 40
# When the best step rate cannot be held, the next lower step is tried, this many times in
# all (the highest rate that holds is the figure, so the search walks down, not jumps).
SUSTAIN_ATTEMPTS = 3
KAMAILIO_CHILDREN = 2
FLOOR_PER_SECOND = 1000
GOAL_RATIO = 0.5
# A step counts only if SIPp completed its calls at no less than this share of the target.
KEEP_UP = 0.9
# A failed step is tried once more before the rate counts as too high: a single stall (another
# process on the machine, a checkpoint) should not end the search.
STEP_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class SippRun:
    target_rate: int
    seconds: int
    successful: int
    failed: int
    retransmissions: int
    wall_seconds: float
    exit_code: int

    @property
    def achieved_rate(self) -> float:
        return self.successful / self.wall_seconds

    @property
    def clean(self) -> bool:
        expected = self.target_rate * self.seconds
        return (
            self.exit_code == 0
            and self.failed == 0
            and self.successful == expected
            and self.achieved_rate >= KEEP_UP * self.target_rate
        )

    def __str__(self) -> str:
        verdict = "ok" if self.clean else "FAILED"
        return (
            f"  -r {self.target_rate:>5} for {self.seconds:>2} s: {self.successful} ok,"
            f" {self.failed} failed, {self.retransmissions} retransmissions,"
            f" {self.achieved_rate:,.0f}/s achieved [{verdict}]"
        )


def run() -> None:
    for program in ("sipp", "kamailio"):
        if shutil.which(program) is None:
            print(f"{program} is not installed (make system-packages); skipping")
            return
    with tempfile.TemporaryDirectory(prefix="bench-registration-") as directory:
        workdir = Path(directory)
        users = [(f"bench{index:05d}", f"password-{index}") for index in range(USERS)]
        injection = write_injection_file(workdir / "users.csv", users)
        print(f"{USERS} users, {STEP_SECONDS} s steps, best clean rate held {SUSTAIN_SECONDS} s")
        core = measure_core(workdir / "core", users)
        print(
            f"registrar core in process (parse + registrar + serialise, no sockets): {core:,.0f}/s"
        )
        print("mediaserver (one process):")
        ours = measure(start_mediaserver(workdir / "ours", users), injection, workdir)
        print(f"kamailio ({KAMAILIO_CHILDREN} UDP workers, auth_db + db_text, usrloc in memory):")
        reference = measure(start_kamailio(workdir / "kamailio", users), injection, workdir)
    print(f"mediaserver: {ours:,.0f} registrations/s sustained (floor {FLOOR_PER_SECOND:,}/s)")
    print(f"kamailio:    {reference:,.0f} registrations/s sustained")
    ratio = ours / reference if reference else 0.0
    print(f"ratio mediaserver/kamailio: {ratio:.2f} (goal >= {GOAL_RATIO})")


def measure_core(workdir: Path, users: list[tuple[str, str]]) -> float:
    """Registrations per second through parse_message, the Registrar and serialize alone."""
    workdir.mkdir()
    database = open_database(workdir / "core.db")
    endpoints = SqliteEndpoints(database)
    for name, password in users:
        endpoints.add(name, password, DOMAIN, "", None, time.time())
    registrar = Registrar(
        RegistrarConfig(), DOMAIN, endpoints, SqliteBindings(database), SystemClock(),
        secrets.token_bytes(32), LocalAddress(domain=DOMAIN),
    )  # fmt: skip
    source = Peer("udp", "127.0.0.1", 5070)
    server_seconds = 0.0
    for index in range(CORE_REGISTRATIONS):
        name, password = users[index % len(users)]
        started = time.perf_counter()
        challenge = core_exchange(registrar, source, register_bytes(name, index, 1, ""))
        server_seconds += time.perf_counter() - started
        offered = DigestChallenge.parse(challenge.headers.get("WWW-Authenticate") or "")
        authenticated = register_bytes(name, index, 2, sign(offered, name, password))
        started = time.perf_counter()
        final = core_exchange(registrar, source, authenticated)
        server_seconds += time.perf_counter() - started
        assert final.status_code == 200, final
    return CORE_REGISTRATIONS / server_seconds


def core_exchange(registrar: Registrar, source: Peer, data: bytes) -> Response:
    request = parse_message(data)
    assert isinstance(request, Request)
    response = registrar.handle_register(request, source)
    response.serialize()
    return response


def register_bytes(name: str, index: int, cseq: int, authorization: str) -> bytes:
    lines = [
        "REGISTER sip:127.0.0.1:5060 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{index}-{cseq}",
        "Max-Forwards: 70",
        f"From: <sip:{name}@{DOMAIN}>;tag={index}SIPpTag",
        f"To: <sip:{name}@{DOMAIN}>",
        f"Call-ID: {index}-core@127.0.0.1",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:{name}@127.0.0.1:5070;transport=UDP>",
        *([f"Authorization: {authorization}"] if authorization else []),
        "Expires: 3600",
        "User-Agent: bench",
    ]
    return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()


def sign(
    challenge: DigestChallenge,
    name: str,
    password: str,
    method: str = "REGISTER",
    uri: str = "sip:127.0.0.1:5060",
) -> str:
    """What a UA puts in (Proxy-)Authorization for `challenge` (RFC 7616 §3.4, qop=auth,
    nc=1)."""
    unsigned = DigestCredentials(
        name, challenge.realm, challenge.nonce, uri, "", challenge.algorithm, "auth", 1,
        "0a4f113b",
    )  # fmt: skip
    ha1 = ha1_for(name, challenge.realm, password, challenge.algorithm)
    return str(replace(unsigned, response=unsigned.expected_response(ha1, method)))


def measure(server: "RunningServer", injection: Path, workdir: Path) -> float:
    """The highest rate held for SUSTAIN_SECONDS with no failure (0 when none)."""
    with server:
        best = 0
        for rate in RATES:
            if not clean_step(server, injection, rate, workdir):
                break
            best = rate
        for _ in range(SUSTAIN_ATTEMPTS):
            if not best:
                break
            server.restart()
            sustained = drive(server.port, injection, best, SUSTAIN_SECONDS, workdir)
            print(sustained, flush=True)
            if sustained.clean:
                return sustained.achieved_rate
            best = max((rate for rate in RATES if rate < best), default=0)
    return 0.0


def clean_step(server: "RunningServer", injection: Path, rate: int, workdir: Path) -> bool:
    for _ in range(STEP_ATTEMPTS):
        server.restart()
        step = drive(server.port, injection, rate, STEP_SECONDS, workdir)
        print(step, flush=True)
        if step.clean:
            return True
    return False


def drive(port: int, injection: Path, rate: int, seconds: int, workdir: Path) -> SippRun:
    statistics = workdir / f"stats-{port}-{rate}-{seconds}.csv"
    command = [
        "sipp", "-sf", str(SCENARIO), "-inf", str(injection),
        "-r", str(rate), "-m", str(rate * seconds), "-l", str(rate * 5),
        "-i", "127.0.0.1", "-p", str(free_port()), "-nostdin", "-timeout", f"{seconds + 30}s",
        "-recv_timeout", "5000", "-trace_stat", "-stf", str(statistics),
        f"127.0.0.1:{port}",
    ]  # fmt: skip
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=workdir, capture_output=True, timeout=seconds + 60, check=False
    )
    wall_seconds = time.monotonic() - started
    counters = last_statistics_row(statistics)
    return SippRun(
        target_rate=rate,
        seconds=seconds,
        successful=int(counters.get("SuccessfulCall(C)", 0)),
        failed=int(counters.get("FailedCall(C)", 0)),
        retransmissions=int(counters.get("Retransmissions(C)", 0)),
        wall_seconds=wall_seconds,
        exit_code=completed.returncode,
    )


def last_statistics_row(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file, delimiter=";"))
    return rows[-1] if rows else {}


def write_injection_file(path: Path, users: list[tuple[str, str]]) -> Path:
    lines = ["SEQUENTIAL"] + [
        f"{name};{DOMAIN};[authentication username={name} password={password}]"
        for name, password in users
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningServer:
    """A server child process, stopped (SIGTERM, then SIGKILL) when the block ends."""

    def __init__(self, command: list[str], port: int, log: Path) -> None:
        self.port = port
        self._command = command
        self._log_path = log
        self._log = log.open("wb")
        self._process = self._start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def restart(self) -> None:
        """A fresh process on the same files: no transactions or load left from a run before."""
        self._stop()
        self._process = self._start()

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop()
        self._log.close()

    def _start(self) -> subprocess.Popen[bytes]:
        # Its own process group, so stopping it also stops the workers Kamailio forks.
        process = subprocess.Popen(
            self._command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_answering(self.port, process)
        except BaseException as error:
            _signal_group(process, signal.SIGKILL)
            process.wait()
            if isinstance(error, RuntimeError):  # it exited, or never answered: say why
                self._log.flush()
                last = self._log_path.read_text(errors="replace").strip().splitlines()[-5:]
                raise RuntimeError(f"{error}; its log ends: {' | '.join(last)}") from None
            raise
        return process

    def _stop(self) -> None:
        _signal_group(self._process, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(self._process, signal.SIGKILL)
            self._process.wait()
        # Workers that outlive their parent are killed with the group.
        _signal_group(self._process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def wait_until_answering(port: int, process: subprocess.Popen[bytes]) -> None:
    """Send OPTIONS until anything comes back (any SIP response means the socket is served)."""
    options = (
        f"OPTIONS sip:{DOMAIN} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-ready;rport\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:bench@{DOMAIN}>;tag=1\r\nTo: <sip:{DOMAIN}>\r\n"
        "Call-ID: bench-ready\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    deadline = time.monotonic() + 20
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode} before answering")
            probe.sendto(options, ("127.0.0.1", port))
            try:
                probe.recvfrom(65535)
            except TimeoutError:
                continue
            return
    raise RuntimeError(f"server on port {port} did not answer OPTIONS within 20 s")


def start_mediaserver(workdir: Path, users: list[tuple[str, str]]) -> RunningServer:
    workdir.mkdir()
    database = workdir / "mediaserver.db"
    endpoints = SqliteEndpoints(open_database(database))
    for name, password in users:
        endpoints.add(name, password, DOMAIN, "", None, time.time())
    port = free_port()
    config = workdir / "mediaserver.toml"
    config.write_text(
        f'[sip]\ndomain = "{DOMAIN}"\nlisten = ["udp:127.0.0.1:{port}"]\n'
        f'[storage]\nurl = "sqlite:///{database}"\n[log]\nlevel = "WARNING"\n'
    )
    command = [sys.executable, "-m", "mediaserver", "run", "--config", str(config)]
    return RunningServer(command, port, workdir / "mediaserver.log")


def start_kamailio(workdir: Path, users: list[tuple[str, str]]) -> RunningServer:
    database = workdir / "db"
    database.mkdir(parents=True)
    write_kamailio_tables(database, users)
    port = free_port()
    config = workdir / "kamailio.cfg"
    text = KAMAILIO_CFG.read_text()
    for name, value in (
        ("@CHILDREN@", str(KAMAILIO_CHILDREN)),
        ("@PORT@", str(port)),
        ("@DOMAIN@", DOMAIN),
        ("@WORKDIR@", str(workdir)),
    ):
        text = text.replace(name, value)
    config.write_text(text)
    command = ["kamailio", "-f", str(config), "-E", "-DD", "-w", str(workdir)]
    return RunningServer(command, port, workdir / "kamailio.log")


def write_kamailio_tables(database: Path, users: list[tuple[str, str]]) -> None:
    """db_text tables: `version` (schema versions auth_db checks) and `subscriber`."""
    database.joinpath("version").write_text(
        "id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:subscriber:7\n"
    )
    rows = [
        "id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) "
    ]
    for index, (name, password) in enumerate(users, start=1):
        ha1 = hashlib.md5(f"{name}:{DOMAIN}:{password}".encode()).hexdigest()
        ha1b = hashlib.md5(f"{name}@{DOMAIN}:{DOMAIN}:{password}".encode()).hexdigest()
        rows.append(f"{index}:{name}:{DOMAIN}:{password}:{ha1}:{ha1b}")
    database.joinpath("subscriber").write_text("\n".join(rows) + "\n")
