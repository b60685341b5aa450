"""The whole program as `make run` starts it: listeners, clean stop, hostile input, SIPp."""

import json
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Response, error_response_for, parse_message
from tests.conftest import ServerProcess, free_sip_port, options_request, udp_exchange

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def tcp_exchange(host: str, port: int, data: bytes) -> bytes:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect((host, port))
        client.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = client.recv(65535)
            assert chunk, "connection closed before a response"
            received += chunk
        return received


def logged_statistics(server: ServerProcess, name: str) -> dict[str, int]:
    match = re.search(rf"{name} statistics: (\{{.*\}})", server.log())
    assert match is not None, server.log()
    statistics: dict[str, int] = json.loads(match.group(1))
    return statistics


def status_of(data: bytes | None) -> int | None:
    if data is None:
        return None
    message = parse_message(data)
    assert isinstance(message, Response)
    return message.status_code


def test_every_listener_answers_options(server: ServerProcess) -> None:
    for host in server.hosts:
        udp = udp_exchange(server.sip_port, options_request(f"u{len(host)}", host), host)
        tcp = tcp_exchange(host, server.sip_port, options_request(f"t{len(host)}", host, 9, "TCP"))
        assert (status_of(udp), status_of(tcp)) == (200, 200), host


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_server_cleanly(server: ServerProcess, signum: int) -> None:
    assert server.process is not None
    server.process.send_signal(signum)
    assert server.process.wait(timeout=10) == 0
    for host in server.hosts:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(family, kind) as probe:
                probe.bind((host, server.sip_port))  # the port is free again
    # SQLite removes the write-ahead log when the last connection closes cleanly.
    assert server.database_path.exists()
    assert not Path(f"{server.database_path}-wal").exists()
    assert server.log().rstrip().endswith("stopped")


class OptionsPinger(threading.Thread):
    """Keeps asking the server for OPTIONS while something else is thrown at it."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stopping = threading.Event()
        self.answered = 0
        self.unanswered = 0

    def run(self) -> None:
        number = 0
        while not self.stopping.is_set():
            number += 1
            answer = udp_exchange(self.port, options_request(f"ping{number}"), timeout=1.0)
            if answer is not None and status_of(answer) == 200:
                self.answered += 1
            else:
                self.unanswered += 1


PJSUA_REFRESHING = r"""
import select, sys
import pjsua2 as pj

registrar, username, password = sys.argv[1:4]


class Account(pj.Account):
    completed = False

    def onRegState(self, prm):
        print("CODE", prm.code, flush=True)
        self.completed = True


endpoint = pj.Endpoint()
endpoint.libCreate()
config = pj.EpConfig()
config.uaConfig.threadCnt = 0
config.uaConfig.mainThreadOnly = True
config.logConfig.level = config.logConfig.consoleLevel = 0
endpoint.libInit(config)
transport = pj.TransportConfig()
transport.boundAddress = "127.0.0.1"
endpoint.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
endpoint.libStart()
endpoint.audDevManager().setNullDev()
account_config = pj.AccountConfig()
account_config.idUri = f"sip:{username}@phone.local"
account_config.regConfig.registrarUri = f"sip:{registrar}"
account_config.regConfig.timeoutSec = 300
account_config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", username, 0, password))
account = Account()
account.create(account_config)
while True:
    endpoint.libHandleEvents(10)
    if account.completed:
        account.completed = False
        if select.select([sys.stdin], [], [], 0)[0]:
            break
        account.setRegistration(True)  # refresh at once: registrations all through the test
