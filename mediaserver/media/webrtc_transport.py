"""The socket side of a WebRTC stream: ICE-lite checks, the DTLS handshake and SRTP, all on
the stream's one port, in front of the same RtpSocket every RTP stream has.

RFC 7983 §7 tells what arrives apart by its first octet: 0-3 STUN (answered by the stream's
IceLiteAgent), 20-63 DTLS (fed to its DtlsSrtpSession), 128-191 SRTP and SRTCP (unprotected,
then handed to the RtpSocket as if they had come in plain). Outgoing, the RtpSocket sends
through `sender`, which protects each packet and sends it to the address ICE selected. So the
engine's relay and batch paths, latching checks and counters see a WebRTC stream exactly as
they see any other: encryption is this module's business only.

Costs on the event loop: no task per stream; one datagram callback per packet (a libsrtp call
in C each way), and one timer while a DTLS handshake waits for a retransmission.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

from mediaserver.clock import Clock
from mediaserver.media.dtls_srtp import (
    DtlsCertificate,
    DtlsRole,
    DtlsSrtpSession,
    DtlsState,
)
from mediaserver.media.rtp_socket import Address, RtpSocket
from mediaserver.rtp.ice_lite import IceCredentials, IceLiteAgent
from mediaserver.rtp.packet import is_rtcp

logger = logging.getLogger(__name__)

STUN_LAST_OCTET = 3  # RFC 7983 §7 ranges of the first octet
DTLS_FIRST_OCTET, DTLS_LAST_OCTET = 20, 63
RTP_FIRST_OCTET, RTP_LAST_OCTET = 128, 191
MAX_EARLY_DTLS = 8  # a ClientHello flight that overtook the peer's SDP answer


@dataclass(frozen=True, slots=True)
class WebRtcStatistics:
    ice_checks_answered: int
    ice_checks_refused: int
    ice_nominated: bool
    dtls_state: str
    srtp_unprotect_failures: int
    packets_before_keys: int  # SRTP that came before the handshake ended, dropped


class SrtpSender(asyncio.DatagramTransport):
    """What the RtpSocket believes is its UDP transport: sendto protects and sends to the
    address ICE selected (the RtpSocket's own remote address is that same one)."""

    def __init__(self, owner: "WebRtcTransport") -> None:
        super().__init__(extra={"sockname": owner.local_address})
        self._owner = owner

    def sendto(self, data: bytes | bytearray | memoryview, addr: Any = None) -> None:
        self._owner.send_rtp(bytes(data))

    def close(self) -> None:
        self._owner.close()

    def is_closing(self) -> bool:
        return self._owner.socket is None


class WebRtcTransport(asyncio.DatagramProtocol):
    def __init__(
        self,
        rtp: RtpSocket,
        local: IceCredentials,
        certificate: DtlsCertificate,
        clock: Clock,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.rtp = rtp
        self.ice = IceLiteAgent(local, clock.now())
        self.certificate = certificate
        self.dtls: DtlsSrtpSession | None = None
        self.socket: asyncio.DatagramTransport | None = None
        self.local_address: Address = ()
        self._clock = clock
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self._early: list[tuple[bytes, Address]] = []  # DTLS before we know the fingerprint
        self.packets_before_keys = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.socket = cast(asyncio.DatagramTransport, transport)
        self.local_address = self.socket.get_extra_info("sockname")
        self.rtp.connection_made(SrtpSender(self))

    def datagram_received(self, data: bytes, addr: Address) -> None:
        first = data[0] if data else 255
        if RTP_FIRST_OCTET <= first <= RTP_LAST_OCTET:
            self._receive_srtp(data, addr)
        elif first <= STUN_LAST_OCTET:
            self._receive_stun(data, addr)
        elif DTLS_FIRST_OCTET <= first <= DTLS_LAST_OCTET:
            self._receive_dtls(data, addr)
        else:
            self.rtp.dropped_invalid += 1

    def error_received(self, exc: Exception) -> None:
        logger.debug("WebRTC socket %s: %s", self.local_address, exc)

    def start_dtls(self, role: DtlsRole, remote_fingerprint: tuple[str, str]) -> None:
        """The peer's SDP came: its fingerprint and who starts the handshake (RFC 5763 §5)."""
        if self.dtls is not None:
            return
        self.dtls = DtlsSrtpSession(self.certificate, role, remote_fingerprint)
        self._send_dtls(self.dtls.start())
        early, self._early = self._early, []
        for data, addr in early:
            self._receive_dtls(data, addr)

    def send_rtp(self, packet: bytes) -> None:
        dtls, selected = self.dtls, self.ice.selected
        if dtls is None or dtls.state is not DtlsState.CONNECTED or selected is None:
            self.rtp.unsendable_packets += 1
            return
        protected = dtls.protect_rtcp(packet) if is_rtcp(packet) else dtls.protect(packet)
        self._send(protected, selected)

    def failed(self) -> bool:
        """ICE consent lost (RFC 7675 §5.1), or DTLS failed or was closed by the peer."""
        states = (DtlsState.FAILED, DtlsState.CLOSED)
        return self.ice.consent_expired(self._clock.now()) or (
            self.dtls is not None and self.dtls.state in states
        )

    def statistics(self) -> WebRtcStatistics:
        return WebRtcStatistics(
            ice_checks_answered=self.ice.checks_answered,
            ice_checks_refused=self.ice.checks_refused,
            ice_nominated=self.ice.nominated,
            dtls_state="new" if self.dtls is None else self.dtls.state.value,
            srtp_unprotect_failures=0 if self.dtls is None else self.dtls.unprotect_failures,
            packets_before_keys=self.packets_before_keys,
        )

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    def _receive_stun(self, data: bytes, addr: Address) -> None:
        answered = self.ice.receive(data, (addr[0], addr[1]), self._clock.now())
        if answered is None:
            return
        self._send(answered.response, addr)
        if answered.selected:
            # Media goes where ICE chose; the RtpSocket takes packets from there at once.
            self.rtp.set_remote(addr)
            dtls = self.dtls
            if (
                dtls is not None
                and dtls.role is DtlsRole.CLIENT
                and dtls.state is DtlsState.CONNECTING
            ):
                self._send_dtls(dtls.handle_timeout())  # the ClientHello had nowhere to go

    def _receive_dtls(self, data: bytes, addr: Address) -> None:
        if self.dtls is None:
            if len(self._early) < MAX_EARLY_DTLS:
                self._early.append((data, addr))
            return
        if self.ice.selected is None:
            return  # RFC 8445 §12.1: nothing but checks before a pair is valid
        self._send_dtls(self.dtls.receive(data))

    def _receive_srtp(self, data: bytes, addr: Address) -> None:
        dtls = self.dtls
        if dtls is None or dtls.state is not DtlsState.CONNECTED:
            self.packets_before_keys += 1
            return
        rtcp = is_rtcp(data)
        plain = dtls.unprotect(data, rtcp)
        if plain is None:
            return
        if rtcp:
            self.rtp.receive_rtcp(plain, addr)
        else:
            self.rtp.datagram_received(plain, addr)

    def _send_dtls(self, datagrams: list[bytes]) -> None:
        selected = self.ice.selected
        if selected is not None:
            for datagram in datagrams:
                self._send(datagram, selected)
        self._arm_retransmission()

    def _arm_retransmission(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        timeout = None if self.dtls is None else self.dtls.timeout()
        if timeout is not None and self.socket is not None:
            self._timer = self._loop.call_later(timeout, self._retransmit)

    def _retransmit(self) -> None:
        self._timer = None
        if self.dtls is not None:
            self._send_dtls(self.dtls.handle_timeout())

    def _send(self, data: bytes, addr: Address) -> None:
        if self.socket is not None:
            self.socket.sendto(data, addr)
