"""The RTP socket's receive path with numbers for time: validation, latching, RTCP checks."""

import struct
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.clock import ManualClock
from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.rtp_socket import RtcpSocket, RtpSocket
from mediaserver.media.stream import MediaStream, StreamFormat
from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.rtcp import ReceiverReport, serialize_compound
from mediaserver.rtp.source_latch import (
    NEW_SOURCE_QUIET_SECONDS,
    PROBATION_PACKETS,
    REBIND_QUIET_SECONDS,
)

PEER = ("127.0.0.1", 4000)
NAT = ("127.0.0.1", 4444)
REBOUND = ("127.0.0.1", 4446)
STRANGER = ("127.0.0.1", 5000)
PEER_SSRC = 0xABCD
PACKET_SECONDS = 0.02


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append((bytes(data), addr))

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 20000)

    def close(self) -> None:
        """Nothing to release."""


class Receiver:
    """An RtpSocket for PCMU (0) and telephone-event (101), with what it handed on."""

    def __init__(self, rtcp_mux: bool = True, sdp_address: tuple[str, int] | None = PEER) -> None:
        self.clock = ManualClock()
        self.rtp: list[bytes] = []
        self.rtcp: list[bytes] = []
        self.socket = RtpSocket(
            lambda d, a: self.rtp.append(d), lambda d, a: self.rtcp.append(d), rtcp_mux,
            self.clock.now, 8000,
        )  # fmt: skip
        self.transport = RecordingTransport()
        self.socket.connection_made(self.transport)  # type: ignore[arg-type]
        self.socket.accept_payload_types(0, 101)
        if sdp_address is not None:
            self.socket.set_remote(sdp_address)

    def send_from(self, addr: tuple[str, int], data: bytes, seconds: float = 0.0) -> None:
        self.clock.advance(seconds)
        self.socket.datagram_received(data, addr)

    def counters(self) -> tuple[int, int, int]:
        s = self.socket.statistics()
        return s.packets_received, s.dropped_invalid, s.dropped_foreign


def rtp(sequence_number: int, ssrc: int = PEER_SSRC, payload_type: int = 0) -> bytes:
    header = struct.pack("!BBHII", 0x80, payload_type, sequence_number, 160 * sequence_number, ssrc)
    return header + b"\xff" * 160


def talking(receiver: Receiver, first: int, count: int, addr: tuple[str, int] = PEER) -> int:
    """`count` packets of the peer every 20 ms; the next sequence number."""
    for sequence_number in range(first, first + count):
        receiver.send_from(addr, rtp(sequence_number), PACKET_SECONDS)
    return first + count


MALFORMED = [
    b"",
    b"\x80",
    rtp(1)[:11],  # truncated header
    b"\x40" + rtp(1)[1:],  # version 1
    b"\xc0" + rtp(1)[1:],  # version 3
    b"\x8f" + rtp(1)[1:12] + bytes(8),  # 15 CSRCs announced, two there
    b"\x90" + rtp(1)[1:12] + b"\xbe\xde",  # extension header cut short
    b"\x90" + rtp(1)[1:12] + b"\xbe\xde\x01\x00" + bytes(40),  # 256 words announced
    b"\xa0" + rtp(1)[1:12] + b"\x01\x02\xff",  # padding longer than the payload
    b"\xa0" + rtp(1)[1:12] + b"\x00",  # padding count 0
    rtp(1, payload_type=8),  # PCMA was not negotiated
    rtp(1, payload_type=96),
]


def test_packets_from_the_sdp_address_latch_at_once_and_replies_go_there() -> None:
    receiver = Receiver()
    receiver.send_from(PEER, rtp(1))
    receiver.socket.send(b"x" * 12)
    assert receiver.rtp == [rtp(1)]
    assert receiver.transport.sent == [(b"x" * 12, PEER)]


def test_behind_a_nat_the_source_is_learnt_after_probation() -> None:
    """RFC 7362 §4 (comedia): the SDP address is private; the NAT's address is learnt, but
    only from packets in sequence with one SSRC (RFC 3550 §A.1 probation)."""
    receiver = Receiver(sdp_address=("10.0.0.7", 4000))
    talking(receiver, 1, PROBATION_PACKETS - 1, NAT)
    assert receiver.rtp == []
    assert receiver.socket.remote_address == ("10.0.0.7", 4000)
    talking(receiver, PROBATION_PACKETS, 2, NAT)
    assert receiver.rtp == [rtp(PROBATION_PACKETS), rtp(PROBATION_PACKETS + 1)]
    assert receiver.socket.remote_address == NAT
    assert receiver.socket.statistics().source_changes == 0  # learnt, not changed


