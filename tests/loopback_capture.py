"""Packets on the loopback interface: dumpcap writing a classic pcap file while a test runs,
and the UDP payloads read back from such a file with their capture times (wall clock, as
time.time())."""

import signal
import struct
import subprocess
from pathlib import Path


class LoopbackCapture:
    """dumpcap on `lo` with a capture filter (e.g. "udp dst port 6000"), from the moment the
    block starts (dumpcap has said it is capturing) to its end. Capturing needs CAP_NET_RAW."""

    def __init__(self, path: Path, capture_filter: str) -> None:
        self.path = path
        self._command = ["dumpcap", "-i", "lo", "-f", capture_filter, "-P", "-w", str(path)]
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> "LoopbackCapture":
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert self._process.stderr is not None
        said = self._process.stderr.readline()
        if not said.startswith("Capturing on"):
            self._process.kill()
            raise RuntimeError(f"dumpcap did not start: {said}{self._process.stderr.read()}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        """dumpcap writes out what it holds when interrupted (SIGINT), as after Ctrl-C."""
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()

    def udp_payloads(self) -> list[tuple[float, bytes]]:
        return timed_udp_payloads(self.path)


def timed_udp_payloads(path: Path) -> list[tuple[float, bytes]]:
    data = path.read_bytes()
    (magic,) = struct.unpack_from("<I", data)
    endian = "<" if magic == 0xA1B2C3D4 else ">"
    link_header = {1: 14, 113: 16}[struct.unpack_from(endian + "I", data, 20)[0]]
    offset, found = 24, []
    while offset + 16 <= len(data):
        seconds, micros, captured = struct.unpack_from(endian + "III", data, offset)
        ip = data[offset + 16 + link_header : offset + 16 + captured]
        offset += 16 + captured
        if len(ip) >= 20 and ip[9] == 17:
            udp = ip[(ip[0] & 0x0F) * 4 :]
            found.append((seconds + micros / 1e6, udp[8 : struct.unpack_from("!H", udp, 4)[0]]))
    return found
