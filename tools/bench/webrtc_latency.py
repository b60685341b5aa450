"""One-way audio latency a WebRTC leg adds through the server (a part of webrtc.py's run()).

A browser (browser_peer.py: aiortc, registered over WebSocket as the endpoint CALLER) calls a
number; the server dials it through the outgoing carrier to a SIPp UAS (uas_media.xml, PCMU)
whose SDP names the port of a plain-RTP peer (rtp_peer.py). Both ends send a chirp train
(chirps.py) at once, so one call measures both directions: browser -> SIP (Opus over SRTP in,
PCMU out) and SIP -> browser. The reference, in the same run: the same call with the browser
replaced by a SIPp UAC offering Opus over plain RTP (uac_media.xml) whose port is another
plain-RTP peer, so the same transcoding is on the path and the difference is WebRTC's own.

Latency is counted from the moment a chirp's frame leaves its sender (the peer's send log)
to the moment the packet carrying it reaches the other peer's socket (for the browser: when
aiortc hands the decrypted packet to its receiver, before its jitter buffer). Both peers run
in this process on one clock; the server is a child process. The figures include the Opus
encoder's and decoder's look-ahead and the server's jitter buffer.
"""

import asyncio
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiocodecs import Decoder, new_decoder, new_encoder
from mediaserver.rtp.payload_types import OPUS, PCMU
from tools.bench.browser_peer import BrowserPeer, browser_call
from tools.bench.chirps import ANALYSIS_RATE, ChirpTrain, SendLog, latencies
from tools.bench.registration import DOMAIN, free_port
from tools.bench.rtp_peer import RtpPeer, open_rtp_peer
from tools.load.call_servers import (
    CALLED,
    CALLER,
    missing_programs,
    start_ours,
)
from tools.load.concurrent_calls import (
    endpoint_calls,
    stream_ports,
    trunk_uas,
    wait_for_calls,
)

TRAIN_SECONDS = 20.0
GOAL_MS = 100.0
OPUS_PAYLOAD_TYPE = 111
SETTLE_SECONDS = 1.0  # the last chirps' way through the server


@dataclass(frozen=True, slots=True)
class Directions:
    to_sip: list[float]
    from_sip: list[float]


def measure_latency() -> None:
    missing = missing_programs("sipp")
    if missing:
        print("sipp not installed (make system-packages); skipping the latency measurement")
        return
    train = ChirpTrain.random(TRAIN_SECONDS)
    print(f"one-way audio latency, a chirp train of {len(train.onsets)} chirps each way in one "
          f"{TRAIN_SECONDS:.0f} s call (Opus leg <-> PCMU leg through the server)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-webrtc-latency-") as directory:
        webrtc_dir, plain_dir = Path(directory) / "webrtc", Path(directory) / "plain"
        webrtc_dir.mkdir()
        plain_dir.mkdir()
        webrtc = asyncio.run(browser_calls_trunk(webrtc_dir, train))
        plain = asyncio.run(sip_calls_trunk(plain_dir, train))
    _report("browser -> SIP", webrtc.to_sip, plain.to_sip)
    _report("SIP -> browser", webrtc.from_sip, plain.from_sip)


async def browser_calls_trunk(workdir: Path, train: ChirpTrain) -> Directions:
    trunk = await _trunk_peer(train)
    uas = _trunk_uas(workdir, trunk.port)
    ws_port = free_tcp_port()
    server = start_ours(workdir / "server", f"127.0.0.1:{uas.port}",
                        listen=(f"ws:127.0.0.1:{ws_port}",))  # fmt: skip
    browser = BrowserPeer(train.signal(48000), keep_payloads=True)
    try:
        with server.running:
            async with browser_call(f"ws://127.0.0.1:{ws_port}/", CALLER, DOMAIN, CALLED, browser):
                _, b_ports = await asyncio.to_thread(stream_ports, server)
                trunk.peer.start(("127.0.0.1", b_ports[0]))
                await asyncio.sleep(TRAIN_SECONDS + SETTLE_SECONDS)
    finally:
        trunk.peer.close()
        uas.stop()
    _pacing("WebRTC call", "browser", browser.track.log, trunk.peer.log)
    return Directions(
        latencies(train, browser.track.log.time_of, trunk.peer.received.timeline(_pcmu())),
        latencies(train, trunk.peer.log.time_of, browser.received.timeline(_opus())),
    )


