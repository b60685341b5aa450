import struct
from typing import Any, cast

from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.relay import RelayDirection
from mediaserver.media.rtp_socket import RtpSocket
from mediaserver.media.stream import MediaStream, StreamFormat


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(bytes(data))

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 20000)

    def close(self) -> None:
        """Nothing to release."""


def stream(stream_id: int, payload_type: int = 0, event_type: int | None = 101) -> MediaStream:
    sock = RtpSocket(lambda d, a: None, lambda d, a: None, True, lambda: 0.0, 8000)
    sock.connection_made(RecordingTransport())  # type: ignore[arg-type]
    sock.set_remote(("127.0.0.1", 4000))
    stream_format = StreamFormat("PCMU", payload_type, 8000, 20, event_type)
    return MediaStream(stream_id, stream_format, cast(BoundPorts, None), sock, None)


def packet(sequence_number: int, timestamp: int, second_octet: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, second_octet, sequence_number, timestamp, 42) + b"\x01\x02"


def sent(target: MediaStream) -> list[tuple[int, int, int, int, bytes]]:
    transport = cast(RecordingTransport, target.rtp.transport)
    return [(*struct.unpack_from("!xBHII", p), p[12:]) for p in transport.sent]


def test_rewrites_sequence_timestamp_and_ssrc_keeping_payload() -> None:
    source, target = stream(1), stream(2)
    target.sender.sequence_number, target.sender.timestamp = 500, 90000
    relay = RelayDirection(source, target)
    relay.forward(packet(65535, 4294967200), ("127.0.0.1", 1))
    relay.forward(packet(0, 64), ("127.0.0.1", 1))  # both wrap around
    assert sent(target) == [
        (0, 500, 90000, target.sender.ssrc, b"\x01\x02"),
        (0, 501, 90160, target.sender.ssrc, b"\x01\x02"),
    ]


def test_loss_and_reordering_stay_visible_downstream() -> None:
    source, target = stream(1), stream(2)
    relay = RelayDirection(source, target)
    for sequence_number in (10, 12, 11, 15):
        relay.forward(packet(sequence_number, sequence_number * 160), ("127.0.0.1", 1))
    numbers = [s for _, s, *_ in sent(target)]
    assert [(n - numbers[0]) & 0xFFFF for n in numbers] == [0, 2, 1, 5]


def test_stop_hands_numbering_back_to_the_sender() -> None:
    source, target = stream(1), stream(2)
    relay = RelayDirection(source, target)
    relay.forward(packet(7, 700), ("127.0.0.1", 1))
    last_sequence, last_timestamp = sent(target)[-1][1:3]
    relay.stop()
    assert target.sender.sequence_number == (last_sequence + 1) & 0xFFFF
    assert target.sender.timestamp == (last_timestamp + 160) & 0xFFFFFFFF


def test_payload_types_are_mapped_with_the_marker_kept() -> None:
    source, target = stream(1, payload_type=0, event_type=101), stream(2, 0, event_type=96)
    relay = RelayDirection(source, target)
    relay.forward(packet(1, 0, second_octet=0x80 | 101), ("127.0.0.1", 1))
    relay.forward(packet(2, 0, second_octet=0), ("127.0.0.1", 1))
    assert [octet for octet, *_ in sent(target)] == [0x80 | 96, 0]
