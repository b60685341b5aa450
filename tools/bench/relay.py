"""Relay fast path throughput, next to rtpengine relaying the same load; first, the relay
path's Python cost per packet next to the code before the receive checks and before the calls
reshape (relay_cost.py).

A C load generator (rtp_load.c, compiled here) sends 172-byte RTP packets round-robin over
many streams at a paced rate and counts what comes out of the relay's far side. The rate is
stepped up until loss reaches 0.1 %; the highest rate below that is the figure. The relay
under test is one separate process: our media engine on uvloop (streams connected pairwise,
PCMU both sides, so the engine picks the relay fast path), then rtpengine in userspace
(--table=-1, one worker thread) set up with ng-protocol offer/answer for the same streams.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools.bench.relay_cost import compare

STREAMS = 400
STEP_SECONDS = 2.0
RATES_PPS = list(range(50_000, 400_001, 12_500))
MAX_LOSS = 0.001
FLOOR_PPS = 100_000
RTPENGINE_NG_PORT = 22223
RTPENGINE_PORTS = (30000, 31999)
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def run() -> None:
    compare()
    if shutil.which("gcc") is None:
        print("relay: gcc is needed to build the load generator; skipped")
        return
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as scratch:
        load = Load(_build_generator(Path(scratch)), Path(scratch), _free_port(), _free_port())
        print(f"streams: {STREAMS}, 172-byte RTP, {STEP_SECONDS:.0f} s per rate step, "
              f"max loss {MAX_LOSS:.1%}")  # fmt: skip
        with _our_relay(load.receiver_port, load.sender_port) as ports:
            ours = load.find_max_rate("mediaserver relay (uvloop)", ports)
        theirs = 0
        if shutil.which("rtpengine") is None:
            print("rtpengine not installed: no reference run")
        else:
            with _rtpengine_relay(Path(scratch), load.receiver_port) as ports:
                theirs = load.find_max_rate("rtpengine --table=-1", ports)
    print(f"RESULT relay fast path: {ours:,} packets/s (floor {FLOOR_PPS:,}; "
          f"goal >= 0.5 x rtpengine)")  # fmt: skip
    if theirs:
        print(f"RESULT rtpengine userspace: {theirs:,} packets/s; ratio ours/rtpengine = "
              f"{ours / theirs:.2f}")  # fmt: skip


def serve(stream_count: int, receiver_port: int, sender_port: int) -> None:
    """The relay under test, run as `python -c` in its own process; stops when stdin closes."""
    import asyncio

    import uvloop

    uvloop.run(_serve(stream_count, receiver_port, sender_port, asyncio.Event()))


async def _serve(stream_count: int, receiver_port: int, sender_port: int, stop: Any) -> None:
    import asyncio

    from mediaserver.clock import SystemClock
    from mediaserver.config import RtpConfig
    from mediaserver.media.engine import MediaEngine

    engine = MediaEngine(RtpConfig("127.0.0.1", 20000, 29999), SystemClock())
    ports = []
    for _ in range(stream_count):
        caller = await engine.open_stream("PCMU", rtcp_mux=True)
        callee = await engine.open_stream("PCMU", rtcp_mux=True)
        engine.set_remote(callee, "127.0.0.1", receiver_port)
        # The generator sends every stream from one port, the callers' SDP address as a
        # phone's would be: taken at once, where a learnt address costs a packet of probation.
        engine.set_remote(caller, "127.0.0.1", sender_port)
        engine.connect(caller, callee)
        ports.append(caller.local_address[1])
    print(json.dumps({"ports": ports, "relay_streams": engine.statistics().relay_streams}),
          flush=True)  # fmt: skip
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), stop.set)
    await stop.wait()
    engine.close()


def _build_generator(scratch: Path) -> Path:
    binary = scratch / "rtp_load"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(HERE / "rtp_load.c")], check=True)
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _our_relay(receiver_port: int, sender_port: int) -> Iterator[list[int]]:
    code = f"from tools.bench.relay import serve; serve({STREAMS}, {receiver_port}, {sender_port})"
    server = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        print(f"mediaserver: {ready['relay_streams']} streams on the relay fast path")
        yield ready["ports"]
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


@contextmanager
def _rtpengine_relay(scratch: Path, receiver_port: int) -> Iterator[list[int]]:
    command = [
        "rtpengine", "--config-file=none", "--table=-1", "--interface=127.0.0.1",
        f"--listen-ng=127.0.0.1:{RTPENGINE_NG_PORT}", f"--port-min={RTPENGINE_PORTS[0]}",
        f"--port-max={RTPENGINE_PORTS[1]}", "--foreground", "--log-stderr", "--num-threads=1",
        "--log-level=3", f"--pidfile={scratch / 'rtpengine.pid'}",
    ]  # fmt: skip
    daemon = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = NgClient(RTPENGINE_NG_PORT)
        client.wait_ready()
        ports = [client.bridge(f"bench-{index}", receiver_port) for index in range(STREAMS)]
        yield ports
        for index in range(STREAMS):
            client.command({"command": "delete", "call-id": f"bench-{index}", "from-tag": "a"})
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


class Load:
    """Runs the generator at stepped rates against one relay's ports."""

    def __init__(
        self, generator: Path, scratch: Path, receiver_port: int, sender_port: int
    ) -> None:
        self.generator = generator
        self.ports_file = scratch / "ports.txt"
        self.receiver_port = receiver_port
        self.sender_port = sender_port

    def find_max_rate(self, label: str, ports: list[int]) -> int:
        self.ports_file.write_text("\n".join(map(str, ports)) + "\n")
        best = 0
        for rate in RATES_PPS:
            sent, received = self._load(rate)
            loss = 1 - received / sent if sent else 1.0
            print(f"  {label}: offered {rate:>7,} pps, sent {sent:>8,}, "
                  f"through {received:>8,}, loss {loss:6.3%}", flush=True)  # fmt: skip
            if loss >= MAX_LOSS:
                break
            best = rate
        return best

    def _load(self, rate: int) -> tuple[int, int]:
        command = [str(self.generator), str(self.ports_file), str(rate), str(STEP_SECONDS),
                   str(self.receiver_port), str(self.sender_port)]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=True,
                                timeout=STEP_SECONDS + 30)  # fmt: skip
        words = result.stdout.split()
        return int(words[1]), int(words[3])


