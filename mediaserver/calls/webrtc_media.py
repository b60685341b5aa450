"""A WebRTC leg's media: RTP through the engine as for any leg, with the browser's transport
on top (ICE-lite, DTLS-SRTP, rtcp-mux and BUNDLE; sdp/webrtc.py, media/webrtc_transport.py).

Everything the calls layer does with a leg's media (bridging, transcoding, playing,
recording, DTMF both ways) is RtpLegMedia's, unchanged: the engine stream of a WebRTC leg is
an ordinary stream whose packets are encrypted on the wire. What differs is the SDP (the
UDP/TLS/RTP/SAVPF profile, our ICE credentials, certificate fingerprint and one host
candidate), where media goes (the address ICE selects, not the c= line) and that the peer can
vanish without a BYE (ICE consent, RFC 7675).
"""

import secrets
import string

from mediaserver.calls.leg_media import MediaRefusedError, RtpLegMedia
from mediaserver.media.dtls_srtp import DtlsRole
from mediaserver.media.engine import MediaEngine
from mediaserver.rtp.ice_lite import IceCredentials
from mediaserver.sdp.offer_answer import FIRST_DYNAMIC_PAYLOAD_TYPE
from mediaserver.sdp.session import SessionDescription
from mediaserver.sdp.stream import WEBRTC_PROFILES, Capabilities, NegotiatedStream
from mediaserver.sdp.webrtc import (
    ANSWER_SETUP,
    LocalTransport,
    PeerTransport,
    WebRtcSdpError,
    is_webrtc,
    peer_transport,
    with_transport,
)

# RFC 8839 §5.4: ice-char is ALPHA / DIGIT / "+" / "/"; at least 24 bits of randomness in
# the ufrag (4 characters) and 128 in the password (22 characters).
ICE_CHARACTERS = string.ascii_letters + string.digits + "+/"
UFRAG_LENGTH, PASSWORD_LENGTH = 8, 24
OFFER_MID = "0"  # JSEP §5.2.1: the first m= line's identification tag


def webrtc_capabilities(capabilities: Capabilities) -> Capabilities:
    """Browsers all speak Opus (RFC 7874 §3): it goes first, wideband end to end where the
    other leg speaks it too; G.711 remains for browsers that offer only that."""
    formats = sorted(capabilities.formats, key=lambda f: f.encoding_name.lower() != "opus")
    return Capabilities(
        formats=tuple(formats),
        ptime_ms=capabilities.ptime_ms,
        telephone_event_rates=capabilities.telephone_event_rates,
        profiles=WEBRTC_PROFILES,
    )


def new_ice_credentials() -> IceCredentials:
    return IceCredentials(_ice_string(UFRAG_LENGTH), _ice_string(PASSWORD_LENGTH))


class WebRtcLegMedia(RtpLegMedia):
    def __init__(
        self,
        engine: MediaEngine,
        capabilities: Capabilities,
        address: str,
        candidate_address: str,
        username: str,
    ) -> None:
        super().__init__(engine, webrtc_capabilities(capabilities), address, username)
        self._candidate_address = candidate_address
        self._ice = new_ice_credentials()
        self._peer: PeerTransport | None = None

    def check_offer(self, offer: SessionDescription) -> None:
        self._peer_transport(offer)
        super().check_offer(offer)

    async def prepare_answer(self, offer: SessionDescription) -> None:
        self._peer_transport(offer)
        chosen = self._choose(offer)
        if self.stream is None:
            assert chosen.format is not None
            self._check_open()
            self.stream = await self._engine.open_stream(
                chosen.format.encoding_name, self._capabilities.ptime_ms, chosen.payload_type,
                chosen.telephone_event_payload_type, peer_fmtp=chosen.fmtp, ice=self._ice,
            )  # fmt: skip

    async def prepare_offer(self) -> None:
        if self.stream is None:
            self._check_open()
            first = self._capabilities.formats[0]
            # Opus has no static type: our offer numbers it first of the dynamic ones.
            payload_type = first.payload_type
            if payload_type is None:
                payload_type = FIRST_DYNAMIC_PAYLOAD_TYPE
            self.stream = await self._engine.open_stream(
                first.encoding_name, self._capabilities.ptime_ms, payload_type, ice=self._ice
            )

    def answer(self, offer: SessionDescription) -> SessionDescription:
        peer = self._peer_transport(offer)
        description = super().answer(offer)
        our_setup = ANSWER_SETUP[peer.setup]
        self._start(peer, DtlsRole.SERVER if our_setup == "passive" else DtlsRole.CLIENT)
        return description

    def accept_answer(self, answer: SessionDescription) -> None:
        peer = self._peer_transport(answer)
        super().accept_answer(answer)
        # RFC 8842 §5.2: we offered actpass; an active answerer is the DTLS client.
        self._start(peer, DtlsRole.CLIENT if peer.setup == "passive" else DtlsRole.SERVER)

    def _start(self, peer: PeerTransport, role: DtlsRole) -> None:
        if self._peer is not None and self._peer.ice_ufrag != peer.ice_ufrag:
            raise MediaRefusedError("ICE restarts are not supported (RFC 8839 §4.4.1.1.1)")
        self._peer = peer
        stream = self._open_stream()
        self._engine.start_webrtc(stream, peer.ice_ufrag, role, peer.fingerprint)

    def _described(
        self, description: SessionDescription, offer: SessionDescription | None
    ) -> SessionDescription:
        stream = self._open_stream()
        local = LocalTransport(
            self._ice.ufrag, self._ice.password, self._engine.certificate_fingerprint(),
            self._candidate_address, stream.ports.rtp_port,
        )  # fmt: skip
        if offer is None:
            return with_transport(description, local, "actpass", OFFER_MID)
        peer = self._peer_transport(offer)
        return with_transport(description, local, ANSWER_SETUP[peer.setup], peer.mid)

    def _route(self, negotiated: NegotiatedStream) -> None:
        """Media goes where ICE selected (webrtc_transport.py), never to the c= line."""

    def _peer_transport(self, description: SessionDescription) -> PeerTransport:
        if not is_webrtc(description):
            raise MediaRefusedError("a WebRTC peer must offer UDP/TLS/RTP/SAVPF (RFC 8829 §5.1.2)")
        try:
            return peer_transport(description)
        except WebRtcSdpError as error:
            raise MediaRefusedError(str(error)) from None


def _ice_string(length: int) -> str:
    return "".join(secrets.choice(ICE_CHARACTERS) for _ in range(length))