def test_malformed_packets_never_latch_or_reach_the_handler() -> None:
    receiver = Receiver(sdp_address=None)
    for data in MALFORMED:
        receiver.send_from(STRANGER, data)
        receiver.send_from(PEER, data)
    assert receiver.rtp == []
    assert receiver.socket.remote_address is None
    assert receiver.counters() == (0, 2 * len(MALFORMED), 0)


def test_an_invalid_packet_from_the_peer_is_dropped_alone() -> None:
    receiver = Receiver()
    next_sequence = talking(receiver, 1, 10)
    for data in MALFORMED:
        receiver.send_from(PEER, data)
    receiver.send_from(PEER, rtp(40_000))  # a lone jump (RFC 3550 §A.1)
    talking(receiver, next_sequence, 10)
    assert receiver.rtp == [rtp(n) for n in range(1, 21)]
    assert receiver.counters() == (20, len(MALFORMED) + 1, 0)
    assert receiver.socket.receive_statistics.packets_lost == 0


def test_a_strangers_stream_never_takes_over_while_the_peer_talks() -> None:
    """However long it lasts, and even at twice the peer's rate."""
    receiver = Receiver()
    stranger_sequence = 7000
    for sequence_number in range(1, 1500):  # 30 s
        receiver.send_from(PEER, rtp(sequence_number), PACKET_SECONDS)
        for _ in range(2):
            receiver.send_from(STRANGER, rtp(stranger_sequence, ssrc=0x5757))
            stranger_sequence += 1
    assert receiver.socket.remote_address == PEER
    assert receiver.counters() == (1499, 0, 2998)
    assert len(receiver.rtp) == 1499


def test_a_nat_rebinding_moves_the_stream_within_a_tenth_of_a_second() -> None:
    """The peer's own SSRC, continuing its sequence, from a new port after the old one fell
    silent: the stream moves once REBIND_QUIET_SECONDS and probation have passed."""
    receiver = Receiver(sdp_address=("10.0.0.7", 4000))
    next_sequence = talking(receiver, 1, 50, NAT)
    silent_since = receiver.clock.now()
    while receiver.socket.remote_address != REBOUND:
        receiver.send_from(REBOUND, rtp(next_sequence), PACKET_SECONDS)
        next_sequence += 1
    moved_after = receiver.clock.now() - silent_since
    assert REBIND_QUIET_SECONDS <= moved_after <= 0.1
    assert receiver.socket.statistics().source_changes == 1
    receiver.socket.send(b"x" * 12)
    assert receiver.transport.sent[-1] == (b"x" * 12, REBOUND)
    for sequence_number in range(next_sequence, next_sequence + 10):
        receiver.send_from(REBOUND, rtp(sequence_number), PACKET_SECONDS)
        receiver.send_from(NAT, rtp(sequence_number))  # the old binding: foreign now
    assert receiver.socket.remote_address == REBOUND


def test_another_ssrc_needs_a_second_of_silence_from_the_source() -> None:
    receiver = Receiver()
    talking(receiver, 1, 50)
    silent_since = receiver.clock.now()
    sequence_number = 9000
    while receiver.socket.remote_address != STRANGER:
        receiver.send_from(STRANGER, rtp(sequence_number, ssrc=0x5757), PACKET_SECONDS)
        sequence_number += 1
    assert receiver.clock.now() - silent_since >= NEW_SOURCE_QUIET_SECONDS


def test_a_packet_from_the_source_resets_a_candidate() -> None:
    receiver = Receiver()
    next_sequence = talking(receiver, 1, 5)
    for _ in range(3):  # the source stalls 100 ms at a time, then sends one late packet
        for _ in range(5):
            receiver.send_from(NAT, rtp(next_sequence), PACKET_SECONDS)
            next_sequence += 1
        receiver.send_from(PEER, rtp(next_sequence - 5))
    assert receiver.socket.remote_address == PEER


def test_the_same_sdp_address_again_keeps_the_latch_a_new_one_starts_over() -> None:
    receiver = Receiver(sdp_address=("10.0.0.7", 4000))
    next_sequence = talking(receiver, 1, PROBATION_PACKETS, NAT)
    receiver.socket.set_remote(("10.0.0.7", 4000))  # a re-INVITE for hold
    assert receiver.socket.remote_address == NAT
    receiver.socket.set_remote(PEER)  # the peer moved
    assert receiver.socket.remote_address == PEER
    talking(receiver, next_sequence, 1)
    assert receiver.rtp[-1] == rtp(next_sequence)


def test_rtcp_counts_only_from_the_peer() -> None:
    receiver = Receiver(rtcp_mux=True)
    report = serialize_compound([ReceiverReport(PEER_SSRC)])
    receiver.send_from(PEER, report)  # before any RTP: nothing to compare with
    talking(receiver, 1, 3)
    receiver.send_from(PEER, report)
    receiver.send_from(("127.0.0.1", 4001), report)  # the peer's host, another port: a NAT
    receiver.send_from(STRANGER, serialize_compound([ReceiverReport(0x5757)]))
    receiver.send_from(("192.0.2.1", 4000), report)  # the SSRC, from another host
    receiver.send_from(PEER, b"\x80\xc9\x00\x09" + bytes(4))  # length past the end
    assert receiver.rtcp == [report, report]
    statistics = receiver.socket.statistics()
    assert (statistics.dropped_foreign, statistics.dropped_invalid) == (3, 1)