account.shutdown()
endpoint.libDestroy()
"""


class RefreshingRegistration(threading.Thread):
    """pjsua2 in a child process, re-registering as soon as each registration completes."""

    def __init__(self, port: int, username: str, password: str) -> None:
        super().__init__(daemon=True)
        self.process = subprocess.Popen(
            [sys.executable, "-c", PJSUA_REFRESHING, f"127.0.0.1:{port}", username, password],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.codes: list[int] = []

    def run(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("CODE "):
                self.codes.append(int(line.split()[1]))

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.join(timeout=5)


def bound_contacts(server: ServerProcess, username: str) -> list[str]:
    with sqlite3.connect(server.database_path) as connection:
        rows = connection.execute(
            "SELECT contact FROM bindings WHERE username = ?", (username,)
        ).fetchall()
    return [str(row[0]) for row in rows]


def send_each_from_its_own_socket(port: int, messages: dict[str, bytes]) -> dict[str, int | None]:
    """Every message at once, each from its own socket, so every answer is attributable."""
    sockets = {name: socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for name in messages}
    try:
        for name, data in messages.items():
            sockets[name].sendto(data, ("127.0.0.1", port))
        statuses: dict[str, int | None] = {}
        deadline = time.monotonic() + 2.0
        for name, sock in sockets.items():
            sock.settimeout(max(deadline - time.monotonic(), 0.05))
            try:
                statuses[name] = int(sock.recv(65535).split(b" ", 2)[1])
            except TimeoutError:
                statuses[name] = None
        return statuses
    finally:
        for sock in sockets.values():
            sock.close()


def with_rport(name: str, data: bytes) -> bytes:
    """Ask for RFC 3581 rport in the first Via, so answers come back to the sending socket,
    and make its branch unique: several torture messages share one, and would otherwise be
    (rightly, §17.2.3) absorbed as retransmissions of each other.

    The messages name TEST-NET sent-by addresses; without rport their answers would go to
    127.0.0.1 port 5060 (received + sent-by port, §18.2.2), where nobody listens.
    """
    at = data.lower().find(b"branch=")
    if at < 0:
        return data
    value = at + len(b"branch=")
    cookie = b"z9hG4bK" if data[value : value + 7] == b"z9hG4bK" else b""
    unique = cookie + name.encode() + b"-"
    return data[:at] + b"rport;branch=" + unique + data[value + len(cookie) :]


def expected_answer(data: bytes) -> str:
    """What the server must do with a torture message, judged by the parser itself."""
    try:
        message = parse_message(data)
    except SipParseError as error:
        response = error_response_for(data, error)
        return "nothing" if response is None else str(response.status_code)
    if isinstance(message, Response) or message.method == "ACK":
        return "nothing"
    if message.top_via.rport is None:
        return "nothing"  # answered at 127.0.0.1 and its sent-by port, not to our socket
    return "an answer"


@pytest.mark.interop
def test_rfc4475_torture_messages_over_udp(server: ServerProcess) -> None:
    pytest.importorskip("pjsua2")
    fixtures = {
        path.stem: with_rport(path.stem, path.read_bytes())
        for path in (FIXTURES / "sip" / "rfc4475").glob("*.sip")
    }
    assert len(fixtures) == 49
    server.cli("endpoint", "add", "alice", "s3cret", "--exact")
    pinger = OptionsPinger(server.sip_port)
    registration = RefreshingRegistration(server.sip_port, "alice", "s3cret")
    registration.start()
    pinger.start()
    try:
        statuses = send_each_from_its_own_socket(server.sip_port, fixtures)
        time.sleep(0.5)  # a few more registrations after the storm
        # Checked before pjsua2 stops: it unregisters on its way out.
        contacts = bound_contacts(server, "alice")
    finally:
        pinger.stopping.set()
        pinger.join()
        registration.stop()
    assert len(registration.codes) >= 3
    assert set(registration.codes) == {200}, registration.codes
    assert len(contacts) == 1
    assert contacts[0].startswith("sip:alice@127.0.0.1:")
    assert server.process is not None
    assert server.process.poll() is None
    assert pinger.answered > 0
    assert pinger.unanswered == 0
    outcomes = {
        name: "nothing" if status is None else str(status) if status in (400, 505, 513)
        else "an answer"
        for name, status in statuses.items()
    }  # fmt: skip
    assert outcomes == {name: expected_answer(data) for name, data in fixtures.items()}
    assert server.stop() == 0
    statistics = logged_statistics(server, "SIP")
    malformed = [name for name, data in fixtures.items() if not parses(data)]
    assert statistics["parse_errors"] == len(malformed) > 0
    assert statistics["handler_errors"] == 0


def parses(data: bytes) -> bool:
    try:
        parse_message(data)
    except SipParseError:
        return False
    return True


def run_sipp(server: ServerProcess, transport: str, calls: int) -> subprocess.CompletedProcess[str]:
    # SIPp binds its -p port for the transport it runs: free for UDP is not free for TCP.
    local_port = free_sip_port(("127.0.0.1",))
    return subprocess.run(
        [
            "sipp", "-sf", str(FIXTURES / "sipp" / "options.xml"), "-t", transport,
            "-i", "127.0.0.1", "-p", str(local_port), "-m", str(calls), "-r", "50",
            "-nostdin", "-timeout", "30", f"127.0.0.1:{server.sip_port}",
        ],
        cwd=server.directory, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp is not installed")
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_sipp_options_scenario(server: ServerProcess, transport: str) -> None:
    result = run_sipp(server, transport, calls=20)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"Successful call\s+\|\s+\d+\s+\|\s+20\s", result.stdout), result.stdout
