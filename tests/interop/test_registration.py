"""The registrar against real user agents: pjsua2 (UDP and TCP), SIPp, a raw UDP client.

Every step is checked against the server's own state: the bindings table of its SQLite file.
pjsua2 runs in a child process (PJSIP keeps one library instance per process).
"""

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mediaserver.sip.digest import DigestChallenge, DigestCredentials, ha1_for
from mediaserver.sip.message import Response, parse_message
from tests.conftest import ServerProcess
from tests.interop.sipp import (
    SIPP_PASSWORD,
    SIPP_USER,
    USERS,
    received_status_lines,
    requires_sipp,
    run_sipp,
)

pytestmark = pytest.mark.interop

DOMAIN = "phone.local"


def bindings(server: ServerProcess, username: str) -> list[dict[str, object]]:
    """The server's own record: unexpired rows of its bindings table."""
    with sqlite3.connect(server.database_path) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT * FROM bindings WHERE username = ? AND expires_at > ? ORDER BY rowid",
            (username, time.time()),
        ).fetchall()
    return [dict(row) for row in rows]


@pytest.fixture
def server(server: ServerProcess) -> ServerProcess:
    """The shared server fixture, with the SIP user alice created through the admin CLI."""
    server.cli("endpoint", "add", "alice", "s3cret", "--exact")
    return server


class UdpClient:
    """A bare REGISTER client on a UDP socket, answering challenges with our digest code."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.port, self.username, self.password = port, username, password
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(5)
        self.local_port = self.socket.getsockname()[1]
        self.cseq = 0

    def close(self) -> None:
        self.socket.close()

    def exchange(self, *headers: str, authorization: str = "") -> tuple[bytes, Response]:
        self.cseq += 1
        lines = [
            f"REGISTER sip:{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.local_port};branch=z9hG4bKc{self.cseq};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.username}@{DOMAIN}>;tag=client{self.local_port}",
            f"To: <sip:{self.username}@{DOMAIN}>",
            f"Call-ID: registration-{self.local_port}",
            f"CSeq: {self.cseq} REGISTER",
            *headers,
            *([f"Authorization: {authorization}"] if authorization else []),
        ]
        data = ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()
        self.socket.sendto(data, ("127.0.0.1", self.port))
        reply, _ = self.socket.recvfrom(65535)
        response = parse_message(reply)
        assert isinstance(response, Response)
        return reply, response

    def register(self, *headers: str) -> list[tuple[bytes, Response]]:
        """REGISTER, then again with credentials for the challenge; both replies."""
        first = self.exchange(*headers)
        assert first[1].status_code == 401
        challenge = DigestChallenge.parse(first[1].headers.get("WWW-Authenticate") or "")
        ha1 = ha1_for(self.username, challenge.realm, self.password, challenge.algorithm)
        unsigned = DigestCredentials(
            self.username, challenge.realm, challenge.nonce, f"sip:{DOMAIN}", "",
            challenge.algorithm, "auth", 1, "interop",
        )  # fmt: skip
        signed = replace(unsigned, response=unsigned.expected_response(ha1, "REGISTER"))
        return [first, self.exchange(*headers, authorization=str(signed))]


def normalised(reply: bytes, username: str) -> bytes:
    text = reply.decode().replace(username, "USER")
    text = re.sub(r"tag=[\w.-]+", "tag=T", text)
    text = re.sub(r"(branch=z9hG4bKc\d+;rport=)\d+", r"\1P", text)
    text = re.sub(r'nonce="\w+"', 'nonce="N"', text)
    text = re.sub(r"Date: .*", "Date: D", text)
    text = re.sub(r"registration-\d+|127\.0\.0\.1:\d+", "X", text)
    return text.encode()


def test_unknown_user_and_wrong_password_look_the_same(server: ServerProcess) -> None:
    unknown = UdpClient(server.sip_port, "mallory", "s3cret")
    wrong = UdpClient(server.sip_port, "alice", "guess")
    try:
        unknown_replies = unknown.register("Contact: <sip:x@127.0.0.1:5999>")
        wrong_replies = wrong.register("Contact: <sip:x@127.0.0.1:5999>")
    finally:
        unknown.close()
        wrong.close()
    assert [r.status_code for _, r in unknown_replies] == [401, 403]
    assert [r.status_code for _, r in wrong_replies] == [401, 403]
    for (unknown_bytes, _), (wrong_bytes, _) in zip(unknown_replies, wrong_replies, strict=True):
        assert normalised(unknown_bytes, "mallory") == normalised(wrong_bytes, "alice")
    assert bindings(server, "alice") == []


def test_binding_survives_a_restart(server: ServerProcess) -> None:
    client = UdpClient(server.sip_port, "alice", "s3cret")
    try:
        _, (_, registered) = client.register("Contact: <sip:alice@127.0.0.1:5998>", "Expires: 600")
        assert registered.status_code == 200
        server.stop()
        server.start()
        _, (_, query) = client.register()
    finally:
        client.close()
    assert query.status_code == 200
    [contact] = query.headers.get_all("Contact")
    assert contact.startswith("<sip:alice@127.0.0.1:5998>;expires=")
    assert 590 <= int(contact.rpartition("=")[2]) <= 600


def run_sipp_registration(
    server: ServerProcess, scenario: str, *arguments: str, users: Path = USERS
) -> subprocess.CompletedProcess[str]:
    return run_sipp(
        scenario, f"127.0.0.1:{server.sip_port}", "-inf", str(users), *arguments,
        cwd=server.directory,
    )  # fmt: skip


@requires_sipp
def test_sipp_register_and_unregister(server: ServerProcess) -> None:
    server.cli("endpoint", "add", "sippuser", "sipp-secret", "--exact")
    registered = run_sipp_registration(server, "register_auth.xml")
    assert registered.returncode == 0, registered.stdout[-2000:]
    [binding] = bindings(server, "sippuser")
    contact = str(binding["contact"])
    assert re.fullmatch(r"sip:sippuser@127\.0\.0\.1:\d+;transport=(?i:udp)", contact)
    assert binding["user_agent"] == "SIPp register_auth"
    unregistered = run_sipp_registration(server, "unregister.xml")
    assert unregistered.returncode == 0, unregistered.stdout[-2000:]
    assert bindings(server, "sippuser") == []


@requires_sipp
@pytest.mark.parametrize(("transport", "bound_as"), [("u1", "udp"), ("t1", "tcp")])
def test_stock_sipp_registration_scenario(
    server: ServerProcess, tmp_path: Path, transport: str, bound_as: str
) -> None:
    """SIPp's documented REGISTER with [authentication], whose digest uri is our address
    (sip:127.0.0.1:PORT) and not the Request-URI (sip:phone.local): a wrong password is
    refused like any other (403), the right one registers."""
    server.cli("endpoint", "add", SIPP_USER, SIPP_PASSWORD, "--exact")
    wrong = tmp_path / "wrong-password.csv"
    wrong.write_text(USERS.read_text().replace(f"password={SIPP_PASSWORD}", "password=guess"))
    code, seen = run_stock_register(server, transport, wrong, tmp_path / "wrong.log")
    assert (code, seen) == (1, ["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"])
    assert bindings(server, SIPP_USER) == []
    code, seen = run_stock_register(server, transport, USERS, tmp_path / "right.log")
    assert (code, seen) == (0, ["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"])
    [binding] = bindings(server, SIPP_USER)
    assert binding["transport"] == bound_as


def run_stock_register(
    server: ServerProcess, transport: str, users: Path, message_log: Path
) -> tuple[int, list[str]]:
    """SIPp's exit code and the status line of each response it received."""
    result = run_sipp_registration(
        server, "register_stock_auth.xml", "-t", transport,
        "-trace_msg", "-message_file", str(message_log), users=users,
    )  # fmt: skip
    return result.returncode, received_status_lines(message_log)


