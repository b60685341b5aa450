"""A far end that speaks RTP itself, for what a softphone cannot be told to do: change the
port it sends from in the middle of a call (a NAT that gave it a new binding), or send a
stranger's stream next to it.

`RebindingFarEnd` sends a PCMU tone every 20 ms from its first socket until `rebind()`, then
from its second, with the same SSRC and the sequence going on, the first falling silent; it
notes when each packet of ours comes back on either. `StrangerStream` sends valid-looking
PCMU with a foreign SSRC at the same pace. Both run on a thread of their own until stopped.
"""

import random
import select
import socket
import struct
import threading
import time
from abc import ABC, abstractmethod

import numpy as np

from audiocodecs.g711 import ulaw_encode

PACKET_SECONDS = 0.02
SAMPLES = 160
_HEADER = struct.Struct("!BBHII")


def ulaw_tone(tone_hz: float, packet_index: int) -> bytes:
    t = (np.arange(SAMPLES) + SAMPLES * packet_index) / 8000
    return bytes(ulaw_encode((8000 * np.sin(2 * np.pi * tone_hz * t)).astype(np.int16)))


class _Sender(threading.Thread, ABC):
    """Sends one packet every 20 ms, on a steady clock, until stopped."""

    def __init__(self, destination: tuple[str, int]) -> None:
        super().__init__(daemon=True)
        self.destination = destination
        self.ssrc = random.getrandbits(32)
        self.sequence_number = random.getrandbits(16)
        self._stopping = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic()
        index = 0
        while not self._stopping.is_set():
            self.send_one(index)
            index += 1
            deadline += PACKET_SECONDS
            self.wait(deadline)

    @abstractmethod
    def send_one(self, index: int) -> None: ...

    def wait(self, deadline: float) -> None:
        time.sleep(max(0.0, deadline - time.monotonic()))

    def packet(self, index: int, payload: bytes) -> bytes:
        sequence_number = (self.sequence_number + index) & 0xFFFF
        timestamp = SAMPLES * index & 0xFFFFFFFF
        return _HEADER.pack(0x80, 0, sequence_number, timestamp, self.ssrc) + payload

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)


class RebindingFarEnd(_Sender):
    def __init__(self, tone_hz: float) -> None:
        super().__init__(("127.0.0.1", 0))
        self.tone_hz = tone_hz
        self.sockets = [_bound_socket(), _bound_socket()]
        self.sending_from = 0
        self.rebound_at = 0.0
        self.arrivals: list[tuple[float, int]] = []  # (time, which socket) of our packets

    @property
    def ports(self) -> list[int]:
        return [int(sock.getsockname()[1]) for sock in self.sockets]

    def rebind(self) -> None:
        self.rebound_at = time.monotonic()
        self.sending_from = 1

    def send_one(self, index: int) -> None:
        self.sockets[self.sending_from].sendto(
            self.packet(index, ulaw_tone(self.tone_hz, index)), self.destination
        )

    def wait(self, deadline: float) -> None:
        """Collect what comes back until the next packet is due."""
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select(self.sockets, [], [], remaining)
            for sock in readable:
                sock.recv(2048)
                self.arrivals.append((time.monotonic(), self.sockets.index(sock)))

    def close(self) -> None:
        self.stop()
        for sock in self.sockets:
            sock.close()


class StrangerStream(_Sender):
    def __init__(self, destination: tuple[str, int]) -> None:
        super().__init__(destination)
        self._socket = _bound_socket()

    def send_one(self, index: int) -> None:
        self._socket.sendto(self.packet(index, random.randbytes(SAMPLES)), self.destination)

    def close(self) -> None:
        self.stop()
        self._socket.close()


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock
