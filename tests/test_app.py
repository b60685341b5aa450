"""The whole program as `make run` starts it: listeners, clean stop, hostile input, SIPp."""

import json
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mediaserver.sip.digest import DigestChallenge, DigestCredentials, ha1_for
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Response, error_response_for, parse_message
from tests.conftest import SIP_DOMAIN, ServerProcess, options_request, udp_exchange

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


class RegisteringClient(threading.Thread):
    """Registers and re-registers with digest credentials (a UDP client with its own socket)."""

    def __init__(self, port: int, username: str, password: str) -> None:
        super().__init__(daemon=True)
        self.port, self.username, self.password = port, username, password
        self.stopping = threading.Event()
        self.registered = 0
        self.failures: list[int | None] = []
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(2.0)
        self.contact_port = self.socket.getsockname()[1]
        self.cseq = 0

    def run(self) -> None:
        with self.socket:
            while not self.stopping.is_set():
                challenge = self.exchange("")
                if challenge is None or challenge.status_code != 401:
                    self.failures.append(None if challenge is None else challenge.status_code)
                    continue
                final = self.exchange(self.credentials(challenge))
                if final is not None and final.status_code == 200:
                    self.registered += 1
                else:
                    self.failures.append(None if final is None else final.status_code)

    def credentials(self, challenge: Response) -> str:
        offer = DigestChallenge.parse(challenge.headers.get("WWW-Authenticate") or "")
        ha1 = ha1_for(self.username, offer.realm, self.password, offer.algorithm)
        unsigned = DigestCredentials(
            self.username, offer.realm, offer.nonce, f"sip:{SIP_DOMAIN}", "",
            offer.algorithm, "auth", 1, "wire", offer.opaque,
        )  # fmt: skip
        return str(replace(unsigned, response=unsigned.expected_response(ha1, "REGISTER")))

    def exchange(self, authorization: str) -> Response | None:
        self.cseq += 1
        lines = [
            f"REGISTER sip:{SIP_DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.contact_port};branch=z9hG4bKreg{self.cseq};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.username}@{SIP_DOMAIN}>;tag=wire",
            f"To: <sip:{self.username}@{SIP_DOMAIN}>",
            "Call-ID: wire-registration",
            f"CSeq: {self.cseq} REGISTER",
            f"Contact: <sip:{self.username}@127.0.0.1:{self.contact_port}>",
            "Expires: 600",
            *([f"Authorization: {authorization}"] if authorization else []),
        ]
        data = ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()
        self.socket.sendto(data, ("127.0.0.1", self.port))
        try:
            reply = parse_message(self.socket.recv(65535))
        except TimeoutError:
            return None
        assert isinstance(reply, Response)
        return reply


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


def test_rfc4475_torture_messages_over_udp(server: ServerProcess) -> None:
    fixtures = {
        path.stem: with_rport(path.stem, path.read_bytes())
        for path in (FIXTURES / "sip" / "rfc4475").glob("*.sip")
    }
    assert len(fixtures) == 49
    server.cli("endpoint", "add", "alice", "s3cret", "--exact")
    pinger = OptionsPinger(server.sip_port)
    registering = RegisteringClient(server.sip_port, "alice", "s3cret")
    pinger.start()
    registering.start()
    try:
        statuses = send_each_from_its_own_socket(server.sip_port, fixtures)
    finally:
        pinger.stopping.set()
        registering.stopping.set()
        pinger.join()
        registering.join()
    assert registering.registered > 0
    assert registering.failures == []
    assert bound_contacts(server, "alice") == [f"sip:alice@127.0.0.1:{registering.contact_port}"]
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
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        local_port = probe.getsockname()[1]
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