PJSUA_CHILD = r"""
import json, sys, time
import pjsua2 as pj

registrar, transport, username, password = sys.argv[1:5]


class Account(pj.Account):
    def __init__(self):
        super().__init__()
        self.codes = []

    def onRegState(self, prm):
        self.codes.append(prm.code)


endpoint = pj.Endpoint()
endpoint.libCreate()
config = pj.EpConfig()
config.uaConfig.threadCnt = 0
config.uaConfig.mainThreadOnly = True
config.logConfig.consoleLevel = 0
config.logConfig.level = 0
endpoint.libInit(config)
transport_config = pj.TransportConfig()
transport_config.boundAddress = "127.0.0.1"
kind = pj.PJSIP_TRANSPORT_TCP if transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
transport_id = endpoint.transportCreate(kind, transport_config)
endpoint.libStart()
endpoint.audDevManager().setNullDev()
account_config = pj.AccountConfig()
account_config.idUri = f"sip:{username}@phone.local"
account_config.regConfig.registrarUri = f"sip:{registrar};transport={transport}"
account_config.regConfig.timeoutSec = 300
account_config.regConfig.retryIntervalSec = 0
account_config.sipConfig.transportId = transport_id
account_config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", username, 0, password))
account = Account()


def wait_for_state():
    seen = len(account.codes)
    deadline = time.monotonic() + 10
    while len(account.codes) == seen and time.monotonic() < deadline:
        endpoint.libHandleEvents(20)
    code = account.codes[-1] if len(account.codes) > seen else None
    print("STATE", json.dumps({"code": code}), flush=True)


account.create(account_config)
wait_for_state()
for line in sys.stdin:
    command = line.strip()
    if command == "quit":
        break
    account.setRegistration(command == "register")
    wait_for_state()
account.shutdown()
endpoint.libDestroy()
"""


class PjsuaAccount:
    """pjsua2 in a child process; one JSON line per registration state change."""

    def __init__(self, registrar: str, transport: str, username: str, password: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", PJSUA_CHILD, registrar, transport, username, password],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def last_code(self) -> int | None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("STATE "):
                code: int | None = json.loads(line.removeprefix("STATE "))["code"]
                return code
        raise AssertionError("pjsua2 child exited")

    def command(self, text: str) -> int | None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self.last_code()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_pjsua2_registers_refreshes_and_unregisters(server: ServerProcess, transport: str) -> None:
    pytest.importorskip("pjsua2")
    account = PjsuaAccount(f"127.0.0.1:{server.sip_port}", transport, "alice", "s3cret")
    try:
        assert account.last_code() == 200
        [first] = bindings(server, "alice")
        assert first["transport"] == transport
        assert 290 <= float(first["expires_at"]) - time.time() <= 300
        assert account.command("register") == 200  # a refresh: same contact, later CSeq
        [refreshed] = bindings(server, "alice")
        assert refreshed["contact"] == first["contact"]
        assert refreshed["call_id"] == first["call_id"]
        assert int(refreshed["cseq"]) > int(first["cseq"])
        assert account.command("unregister") == 200
        assert bindings(server, "alice") == []
    finally:
        account.close()


def test_pjsua2_with_wrong_password_is_refused(server: ServerProcess) -> None:
    pytest.importorskip("pjsua2")
    account = PjsuaAccount(f"127.0.0.1:{server.sip_port}", "udp", "alice", "wrong")
    try:
        assert account.last_code() == 403
    finally:
        account.close()
    assert bindings(server, "alice") == []
