"""The relay fast path's Python cost per packet, next to the code before the receive checks.

What one datagram costs from datagram_received to the far socket's sendto: the RTP checks
(RFC 3550 §A.1), the source latch, the receive statistics (§A.3 loss, §A.8 jitter) and the
header rewrite. The socket's transport is replaced by one that drops what it is given, so the
kernel's UDP work (the same for any code) is left out and the figure is the Python we own.

The reference is REFERENCE_COMMIT, the tree before the checks and statistics existed,
extracted with `git archive` and run with this venv. Both sides are worker processes driven
in turns, one chunk of packets each per round, so that a busy machine (other processes on
the same cores) slows both alike; the figures are each side's minimum and median per packet
and the median of the per-round ratios. Each worker feeds one caller stream of a bridged
PCMU call: 172-byte packets in sequence from the caller's SDP address, one SSRC.
"""

import asyncio
import os
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import cast

# In a worker these come from the tree on PYTHONPATH, this one's or the reference's.
from mediaserver.clock import SystemClock
from mediaserver.config import RtpConfig
from mediaserver.media.engine import MediaEngine

REFERENCE_COMMIT = "a4e996b"
ROUNDS = 150
CHUNK_PACKETS = 2048
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def compare() -> None:
    """Print both sides' figures (tools/bench/relay.py runs this before its throughput)."""
    with tempfile.TemporaryDirectory(prefix="bench-relay-cost-") as scratch:
        reference = Path(scratch) / REFERENCE_COMMIT
        _extract(REFERENCE_COMMIT, reference)
        ours, theirs = _Worker(REPO), _Worker(reference)
        try:
            rounds = [(ours.chunk(), theirs.chunk()) for _ in range(ROUNDS)]
        finally:
            ours.close()
            theirs.close()
    load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"{ROUNDS} rounds of {CHUNK_PACKETS} packets per side; load average {load}")
    ours_figures, theirs_figures = [r[0] for r in rounds], [r[1] for r in rounds]
    _print_side("this tree", ours_figures)
    _print_side(f"{REFERENCE_COMMIT} (before the checks)", theirs_figures)
    ratio = statistics.median(ours / theirs for ours, theirs in rounds)
    print(f"RESULT relay path per packet: {min(ours_figures):.0f} ns, "
          f"{REFERENCE_COMMIT} {min(theirs_figures):.0f} ns; "
          f"median ratio {ratio:.2f} (goal <= 1.00)")  # fmt: skip


def _print_side(label: str, figures: list[float]) -> None:
    print(f"  {label:>32}: min {min(figures):5.0f} ns/packet, "
          f"median {statistics.median(figures):5.0f}")  # fmt: skip


def _extract(commit: str, into: Path) -> None:
    into.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True, check=True)
    tar = into.with_suffix(".tar")
    tar.write_bytes(archive.stdout)
    with tarfile.open(tar) as contents:
        contents.extractall(into, filter="data")


class _Worker:
    """This file run as a script against one tree: `chunk` asks it for one chunk's figure."""

    def __init__(self, tree: Path) -> None:
        environment = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{tree / 'codecs'}")
        self._process = subprocess.Popen(
            [sys.executable, __file__, str(CHUNK_PACKETS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=tree,
        )

    def chunk(self) -> float:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("\n")
        self._process.stdin.flush()
        return float(self._process.stdout.readline())

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)


async def _measure(chunk_packets: int) -> None:
    """The worker: a bridged PCMU call on the engine of whichever tree is on the path."""
    engine = MediaEngine(RtpConfig("127.0.0.1", 40000, 49999), SystemClock())
    caller = await engine.open_stream("PCMU", rtcp_mux=True)
    callee = await engine.open_stream("PCMU", rtcp_mux=True)
    engine.set_remote(caller, "127.0.0.1", 5000)
    engine.set_remote(callee, "127.0.0.1", 5002)
    engine.connect(caller, callee)
    for stream in (caller, callee):
        assert stream.rtp.transport is not None
        stream.rtp.transport.close()
        stream.rtp.transport = cast(asyncio.DatagramTransport, _DroppingTransport())
    header = struct.Struct("!BBHII")
    packets = [header.pack(0x80, 0, n & 0xFFFF, 160 * n, 0x1234) + bytes(160) for n in range(65536)]
    receive, source = caller.rtp.datagram_received, ("127.0.0.1", 5000)
    start = 0
    for _ in sys.stdin:
        chunk = packets[start : start + chunk_packets]
        start = (start + chunk_packets) % len(packets)
        began = time.perf_counter_ns()
        for packet in chunk:
            receive(packet, source)
        print((time.perf_counter_ns() - began) / chunk_packets, flush=True)
    engine.close()


class _DroppingTransport:
    def sendto(self, data: bytes | bytearray, address: object) -> None:
        """The kernel's part is the same for any code: left out."""

    def get_extra_info(self, name: str) -> object:
        return ("127.0.0.1", 0)

    def close(self) -> None:
        """Nothing to release."""


if __name__ == "__main__":
    asyncio.run(_measure(int(sys.argv[1])))
