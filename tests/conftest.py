"""Shared fixtures.

`server` runs the real program as a child process, the way `make run` does:
`python -m mediaserver run --config <tmp toml>`, listening on one free port number for
UDP and TCP on 127.0.0.1 and (when the host has IPv6) on ::1, with its SQLite file in the
test's tmp directory. It is ready when it answers a UDP OPTIONS. Use it like:

    def test_something(server: ServerProcess) -> None:
        server.cli("endpoint", "add", "alice", "s3cret", "--exact")  # admin CLI, same config
        ... send SIP to ("127.0.0.1", server.sip_port) over UDP or TCP ...
        server.stop()        # SIGINT, waits, returns the exit code (0 when clean)
        server.start()       # same config, same database: a restart
        server.log()         # everything the process wrote

`server_factory(extra_toml)` starts one with extra TOML appended to the config, e.g.
`server_factory('[registrar]\\nmin_expires = 1\\n')` (sections must not repeat `[sip]`,
`[storage]` or `[api]`, which the fixture writes). Every server is stopped at the end of the
test. `server.metrics()` reads its /metrics (the API listener is on a free port too).
"""

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mediaserver.api.metrics import parse as parse_metrics
from mediaserver.app import EXIT_CANNOT_LISTEN

SIP_DOMAIN = "phone.local"
READY_TIMEOUT = 20.0
PORT_ATTEMPTS = 3


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_sip_port(hosts: tuple[str, ...]) -> int:
    """A port number free for both UDP and TCP on every host in `hosts`."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if all(_bindable(host, port, kind) for host in hosts for kind in _KINDS):
            return port
    raise RuntimeError("no free port for both UDP and TCP")


_KINDS = (socket.SOCK_DGRAM, socket.SOCK_STREAM)


def _bindable(host: str, port: int, kind: socket.SocketKind) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def options_request(
    branch: str, host: str = "127.0.0.1", port: int = 9, transport: str = "UDP"
) -> bytes:
    sent_by = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return (
        f"OPTIONS sip:{SIP_DOMAIN} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {sent_by};branch=z9hG4bK{branch};rport\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:probe@{SIP_DOMAIN}>;tag=probe\r\n"
        f"To: <sip:{SIP_DOMAIN}>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def udp_exchange(
    port: int, data: bytes, host: str = "127.0.0.1", timeout: float = 0.5
) -> bytes | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout)
        probe.sendto(data, (host, port))
        try:
            return probe.recv(65535)
        except TimeoutError:
            return None


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PortTakenError(AssertionError):
    """Another process bound a port between free_*_port() choosing it and the server."""


@dataclass
class ServerProcess:
    directory: Path
    sip_port: int
    hosts: tuple[str, ...]
    extra_toml: str = ""
    sip_toml: str = ""  # more keys for the [sip] section
    api_port: int = field(default_factory=free_tcp_port)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return self.directory / "server.toml"

    @property
    def database_path(self) -> Path:
        return self.directory / "mediaserver.db"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def write_config(self) -> None:
        listen = ", ".join(
            f'"{transport}:{f"[{host}]" if ":" in host else host}:{self.sip_port}"'
            for host in self.hosts
            for transport in ("udp", "tcp")
        )
        self.config_path.write_text(
            f'[sip]\ndomain = "{SIP_DOMAIN}"\nlisten = [{listen}]\n{self.sip_toml}'
            f'[storage]\nurl = "sqlite:///{self.database_path}"\n'
            f'[api]\nlisten = "127.0.0.1:{self.api_port}"\n{self.extra_toml}'
        )

    def metrics(self) -> dict[str, float]:
        """The server's /metrics, unlabelled samples by name."""
        url = f"http://127.0.0.1:{self.api_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return parse_metrics(reply.read().decode())

    def cli(self, *arguments: str) -> str:
        """Run an admin command (`mediaserver <arguments> --config <this config>`)."""
        result = subprocess.run(
            [sys.executable, "-m", "mediaserver", *arguments, "--config", str(self.config_path)],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return result.stdout.strip()

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mediaserver", "run", "--config", str(self.config_path)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == EXIT_CANNOT_LISTEN:
                raise PortTakenError(self.log())
            if code is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            if udp_exchange(self.sip_port, options_request("ready"), timeout=0.2) is not None:
                return
        self.stop()
        raise AssertionError(f"server did not answer OPTIONS:\n{self.log()}")

    def stop(self) -> int | None:
        """Ctrl-C the server (SIGINT) and return its exit code; None if it was not running."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []
    hosts = ("127.0.0.1", "::1") if has_ipv6_loopback() else ("127.0.0.1",)

    def start(
        extra_toml: str = "", sip_toml: str = "", kind: type[ServerProcess] = ServerProcess,
        **fields: Any,
    ) -> ServerProcess:  # fmt: skip
        """A server of `kind` (a subprocess, unless a test runs one in-process)."""
        directory = tmp_path / f"server{len(started)}"
        directory.mkdir()
        attempts = 0
        while True:
            port = free_sip_port(hosts)
            running = kind(directory, port, hosts, extra_toml, sip_toml, **fields)
            running.write_config()
            try:
                running.start()
            except PortTakenError:
                attempts += 1
                if attempts == PORT_ATTEMPTS:
                    raise
                continue
            started.append(running)
            return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory("")
