"""A far end for engine tests: sends RTP to an engine stream and keeps what comes back."""

import asyncio
from typing import cast

import numpy as np

from audiocodecs.g711 import ulaw_decode
from mediaserver.media.stream import MediaStream

Address = tuple[str, int]


class RtpPeer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[tuple[bytes, Address]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.received.append((data, addr))

    @property
    def packets(self) -> list[bytes]:
        return [data for data, _ in self.received]

    @property
    def port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def send_to(self, stream: MediaStream, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", stream.local_address[1]))

    def payloads(self) -> list[bytes]:
        return [data[12:] for data in self.packets]

    def audio(self, payload_type: int = 0) -> np.ndarray:
        """The µ-law audio received with `payload_type`, decoded."""
        payloads = b"".join(p[12:] for p in self.packets if p[1] & 0x7F == payload_type)
        return ulaw_decode(np.frombuffer(payloads, np.uint8))


async def open_rtp_peer() -> RtpPeer:
    loop = asyncio.get_running_loop()
    _, peer = await loop.create_datagram_endpoint(RtpPeer, local_addr=("127.0.0.1", 0))
    return peer


def peak_frequency(pcm: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * rate / len(pcm))
