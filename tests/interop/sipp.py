"""Running SIPp (Debian's sip-tester) against the test server: scenarios from fixtures/sipp,
bounded in calls and time, on loopback, with the outcome from its exit code (0: all calls
succeeded) and its output kept for the assertion message."""

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import free_sip_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sipp"
USERS = FIXTURES / "users.csv"
SIPP_USER, SIPP_PASSWORD = "sippuser", "sipp-secret"  # the first line of users.csv

requires_sipp = pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp is not installed")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sipp_command(
    scenario: str, target: str | None, port: int, *arguments: str, calls: int = 1
) -> list[str]:
    builtin = scenario in ("uac", "uas")
    command = [
        "sipp",
        "-sn" if builtin else "-sf",
        scenario if builtin else str(FIXTURES / scenario),
    ]
    command += ["-m", str(calls), "-nostdin", "-timeout", "30s", "-i", "127.0.0.1"]
    command += ["-p", str(port), "-mi", "127.0.0.1", *arguments]
    return [*command, target] if target else command


def run_sipp(
    scenario: str, target: str, *arguments: str, calls: int = 1, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # Its -p port is bound for the transport it runs (-t t1: TCP), so free for both.
    local_port = free_sip_port(("127.0.0.1",))
    return subprocess.run(
        sipp_command(scenario, target, local_port, *arguments, calls=calls),
        cwd=cwd, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


def received_status_lines(message_log: Path) -> list[str]:
    """The status line of every response SIPp received, from its -trace_msg -message_file."""
    return _RECEIVED_RESPONSE.findall(message_log.read_text(errors="replace"))


_RECEIVED_RESPONSE = re.compile(
    r"^(?:UDP|TCP) message received \[\d+\] bytes :\n\n(SIP/2\.0 .*)$", re.M
)


class SippServer:
    """A SIPp UAS (or any scenario waiting for calls) in the background, stopped at exit."""

    def __init__(
        self,
        scenario: str,
        *arguments: str,
        calls: int = 1,
        cwd: Path | None = None,
        target: str | None = None,
    ) -> None:
        self.port = free_udp_port()
        self.process = subprocess.Popen(
            sipp_command(scenario, target, self.port, *arguments, calls=calls),
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait(self, timeout: float = 60) -> tuple[int, str]:
        try:
            output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return self.process.returncode, output[-3000:]

    def __enter__(self) -> "SippServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
