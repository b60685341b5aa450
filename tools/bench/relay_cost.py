"""The relay fast path's Python cost per packet, next to the code before the receive checks
and the code before the calls reshape.

What one datagram costs from datagram_received to the far socket's sendto: the RTP checks
(RFC 3550 §A.1), the source latch, the receive statistics (§A.3 loss, §A.8 jitter) and the
header rewrite. The socket's transport is replaced by one that drops what it is given, so the
kernel's UDP work (the same for any code) is left out and the figure is the Python we own.

Two references, each extracted with `git archive` and run with this venv: the tree before the
receive checks existed (no statistics on the relay path at all), and the tree with them but
before the calls layer was reshaped around CallControl. Each side is a worker process; they are
driven in turns, one chunk of packets each per round, so that a busy machine (other processes
on the same cores) slows all alike; the figures are each side's minimum and median per packet
and the median of the per-round ratios. Where valgrind is installed, each side's instructions
per packet are counted too (cachegrind, two runs of different lengths, the difference divided
by the extra packets): a figure no other process on the machine can move. Each worker feeds
one caller stream of a bridged PCMU call: 172-byte packets in sequence from the caller's SDP
address, one SSRC.
"""

import asyncio
import os
import re
import shutil
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

# (commit, what it is): the code this tree's relay path is measured against.
REFERENCES = (
    ("a4e996b", "before the receive checks"),
    ("76c4611", "checks, before the reshape"),
)
ROUNDS = 150
CHUNK_PACKETS = 2048
INSTRUCTION_CHUNKS = 5
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def compare() -> None:
    """Print every side's figures (tools/bench/relay.py runs this before its throughput)."""
    with tempfile.TemporaryDirectory(prefix="bench-relay-cost-") as scratch:
        trees = [("this tree", REPO)]
        for commit, label in REFERENCES:
            _extract(commit, Path(scratch) / commit)
            trees.append((f"{commit} ({label})", Path(scratch) / commit))
        workers = [_Worker(tree) for _, tree in trees]
        try:
            rounds = [[worker.chunk() for worker in workers] for _ in range(ROUNDS)]
        finally:
            for worker in workers:
                worker.close()
        instructions = [_instructions_per_packet(tree) for _, tree in trees]
    load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"{ROUNDS} rounds of {CHUNK_PACKETS} packets per side; load average {load}")
    for index, (label, _) in enumerate(trees):
        figures = [each[index] for each in rounds]
        counted = instructions[index]
        per_packet = "" if counted is None else f", {counted:,.0f} instructions/packet"
        print(f"  {label:>40}: min {min(figures):5.0f} ns/packet, "
              f"median {statistics.median(figures):5.0f}{per_packet}")  # fmt: skip
    for index, (label, _) in enumerate(trees[1:], start=1):
        ratio = statistics.median(each[0] / each[index] for each in rounds)
        ours, theirs = instructions[0], instructions[index]
        by_count = "" if ours is None or theirs is None else f", instructions {ours / theirs:.2f}"
        print(f"RESULT relay path per packet against {label}: median time ratio {ratio:.2f}"
              f"{by_count}")  # fmt: skip
    print("  (goal: no more than the tree before the reshape, i.e. ratios <= 1.00 against it)")


def _instructions_per_packet(tree: Path) -> float | None:
    """Instructions per packet of `tree`'s worker under cachegrind, or None without valgrind:
    a run of INSTRUCTION_CHUNKS chunks less a run of one, over the packets between them."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    for chunks in (1, INSTRUCTION_CHUNKS):
        result = subprocess.run(
            ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
             sys.executable, __file__, str(CHUNK_PACKETS)],
            input="\n" * chunks, capture_output=True, text=True, env=_environment(tree),
            cwd=tree, check=True,
        )  # fmt: skip
        found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
        if found is None:
            return None
        counts.append(int(found.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / ((INSTRUCTION_CHUNKS - 1) * CHUNK_PACKETS)


def _environment(tree: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{tree / 'codecs'}")


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
        self._process = subprocess.Popen(
            [sys.executable, __file__, str(CHUNK_PACKETS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_environment(tree),
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
