"""A stranger spraying the RTP port range with junk, as its own process (issue: hostile RTP).

Run as a script: python rtp_spray.py '<options as JSON>' with `port_min`, `port_max`,
`seconds`, `max_datagrams`, `payload_types` (the call's own) and `seed`. It sends to
127.0.0.1 only, from a few sockets of its own, stops after `seconds` or `max_datagrams`,
whichever comes first, and prints one JSON line: datagrams sent, by kind.

Every port gets, from two sockets, valid-looking RTP streams with foreign SSRCs and
consecutive sequence numbers at 50 packets a second, one PCMU, one PCMA (what a stranger
trying to take a stream over would send), and, from the others, a mix of every kind of junk
below (RFC 3550 §5.1 and §A.1 name the checks each malformed kind must fail).
"""

import contextlib
import json
import random
import socket
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable

OPTIONS = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
HOST = "127.0.0.1"
SLOT_SECONDS = 0.01
STREAM_EVERY_SLOTS = 2  # the stranger's stream: one packet per 20 ms, like a phone
JUNK_PER_PORT_PER_SECOND = 100
JUNK_SOCKETS = 4
STRANGER_PAYLOAD_TYPES = (0, 8)  # PCMU, PCMA
_HEADER = struct.Struct("!BBHII")

Kind = Callable[[random.Random, list[int]], bytes]


def _header(rng: random.Random, payload_type: int, first: int = 0x80) -> bytes:
    return _HEADER.pack(
        first, payload_type, rng.getrandbits(16), rng.getrandbits(32), rng.getrandbits(32)
    )


def random_bytes(rng: random.Random, payload_types: list[int]) -> bytes:
    return rng.randbytes(rng.randrange(1, 400))


def empty(rng: random.Random, payload_types: list[int]) -> bytes:
    return b""


def foreign_rtp(rng: random.Random, payload_types: list[int]) -> bytes:
    """Well formed, the call's payload types, a random SSRC and sequence number."""
    return _header(rng, rng.choice(payload_types)) + rng.randbytes(160)


def bad_version(rng: random.Random, payload_types: list[int]) -> bytes:
    first = rng.choice((0, 1, 3)) << 6
    return _header(rng, rng.choice(payload_types), first) + rng.randbytes(160)


def truncated_header(rng: random.Random, payload_types: list[int]) -> bytes:
    return _header(rng, rng.choice(payload_types))[: rng.randrange(1, 12)]


def csrc_overrun(rng: random.Random, payload_types: list[int]) -> bytes:
    """CC says more CSRCs than the datagram holds."""
    count = rng.randrange(1, 16)
    return _header(rng, rng.choice(payload_types), 0x80 | count) + rng.randbytes(4 * count - 1)


def extension_overrun(rng: random.Random, payload_types: list[int]) -> bytes:
    """X set, and the extension header or its words run past the end."""
    header = _header(rng, rng.choice(payload_types), 0x90)
    if rng.random() < 0.3:
        return header + rng.randbytes(rng.randrange(0, 4))
    words = rng.randrange(1, 0x10000)
    return header + struct.pack("!HH", 0xBEDE, words) + rng.randbytes(min(4 * words - 1, 160))


def padding_overrun(rng: random.Random, payload_types: list[int]) -> bytes:
    """P set, and the padding count is zero or longer than what follows the header."""
    payload = rng.randbytes(rng.randrange(0, 40))
    count = 0 if rng.random() < 0.2 else rng.randrange(len(payload) + 2, 256)
    return _header(rng, rng.choice(payload_types), 0xA0) + payload + bytes([count])


def unknown_payload_type(rng: random.Random, payload_types: list[int]) -> bytes:
    others = [pt for pt in (3, 4, 9, 13, 18, 34, *range(96, 128)) if pt not in payload_types]
    return _header(rng, rng.choice(others)) + rng.randbytes(160)


