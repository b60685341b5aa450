"""A WebRTC stream in the engine, over real sockets on 127.0.0.1: a browser stand-in checks it
(ICE-lite), shakes hands (DTLS) and sends SRTP; the stream, connected to a plain RTP stream,
is relayed like any other, so the far end gets plain RTP and the browser gets SRTP back."""

import asyncio
import struct

from mediaserver.media.dtls_srtp import DtlsCertificate, DtlsRole, DtlsSrtpSession, DtlsState
from mediaserver.media.engine import MediaEngine
from mediaserver.media.stream import MediaStream, StreamMode
from mediaserver.rtp.ice_lite import IceCredentials
from mediaserver.rtp.stun import (
    BINDING_REQUEST,
    BINDING_SUCCESS_RESPONSE,
    ICE_CONTROLLING,
    USE_CANDIDATE,
    USERNAME,
    StunMessage,
    serialize,
)
from tests.media.rtp_peer import RtpPeer, open_rtp_peer

SERVER_ICE = IceCredentials("srvU", "server-password-0123456789")
PAYLOAD = b"\x55" * 160


def rtp(sequence_number: int, ssrc: int = 0x0B0B0B0B) -> bytes:
    header = struct.pack("!BBHII", 0x80, 0, sequence_number, sequence_number * 160, ssrc)
    return header + PAYLOAD


def nominating_check(password: str = SERVER_ICE.password) -> bytes:
    body = b""
    for kind, value in ((USERNAME, b"srvU:brwS"), (ICE_CONTROLLING, b"\x01" * 8)):
        body += struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)
    body += struct.pack("!HH", USE_CANDIDATE, 0)
    return serialize(BINDING_REQUEST, b"c" * 12, body, password.encode())


async def received(peer: RtpPeer, count: int) -> list[bytes]:
    for _ in range(200):
        if len(peer.packets) >= count:
            return peer.packets
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(peer.packets)} datagrams arrived, {count} expected")


async def handshake(browser: RtpPeer, stream: MediaStream, session: DtlsSrtpSession) -> None:
    """Carry the browser's side of DTLS until it is connected (the engine answers by itself)."""
    outgoing = session.start()
    while session.state is DtlsState.CONNECTING:
        seen = len(browser.packets)
        for datagram in outgoing:
            browser.send_to(stream, datagram)
        replies = (await received(browser, seen + 1))[seen:]
        outgoing = [reply for datagram in replies for reply in session.receive(datagram)]
    for datagram in outgoing:
        browser.send_to(stream, datagram)


async def test_a_webrtc_stream_relays_srtp_from_and_to_a_plain_rtp_stream(
    engine: MediaEngine,
) -> None:
    webrtc = await engine.open_stream("PCMU", ice=SERVER_ICE)
    plain = await engine.open_stream("PCMU")
    browser, far = await open_rtp_peer(), await open_rtp_peer()
    browser_certificate = DtlsCertificate()
    engine.start_webrtc(
        webrtc, "brwS", DtlsRole.SERVER, ("sha-256", browser_certificate.fingerprint())
    )
    engine.set_remote(plain, "127.0.0.1", far.port)
    engine.connect(webrtc, plain)
    assert webrtc.mode is StreamMode.RELAY

    browser.send_to(webrtc, nominating_check())
    (answer,) = await received(browser, 1)
    assert StunMessage.parse(answer).message_type == BINDING_SUCCESS_RESPONSE
    browser.received.clear()
    session = DtlsSrtpSession(
        browser_certificate, DtlsRole.CLIENT, ("sha-256", engine.certificate_fingerprint())
    )
    await handshake(browser, webrtc, session)
    browser.received.clear()

    for sequence_number in range(1, 4):
        browser.send_to(webrtc, session.protect(rtp(sequence_number)))
    assert [packet[12:] for packet in await received(far, 3)] == [PAYLOAD] * 3
    for sequence_number in range(1, 4):
        far.send_to(plain, rtp(sequence_number, ssrc=0x0F0F0F0F))
    protected = await received(browser, 3)
    assert all(packet[12:] != PAYLOAD for packet in protected)  # encrypted on the wire
    plain_packets = [session.unprotect(packet, rtcp=False) for packet in protected]
    assert [packet[12:] for packet in plain_packets if packet] == [PAYLOAD] * 3
    figures = engine.statistics()
    assert (figures.webrtc_streams, figures.relay_streams) == (1, 2)
    engine.close_stream(webrtc)
    engine.close_stream(plain)


async def test_a_check_with_the_wrong_password_and_srtp_before_the_keys_go_nowhere(
    engine: MediaEngine,
) -> None:
    webrtc = await engine.open_stream("PCMU", ice=SERVER_ICE)
    browser = await open_rtp_peer()
    browser.send_to(webrtc, nominating_check(password="a stranger's guess"))
    browser.send_to(webrtc, rtp(1))  # looks like SRTP; no keys exist yet
    await asyncio.sleep(0.2)
    assert browser.packets == []
    assert webrtc.webrtc is not None
    figures = webrtc.webrtc.statistics()
    assert (figures.ice_checks_refused, figures.packets_before_keys) == (1, 1)
    assert engine.stream_statistics(webrtc).packets_received == 0
    assert not engine.connectivity_lost(webrtc)
    engine.close_stream(webrtc)