async def sip_calls_trunk(workdir: Path, train: ChirpTrain) -> Directions:
    trunk = await _trunk_peer(train)
    caller_port = free_port()
    caller = await open_rtp_peer(caller_port, RtpPeer(
        new_encoder("opus"), OPUS_PAYLOAD_TYPE, 48000, train.signal(48000)))  # fmt: skip
    uas = _trunk_uas(workdir, trunk.port)
    server = start_ours(workdir / "server", f"127.0.0.1:{uas.port}")
    hold_ms = int(1000 * (TRAIN_SECONDS + 30))
    uac = None
    try:
        with server.running:
            uac = endpoint_calls(workdir, server, caller_port, OPUS_PAYLOAD_TYPE, OPUS.rtpmap, 1,
                                 hold_ms)  # fmt: skip
            await asyncio.to_thread(wait_for_calls, server, 1, 15)
            a_ports, b_ports = await asyncio.to_thread(stream_ports, server)
            caller.start(("127.0.0.1", a_ports[0]))
            trunk.peer.start(("127.0.0.1", b_ports[0]))
            await asyncio.sleep(TRAIN_SECONDS + SETTLE_SECONDS)
    finally:
        caller.close()
        trunk.peer.close()
        uas.stop()
        if uac is not None:
            uac.kill()
            uac.wait()
    _pacing("plain-RTP call", "Opus caller", caller.log, trunk.peer.log)
    return Directions(
        latencies(train, caller.log.time_of, trunk.peer.received.timeline(_pcmu())),
        latencies(train, trunk.peer.log.time_of, caller.received.timeline(_opus())),
    )


@dataclass
class _Uas:
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class _Trunk:
    peer: RtpPeer
    port: int


async def _trunk_peer(train: ChirpTrain) -> _Trunk:
    port = free_port()
    peer = RtpPeer(new_encoder("PCMU"), 0, 8000, train.signal(8000))
    return _Trunk(await open_rtp_peer(port, peer), port)


def _trunk_uas(workdir: Path, rtp_port: int) -> _Uas:
    port = free_port()
    return _Uas(trunk_uas(workdir, port, rtp_port, 0, PCMU.rtpmap), port)


def _pcmu() -> Decoder:
    return new_decoder("PCMU")


def _opus() -> Decoder:
    return new_decoder("opus", ANALYSIS_RATE)


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pacing(call: str, caller: str, caller_log: SendLog, trunk_log: SendLog) -> None:
    print(f"  {call}: senders behind schedule, p99: {caller} {caller_log.late_ms_p99():.1f} ms, "
          f"SIP peer {trunk_log.late_ms_p99():.1f} ms")  # fmt: skip


def _report(direction: str, webrtc: list[float], plain: list[float]) -> None:
    if not webrtc or not plain:
        print(f"  {direction}: no chirps found (WebRTC {len(webrtc)}, plain RTP {len(plain)})")
        return
    w_median, w_p99 = 1000 * np.percentile(webrtc, [50, 99])
    p_median, p_p99 = 1000 * np.percentile(plain, [50, 99])
    verdict = "met" if w_p99 < GOAL_MS else "NOT met"
    print(f"  {direction}: WebRTC median {w_median:.1f} ms, p99 {w_p99:.1f} ms "
          f"({len(webrtc)} chirps; goal < {GOAL_MS:.0f} ms: {verdict}); plain RTP reference "
          f"median {p_median:.1f} ms, p99 {p_p99:.1f} ms ({len(plain)} chirps); WebRTC adds "
          f"{w_median - p_median:+.1f} ms at the median "
          f"(x{w_median / p_median:.2f})")  # fmt: skip