def rtcp(rng: random.Random, payload_types: list[int]) -> bytes:
    """Receiver and sender reports about random SSRCs; some cut short or lying in length."""
    blocks = b"".join(
        struct.pack("!IB3sIIII", rng.getrandbits(32), rng.getrandbits(8), rng.randbytes(3),
                    rng.getrandbits(32), rng.getrandbits(32), 0, 0)
        for _ in range(rng.randrange(0, 3))
    )  # fmt: skip
    if rng.random() < 0.5:
        body = struct.pack("!I", rng.getrandbits(32)) + blocks
        packet_type = 201
    else:
        body = struct.pack("!6I", *(rng.getrandbits(32) for _ in range(6))) + blocks
        packet_type = 200
    words = len(body) // 4 + (rng.randrange(1, 9) if rng.random() < 0.3 else 0)
    packet = struct.pack("!BBH", 0x80 | len(blocks) // 24, packet_type, words) + body
    return packet[: rng.randrange(1, len(packet))] if rng.random() < 0.2 else packet


KINDS: tuple[Kind, ...] = (
    random_bytes, empty, foreign_rtp, bad_version, truncated_header, csrc_overrun,
    extension_overrun, padding_overrun, unknown_payload_type, rtcp,
)  # fmt: skip


class StrangerStream:
    """One foreign SSRC with consecutive sequence numbers and timestamps: valid-looking RTP."""

    def __init__(self, rng: random.Random, payload_type: int) -> None:
        self._rng = rng
        self._payload_type = payload_type
        self._ssrc = rng.getrandbits(32)
        self._sequence_number = rng.getrandbits(16)
        self._timestamp = rng.getrandbits(32)

    def next_packet(self) -> bytes:
        packet = _HEADER.pack(
            0x80, self._payload_type, self._sequence_number, self._timestamp, self._ssrc
        )
        self._sequence_number = (self._sequence_number + 1) & 0xFFFF
        self._timestamp = (self._timestamp + 160) & 0xFFFFFFFF
        return packet + self._rng.randbytes(160)


def spray(options: dict[str, object]) -> Counter[str]:
    rng = random.Random(int(str(options.get("seed", 1))))
    ports = list(range(int(str(options["port_min"])), int(str(options["port_max"])) + 1))
    payload_types = [int(pt) for pt in options["payload_types"]]  # type: ignore[attr-defined]
    deadline = time.monotonic() + float(str(options["seconds"]))
    budget = int(str(options["max_datagrams"]))
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(JUNK_SOCKETS + 2)]
    streams = [
        (sockets[index], {port: StrangerStream(rng, payload_type) for port in ports})
        for index, payload_type in enumerate(STRANGER_PAYLOAD_TYPES)
    ]
    junk_per_slot = JUNK_PER_PORT_PER_SECOND * SLOT_SECONDS
    sent: Counter[str] = Counter()
    slot = 0
    while time.monotonic() < deadline and sum(sent.values()) < budget:
        for port in ports:
            for sock, by_port in streams:
                if slot % STREAM_EVERY_SLOTS == 0:
                    _send(sock, by_port[port].next_packet(), port, sent, "stranger_stream")
            if rng.random() < junk_per_slot:
                kind = rng.choice(KINDS)
                junk_socket = rng.choice(sockets[len(streams) :])
                _send(junk_socket, kind(rng, payload_types), port, sent, kind.__name__)
        slot += 1
        time.sleep(max(0.0, SLOT_SECONDS - (time.monotonic() % SLOT_SECONDS)))
    for sock in sockets:
        sock.close()
    return sent


def _send(sock: socket.socket, data: bytes, port: int, sent: Counter[str], kind: str) -> None:
    # An ICMP port unreachable from an earlier datagram (a closed port) shows up here.
    with contextlib.suppress(OSError):
        sock.sendto(data, (HOST, port))
    sent[kind] += 1


if __name__ == "__main__":
    counts = spray(OPTIONS)
    print(json.dumps({"sent": sum(counts.values()), "by_kind": dict(sorted(counts.items()))}))
