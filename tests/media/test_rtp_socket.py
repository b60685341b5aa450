import struct
from typing import Any

from mediaserver.media.rtp_socket import RELATCH_PACKETS, RtpSocket


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append((bytes(data), addr))

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 20000)

    def close(self) -> None:
        """Nothing to release."""


RTP = struct.pack("!BBHII", 0x80, 0, 1, 160, 7) + b"\xff" * 160
RTCP_RECEIVER_REPORT = struct.pack("!BBHI", 0x80, 201, 1, 7)
PEER = ("127.0.0.1", 4000)
OTHER = ("127.0.0.1", 5000)


def make_socket(
    rtcp_mux: bool = True,
) -> tuple[RtpSocket, list[bytes], list[bytes], RecordingTransport]:
    rtp: list[bytes] = []
    rtcp: list[bytes] = []
    sock = RtpSocket(lambda d, a: rtp.append(d), lambda d, a: rtcp.append(d), rtcp_mux)
    transport = RecordingTransport()
    sock.connection_made(transport)  # type: ignore[arg-type]
    return sock, rtp, rtcp, transport


def test_first_valid_packet_latches_and_replies_go_there() -> None:
    sock, rtp, _, transport = make_socket()
    sock.set_remote(("127.0.0.1", 9))
    sock.datagram_received(RTP, PEER)
    sock.send(b"x" * 12)
    assert rtp == [RTP]
    assert transport.sent == [(b"x" * 12, PEER)]


def test_other_sources_are_dropped_once_latched() -> None:
    sock, rtp, _, _ = make_socket()
    sock.datagram_received(RTP, PEER)
    sock.datagram_received(RTP, OTHER)
    sock.datagram_received(RTP, PEER)
    assert len(rtp) == 2
    assert sock.statistics().foreign_packets == 1


def test_a_new_source_takes_over_after_a_second_of_silence_from_the_old_one() -> None:
    sock, _, _, _ = make_socket()
    sock.datagram_received(RTP, PEER)
    for _ in range(RELATCH_PACKETS - 1):
        sock.datagram_received(RTP, OTHER)
    sock.datagram_received(RTP, PEER)  # the old source is still alive: no takeover
    for _ in range(RELATCH_PACKETS - 1):
        sock.datagram_received(RTP, OTHER)
    assert sock.remote_address == PEER
    sock.datagram_received(RTP, OTHER)
    assert sock.remote_address == OTHER


def test_garbage_never_latches_or_reaches_the_handler() -> None:
    sock, rtp, _, _ = make_socket()
    for junk in (b"", b"\x80", b"\x00" * 12, b"\x40" + b"\x00" * 20):
        sock.datagram_received(junk, OTHER)
    assert rtp == []
    assert sock.remote_address is None
    assert sock.statistics().invalid_packets == 4


def test_rtcp_mux_demultiplexes_rtcp() -> None:
    sock, rtp, rtcp, _ = make_socket(rtcp_mux=True)
    sock.datagram_received(RTCP_RECEIVER_REPORT, PEER)
    sock.datagram_received(RTP, PEER)
    assert rtcp == [RTCP_RECEIVER_REPORT]
    assert rtp == [RTP]


def test_sending_without_a_remote_is_counted() -> None:
    sock, _, _, transport = make_socket()
    sock.send(RTP)
    assert transport.sent == []
    assert sock.statistics().unsendable_packets == 1
