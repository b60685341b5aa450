"""DTLS-SRTP between two in-memory sessions: the handshake keys SRTP both ways (RFC 5764
§4.2), a certificate that does not match the SDP fingerprint fails it (RFC 8122 §5), a lost
flight is sent again when its timer runs out (RFC 6347 §4.2.4), and close_notify closes."""

import time

import pytest

from mediaserver.media.dtls_srtp import DtlsCertificate, DtlsRole, DtlsSrtpSession, DtlsState
from mediaserver.rtp.packet import RtpPacket

RTP = bytes.fromhex("80000001000000a0deadbeef") + b"\x55" * 160
RTCP = bytes.fromhex("81c90007deadbeef") + bytes(24)  # a receiver report with one block


@pytest.fixture(scope="module")
def certificates() -> tuple[DtlsCertificate, DtlsCertificate]:
    return DtlsCertificate(), DtlsCertificate()


def pair(
    certificates: tuple[DtlsCertificate, DtlsCertificate], server_expects: str | None = None
) -> tuple[DtlsSrtpSession, DtlsSrtpSession]:
    ours, theirs = certificates
    client = DtlsSrtpSession(theirs, DtlsRole.CLIENT, ("sha-256", ours.fingerprint()))
    expected = server_expects or theirs.fingerprint()
    server = DtlsSrtpSession(ours, DtlsRole.SERVER, ("sha-256", expected))
    return client, server


def run_handshake(client: DtlsSrtpSession, server: DtlsSrtpSession) -> int:
    """Carry flights both ways until neither side has anything to send; the flight count."""
    flights, outgoing = 0, client.start()
    while outgoing:
        replies = [reply for datagram in outgoing for reply in server.receive(datagram)]
        outgoing = [reply for datagram in replies for reply in client.receive(datagram)]
        flights += 1
    return flights


def test_the_handshake_keys_srtp_both_ways(
    certificates: tuple[DtlsCertificate, DtlsCertificate],
) -> None:
    client, server = pair(certificates)
    assert run_handshake(client, server) <= 3
    assert (client.state, server.state) == (DtlsState.CONNECTED, DtlsState.CONNECTED)
    protected = client.protect(RTP)
    assert protected != RTP
    assert len(protected) > len(RTP)
    assert server.unprotect(protected, rtcp=False) == RTP
    assert RtpPacket.parse(client.unprotect(server.protect(RTP), rtcp=False) or b"").ssrc == (
        0xDEADBEEF
    )
    assert server.unprotect(client.protect_rtcp(RTCP), rtcp=True) == RTCP


def test_replayed_and_forged_packets_are_refused_and_counted(
    certificates: tuple[DtlsCertificate, DtlsCertificate],
) -> None:
    client, server = pair(certificates)
    run_handshake(client, server)
    protected = client.protect(RTP)
    assert server.unprotect(protected, rtcp=False) == RTP
    assert server.unprotect(protected, rtcp=False) is None  # RFC 3711 §3.3.2: a replay
    forged = protected[:-1] + bytes([protected[-1] ^ 1])
    assert server.unprotect(forged, rtcp=False) is None
    assert server.unprotect_failures == 2


def test_a_certificate_that_does_not_match_the_sdp_fingerprint_fails(
    certificates: tuple[DtlsCertificate, DtlsCertificate],
) -> None:
    wrong = "AA:" * 31 + "AA"
    client, server = pair(certificates, server_expects=wrong)
    run_handshake(client, server)
    assert server.state is DtlsState.FAILED
    assert "fingerprint" in server.failure
    assert server.unprotect(client.protect(RTP), rtcp=False) is None  # no keys


def test_a_lost_flight_is_sent_again_when_its_timer_runs_out(
    certificates: tuple[DtlsCertificate, DtlsCertificate],
) -> None:
    client, server = pair(certificates)
    assert client.start()  # lost on the way
    timeout = client.timeout()
    assert timeout is not None
    assert 0 < timeout <= 1.0
    # OpenSSL keeps this timer on its own clock: only real time makes it run out.
    time.sleep(timeout + 0.05)
    again = client.handle_timeout()
    assert again
    replies = [reply for datagram in again for reply in server.receive(datagram)]
    outgoing = [reply for datagram in replies for reply in client.receive(datagram)]
    while outgoing:
        replies = [reply for datagram in outgoing for reply in server.receive(datagram)]
        outgoing = [reply for datagram in replies for reply in client.receive(datagram)]
    assert (client.state, server.state) == (DtlsState.CONNECTED, DtlsState.CONNECTED)
    assert client.timeout() is None


def test_nothing_is_unprotected_before_the_keys_exist(
    certificates: tuple[DtlsCertificate, DtlsCertificate],
) -> None:
    _, server = pair(certificates)
    assert server.unprotect(RTP, rtcp=False) is None