def test_the_rtcp_port_checks_through_its_rtp_socket() -> None:
    receiver = Receiver(rtcp_mux=False)
    rtcp = RtcpSocket(receiver.socket)
    talking(receiver, 1, 3)
    report = serialize_compound([ReceiverReport(PEER_SSRC)])
    rtcp.datagram_received(report, ("127.0.0.1", 4001))
    rtcp.datagram_received(rtp(4), PEER)  # RTP on the RTCP port
    rtcp.datagram_received(serialize_compound([ReceiverReport(1)]), STRANGER)
    receiver.send_from(PEER, report)  # RTCP on the RTP port without rtcp-mux
    assert receiver.rtcp == [report]
    statistics = receiver.socket.statistics()
    assert (statistics.dropped_invalid, statistics.dropped_foreign) == (2, 1)


# Arbitrary datagrams, and some that start like RTP or RTCP so that the deeper checks run.
_DATAGRAMS = st.one_of(
    st.binary(max_size=200),
    st.tuples(
        st.sampled_from([0x80, 0x81, 0x90, 0xA0, 0xB3]),
        st.sampled_from([0, 101, 8, 200, 201, 128]),
        st.binary(max_size=200),
    ).map(lambda t: bytes(t[:2]) + t[2]),
    st.binary(min_size=4, max_size=100).map(
        lambda b: b"\x80\xc9" + b[:2] + PEER_SSRC.to_bytes(4, "big") + b[2:]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_DATAGRAMS, st.booleans()), max_size=30))
def test_arbitrary_datagrams_change_only_counters(datagrams: list[tuple[bytes, bool]]) -> None:
    """From a stranger nothing gets through; from the peer only what is valid RTP with a
    negotiated payload type (or the peer's RTCP), unchanged; the latch never moves."""
    receiver = Receiver()
    talking(receiver, 1, 5)
    handed_on = len(receiver.rtp)
    before = receiver.socket.statistics()
    for data, from_peer in datagrams:
        receiver.send_from(PEER if from_peer else STRANGER, data, 0.001)
    after = receiver.socket.statistics()
    assert receiver.socket.remote_address == PEER
    assert after.source_changes == 0
    counted = sum(
        getattr(after, name) - getattr(before, name)
        for name in (
            "packets_received",
            "rtcp_packets_received",
            "dropped_invalid",
            "dropped_foreign",
        )
    )
    assert counted == len(datagrams)
    for data in receiver.rtp[handed_on:]:
        assert RtpPacket.parse(data).payload_type in (0, 101)
    assert len(receiver.rtp) - handed_on == after.packets_received - before.packets_received
    assert len(receiver.rtcp) == after.rtcp_packets_received


_RTCP_FROM_THE_PEER = st.one_of(
    st.binary(max_size=120),
    st.tuples(st.integers(0x80, 0xBF), st.sampled_from([200, 201]), st.binary(max_size=120)).map(
        lambda t: (
            bytes([t[0], t[1]])
            + (1 + len(t[2]) // 4).to_bytes(2, "big")  # a length that often fits
            + PEER_SSRC.to_bytes(4, "big")
            + t[2]
        )
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RTCP_FROM_THE_PEER, max_size=10))
def test_arbitrary_rtcp_from_the_peer_changes_only_counters(datagrams: list[bytes]) -> None:
    """Through the RTCP port into the stream's RTCP parser: nothing raises, and only the
    counters move (a report about our SSRC would need our 32 random bits in the data)."""
    receiver = Receiver(rtcp_mux=False)
    stream = MediaStream(
        1, StreamFormat("PCMU", 0, 8000, 20, 101), cast(BoundPorts, None), receiver.socket, None
    )
    receiver.socket.rtcp_handler = stream.receive_rtcp
    rtcp = RtcpSocket(receiver.socket)
    talking(receiver, 1, 3)
    for data in datagrams:
        rtcp.datagram_received(data, ("127.0.0.1", 4001))
        rtcp.datagram_received(data, STRANGER)
    statistics = receiver.socket.statistics()
    handed_on = statistics.rtcp_packets_received
    assert stream.rtcp_invalid <= handed_on  # what the parser refused, counted there
    assert statistics.dropped_invalid + statistics.dropped_foreign + handed_on == 2 * len(datagrams)
    if stream.sender.ssrc.to_bytes(4, "big") not in b"".join(datagrams):
        assert stream.peer_report is None
