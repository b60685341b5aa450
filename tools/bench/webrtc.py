"""What a WebRTC leg costs: on the event loop, its DTLS handshake (the longest the loop is held
at once, against the media clock's 20 ms tick) and SRTP per packet beside plain RTP's path;
through the whole server, the one-way audio latency it adds (webrtc_latency.py) and how many
WebRTC legs one process carries before audio breaks (webrtc_capacity.py), each beside the same
run's plain-RTP figure."""

import asyncio
import statistics
import struct
import time
from collections.abc import Callable
from typing import Any

from mediaserver.clock import SystemClock
from mediaserver.config import RtpConfig
from mediaserver.media.dtls_srtp import DtlsCertificate, DtlsRole, DtlsSrtpSession
from mediaserver.media.engine import MediaEngine
from mediaserver.media.rtp_socket import RtpSocket
from mediaserver.media.webrtc_transport import WebRtcTransport
from mediaserver.rtp.ice_lite import IceCredentials
from mediaserver.rtp.stun import (
    BINDING_REQUEST,
    ICE_CONTROLLING,
    USE_CANDIDATE,
    USERNAME,
    serialize,
)
from tools.bench.webrtc_capacity import measure_capacity
from tools.bench.webrtc_latency import measure_latency

HANDSHAKES = 30
TICKING_STREAMS = 200
HANDSHAKES_PER_SECOND = 20
WINDOW_SECONDS = 5.0
PACKETS = 20000
TICK_MS = 20.0
BROWSER = ("192.0.2.7", 50000)
ICE = IceCredentials("srvU", "server-password-0123456789")


class _Socket(asyncio.DatagramTransport):
    """Swallows what the transport sends, keeping the last datagram."""

    def __init__(self) -> None:
        super().__init__(extra={"sockname": ("192.0.2.99", 30000)})
        self.sent: list[bytes] = []

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.sent.append(bytes(data))

    def close(self) -> None:
        self.sent.clear()


def _check() -> bytes:
    body = b""
    for kind, value in ((USERNAME, b"srvU:brwS"), (ICE_CONTROLLING, b"\x01" * 8)):
        body += struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)
    body += struct.pack("!HH", USE_CANDIDATE, 0)
    return serialize(BINDING_REQUEST, b"c" * 12, body, ICE.password.encode())


def _connected_transport(
    loop: asyncio.AbstractEventLoop, certificate: DtlsCertificate, browser: DtlsCertificate
) -> tuple[WebRtcTransport, DtlsSrtpSession, _Socket, list[float]]:
    """A server-side transport after ICE and DTLS, and the time each handshake step held it."""
    rtp = RtpSocket(lambda data, addr: None, lambda data, addr: None, True, time.monotonic, 8000)
    rtp.accept_payload_types(0)
    transport = WebRtcTransport(rtp, ICE, certificate, SystemClock(), loop)
    socket = _Socket()
    transport.connection_made(socket)
    transport.datagram_received(_check(), BROWSER)
    transport.start_dtls(DtlsRole.SERVER, ("sha-256", browser.fingerprint()))
    client = DtlsSrtpSession(browser, DtlsRole.CLIENT, ("sha-256", certificate.fingerprint()))
    held: list[float] = []
    outgoing = client.start()
    while outgoing:
        socket.sent.clear()
        for datagram in outgoing:
            start = time.perf_counter()
            transport.datagram_received(datagram, BROWSER)
            held.append(time.perf_counter() - start)
        outgoing = [reply for datagram in socket.sent for reply in client.receive(datagram)]
    return transport, client, socket, held


def _handshakes(loop: asyncio.AbstractEventLoop) -> tuple[WebRtcTransport, DtlsSrtpSession]:
    start = time.perf_counter()
    certificate = DtlsCertificate()
    print(
        f"certificate (ECDSA P-256, once per process): {1e3 * (time.perf_counter() - start):.1f} ms"
    )
    browser = DtlsCertificate()
    totals, longest = [], []
    for _ in range(HANDSHAKES):
        transport, _, _, held = _connected_transport(loop, certificate, browser)
        totals.append(sum(held))
        longest.append(max(held))
        transport.close()
    total_ms = 1e3 * statistics.median(totals)
    longest_ms, typical_ms = 1e3 * max(longest), 1e3 * statistics.median(longest)
    print(f"DTLS handshake, server side, {HANDSHAKES} runs: median {total_ms:.2f} ms of loop "
          f"time in all; the longest single callback {longest_ms:.2f} ms (median "
          f"{typical_ms:.2f}) against a {TICK_MS:.0f} ms tick")  # fmt: skip
    return _connected_transport(loop, certificate, browser)[:2]