class NgClient:
    """rtpengine's ng control protocol: UDP datagrams of `cookie bencode(dict)`."""

    def __init__(self, port: int) -> None:
        self._address = ("127.0.0.1", port)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.settimeout(1.0)
        self._cookie = 0

    def command(self, message: dict[str, Any]) -> dict[str, Any]:
        self._cookie += 1
        cookie = f"{os.getpid()}_{self._cookie}".encode()
        self._socket.sendto(cookie + b" " + bencode(message), self._address)
        data, _ = self._socket.recvfrom(65536)
        reply, _ = bdecode(data.partition(b" ")[2], 0)
        assert isinstance(reply, dict)
        return reply

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.command({"command": "ping"})
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise

    def bridge(self, call_id: str, callee_port: int) -> int:
        """Offer/answer one call; returns the port rtpengine gave the caller to send to."""
        offer = {"command": "offer", "call-id": call_id, "from-tag": "a",
                 "sdp": _sdp(29998), "flags": ["trust-address"]}  # fmt: skip
        self.command(offer)
        answer = {"command": "answer", "call-id": call_id, "from-tag": "a", "to-tag": "b",
                  "sdp": _sdp(callee_port), "flags": ["trust-address"]}  # fmt: skip
        sdp = self.command(answer)["sdp"].decode()
        media = next(line for line in sdp.splitlines() if line.startswith("m=audio"))
        return int(media.split()[1])


def _sdp(port: int) -> str:
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")  # fmt: skip


def bencode(value: Any) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(map(bencode, value)) + b"e"
    items = sorted(value.items())
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"


def bdecode(data: bytes, index: int) -> tuple[Any, int]:
    kind = data[index : index + 1]
    if kind == b"i":
        end = data.index(b"e", index)
        return int(data[index + 1 : end]), end + 1
    if kind in (b"l", b"d"):
        items: list[Any] = []
        index += 1
        while data[index : index + 1] != b"e":
            item, index = bdecode(data, index)
            items.append(item)
        if kind == b"l":
            return items, index + 1
        pairs = zip(items[::2], items[1::2], strict=True)
        return {key.decode(): value for key, value in pairs}, index + 1
    colon = data.index(b":", index)
    length = int(data[index:colon])
    return data[colon + 1 : colon + 1 + length], colon + 1 + length
