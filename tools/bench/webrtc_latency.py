"""One-way audio latency a WebRTC leg adds through the server (a part of webrtc.py's run()).

A browser (browser_peer.py: aiortc, registered over WebSocket as the endpoint CALLER) calls a
number; the server dials it through the outgoing carrier to a SIPp UAS (uas_media.xml, PCMU)
whose SDP names the port of a plain-RTP peer (rtp_peer.py). Both ends send a chirp train
(chirps.py) at once, so one call measures both directions: browser -> SIP (Opus over SRTP in,
PCMU out) and SIP -> browser. The reference, in the same run: the same call with the browser
replaced by a SIPp UAC offering Opus over plain RTP (uac_media.xml) whose port is another
plain-RTP peer, so the same transcoding is on the path and the difference is WebRTC's own.
The browser runs in a process of its own; the plain-RTP peers in this one.

Latency is counted from the moment a chirp's frame leaves its sender (the peer's send log)
to the moment the packet carrying it reaches the other peer's socket (for the browser: when
aiortc hands the decrypted packet to its receiver, before its jitter buffer). All peers
stamp on one clock (time.monotonic, the machine's); the server is a child process. The
figures include the Opus encoder's and decoder's look-ahead and the server's jitter buffer;
each call's line says how far its senders fell behind their schedule (a peer starved of CPU
sends in bursts, and the server's jitter buffer grows to absorb them).
"""

import asyncio
import multiprocessing
import subprocess
import tempfile
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path

import numpy as np

from audiocodecs import Decoder, new_decoder, new_encoder
from mediaserver.rtp.payload_types import OPUS, PCMU
from tools.bench.browser_peer import BrowserPeer, browser_call
from tools.bench.chirps import ANALYSIS_RATE, ChirpTrain, SendLog, latencies
from tools.bench.received_stream import ReceivedStream
from tools.bench.registration import DOMAIN, free_port, free_tcp_port
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
CALL_TIMEOUT = 30.0  # for the browser's call to come up, or its results


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
    context = multiprocessing.get_context("spawn")
    results: Queue[tuple[SendLog, ReceivedStream] | None] = context.Queue()
    browser = context.Process(
        target=browser_side, args=(f"ws://127.0.0.1:{ws_port}/", results), daemon=True
    )
    try:
        with server.running:
            browser.start()
            await asyncio.to_thread(results.get, True, CALL_TIMEOUT)  # the call is up
            _, b_ports = await asyncio.to_thread(stream_ports, server)
            trunk.peer.start(("127.0.0.1", b_ports[0]))
            outcome = await asyncio.to_thread(results.get, True, TRAIN_SECONDS + CALL_TIMEOUT)
    finally:
        trunk.peer.close()
        uas.stop()
        browser.join(timeout=10)
        if browser.is_alive():
            browser.terminate()
            browser.join()
    assert outcome is not None
    sent, received = outcome
    _pacing("WebRTC call", "browser", sent, trunk.peer.log)
    return Directions(
        latencies(train, sent.time_of, trunk.peer.received.timeline(_pcmu())),
        latencies(train, trunk.peer.log.time_of, received.timeline(_opus())),
    )


def browser_side(url: str, results: "Queue[tuple[SendLog, ReceivedStream] | None]") -> None:
    """The browser's process (aiortc's encoder and decoder threads would otherwise share the
    interpreter with the SIP side's peer and delay it): calls, says so (None), sends the
    chirp train for as long as it lasts, and hands back its send log and what it received.
    Its time.monotonic() is the parent's: one clock for the whole machine."""
    asyncio.run(_browser_side(url, results))


async def _browser_side(url: str, results: "Queue[tuple[SendLog, ReceivedStream] | None]") -> None:
    browser = BrowserPeer(ChirpTrain.random(TRAIN_SECONDS).signal(48000), keep_payloads=True)
    async with browser_call(url, CALLER, DOMAIN, CALLED, browser):
        results.put(None)
        await asyncio.sleep(TRAIN_SECONDS + SETTLE_SECONDS)
    results.put((browser.track.log, browser.received))


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