def _packets(transport: WebRtcTransport, client: DtlsSrtpSession) -> None:
    plain = [
        struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, n * 160, 0x0B0B0B0B) + b"\x55" * 160
        for n in range(1, PACKETS + 1)
    ]
    protected = [client.protect(packet) for packet in plain]
    transport.rtp.set_remote(BROWSER)
    start = time.perf_counter()
    for packet in protected:
        transport.datagram_received(packet, BROWSER)
    srtp_in = (time.perf_counter() - start) / PACKETS
    reference = RtpSocket(
        lambda data, addr: None, lambda data, addr: None, True, time.monotonic, 8000
    )
    reference.accept_payload_types(0)
    reference.set_remote(BROWSER)
    start = time.perf_counter()
    for packet in plain:
        reference.datagram_received(packet, BROWSER)
    rtp_in = (time.perf_counter() - start) / PACKETS
    start = time.perf_counter()
    for packet in plain:
        transport.send_rtp(packet)
    srtp_out = (time.perf_counter() - start) / PACKETS
    print(f"per 20 ms packet received: SRTP {srtp_in * 1e6:.1f} µs (demultiplex, libsrtp, then the "
          f"RtpSocket checks), plain RTP {rtp_in * 1e6:.1f} µs")  # fmt: skip
    print(f"per packet sent: SRTP protect and send {srtp_out * 1e6:.1f} µs")
    per_leg = 50 * (srtp_in + srtp_out)
    print(f"  a WebRTC leg's SRTP, both ways at 50 packets/s: {per_leg * 1e3:.2f} ms of CPU per "
          f"second ({per_leg * 100:.3f} % of a core)")  # fmt: skip


async def _ticks_while_browsers_connect() -> None:
    """The media clock with TICKING_STREAMS on the batch path, first alone, then while
    browsers connect at HANDSHAKES_PER_SECOND (both ends of each handshake run on this loop,
    so the load is twice what the server alone bears)."""
    loop = asyncio.get_running_loop()
    engine = MediaEngine(RtpConfig("127.0.0.1", 40000, 44999), SystemClock(), loop)
    streams = [await engine.open_stream("PCMU") for _ in range(TICKING_STREAMS)]
    for stream in streams:
        engine.detect_dtmf(stream, lambda digit: None)  # Goertzel on every tick: batch path
    certificate, browser = DtlsCertificate(), DtlsCertificate()
    idle = await _late_ticks(engine, lambda: None)
    connecting = await _late_ticks(
        engine, lambda: _connected_transport(loop, certificate, browser)[0].close()
    )
    engine.close()
    print(f"media clock, {TICKING_STREAMS} streams on the batch path, {WINDOW_SECONDS:.0f} s each: "
          f"late/skipped ticks {idle[0]}/{idle[1]} alone, {connecting[0]}/{connecting[1]} while "
          f"{HANDSHAKES_PER_SECOND} browsers a second shake hands")  # fmt: skip


async def _late_ticks(engine: MediaEngine, connect: Callable[[], None]) -> tuple[int, int]:
    before = engine.statistics()
    for _ in range(int(WINDOW_SECONDS * HANDSHAKES_PER_SECOND)):
        connect()
        await asyncio.sleep(1 / HANDSHAKES_PER_SECOND)
    after = engine.statistics()
    return after.late_ticks - before.late_ticks, after.skipped_ticks - before.skipped_ticks


def run() -> None:
    loop = asyncio.new_event_loop()
    try:
        transport, client = _handshakes(loop)
        _packets(transport, client)
        transport.close()
        loop.run_until_complete(_ticks_while_browsers_connect())
    finally:
        loop.close()
    print("aiortc's own tasks: none run; ICE-lite, DTLS and SRTP live in the stream's "
          "datagram callback, and a timer while a handshake flight awaits its resend")  # fmt: skip
    measure_latency()
    measure_capacity()
