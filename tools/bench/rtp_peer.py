"""A plain-RTP peer for the benchmarks (a part: no run()): sends a signal, encoded, one packet
each 20 ms paced on the event loop (logging each packet's send time), and records what comes
back with its arrival time. SIPp holds the call's SIP; this holds the port its SDP named.
"""

import asyncio
import struct
import time
from typing import Any, cast

from audiocodecs import Encoder
from audiocodecs.pcm import Pcm16
from tools.bench.chirps import SendLog
from tools.bench.received_stream import ReceivedStream

RTP_HEADER = struct.Struct("!BBHII")
FRAME_SECONDS = 0.020
RTCP_PAYLOAD_TYPES = range(72, 77)  # RFC 5761 §4: RTCP on a muxed port
SSRC = 0x5EED0001


class RtpPeer(asyncio.DatagramProtocol):
    def __init__(self, encoder: Encoder, payload_type: int, clock_rate: int, signal: Pcm16) -> None:
        self._encoder, self._payload_type = encoder, payload_type
        self._step = clock_rate * 20 // 1000
        self._signal = signal
        self.received = ReceivedStream(clock_rate, keep_payloads=True)
        self.log = SendLog()
        self._socket: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._socket = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        arrival = time.monotonic()
        if len(data) < RTP_HEADER.size or data[0] >> 6 != 2:
            return
        first, marker_type, sequence_number, timestamp, _ = RTP_HEADER.unpack_from(data)
        if marker_type & 0x7F in RTCP_PAYLOAD_TYPES:
            return
        payload = data[RTP_HEADER.size + 4 * (first & 0x0F) :]
        self.received.add(arrival, sequence_number, timestamp, payload)

    def start(self, remote: tuple[str, int]) -> None:
        """Send the signal, once, to `remote` from now on."""
        loop = asyncio.get_running_loop()
        self._send(loop, remote, loop.time(), 0)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._socket is not None:
            self._socket.close()

    def _send(
        self, loop: asyncio.AbstractEventLoop, remote: tuple[str, int], started: float, frame: int
    ) -> None:
        samples = self._encoder.frame_samples
        pcm = self._signal[frame * samples : (frame + 1) * samples]
        if len(pcm) < samples or self._socket is None:
            self._timer = None
            return
        header = RTP_HEADER.pack(0x80, self._payload_type, frame & 0xFFFF,
                                 (frame * self._step) & 0xFFFFFFFF, SSRC)  # fmt: skip
        self._socket.sendto(header + self._encoder.encode(pcm), remote)
        self.log.sent_at.append(time.monotonic())
        due = started + (frame + 1) * FRAME_SECONDS
        self._timer = loop.call_at(due, self._send, loop, remote, started, frame + 1)


async def open_rtp_peer(port: int, peer: RtpPeer) -> RtpPeer:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: peer, local_addr=("127.0.0.1", port))
    return peer
