"""What a WebRTC session description adds to RTP's: ICE (RFC 8839), DTLS-SRTP (RFC 5763,
RFC 8842), rtcp-mux (RFC 5761) and BUNDLE (RFC 8843).

The codecs are negotiated as for any stream (offer_answer.py, with the UDP/TLS/RTP/SAVPF
profile); this module reads the peer's transport attributes and writes ours. We are an
ICE-lite agent (RFC 8445 §2.5) with one host candidate per stream, so our descriptions say
a=ice-lite, carry that candidate and end the candidates at once (RFC 8840 §8.2).
"""

from dataclasses import dataclass, replace

from mediaserver.sdp.session import Attribute, MediaDescription, SessionDescription
from mediaserver.sdp.stream import WEBRTC_PROFILES

# RFC 8445 §5.1.2.1: type preference 126 (host), local preference 65535, component 1.
HOST_CANDIDATE_PRIORITY = (126 << 24) + (65535 << 8) + (256 - 1)
# RFC 8842 §5.2: who starts the DTLS handshake, by the peer's a=setup, for our answer.
ANSWER_SETUP = {"actpass": "passive", "active": "passive", "passive": "active"}


class WebRtcSdpError(ValueError):
    """A WebRTC description without what ICE and DTLS need: SIP says 488."""


@dataclass(frozen=True, slots=True)
class PeerTransport:
    """The peer's side of one WebRTC m= line (media-level attributes override session ones)."""

    ice_ufrag: str
    ice_pwd: str
    fingerprint: tuple[str, str]  # RFC 8122 §5: (hash function, upper-case hex)
    setup: str  # actpass, active or passive (RFC 4145 §4)
    mid: str | None  # RFC 5888 §4, for BUNDLE


@dataclass(frozen=True, slots=True)
class LocalTransport:
    ice_ufrag: str
    ice_pwd: str
    fingerprint: str  # sha-256 of our certificate
    address: str  # our one host candidate
    port: int


def is_webrtc(description: SessionDescription) -> bool:
    """The first audio stream is DTLS-SRTP over ICE."""
    audio = next((m for m in description.media if m.media == "audio" and m.port), None)
    return audio is not None and audio.proto in WEBRTC_PROFILES


def peer_transport(description: SessionDescription) -> PeerTransport:
    """The transport attributes of the first usable audio m= line."""
    media = next((m for m in description.media if m.media == "audio" and m.port), None)
    if media is None:
        raise WebRtcSdpError("no audio stream")
    values = {key: _value(description, media, key) for key in _REQUIRED}
    missing = [key for key, value in values.items() if not value]
    if missing:
        raise WebRtcSdpError(f"the WebRTC offer lacks a={', a='.join(missing)}")
    algorithm, _, fingerprint = values["fingerprint"].partition(" ")
    setup = values["setup"] if values["setup"] in ANSWER_SETUP else "actpass"
    return PeerTransport(
        ice_ufrag=values["ice-ufrag"],
        ice_pwd=values["ice-pwd"],
        fingerprint=(algorithm.lower(), fingerprint.strip().upper()),
        setup=setup,
        mid=media.attribute("mid"),
    )


def with_transport(
    description: SessionDescription, local: LocalTransport, setup: str, mid: str | None
) -> SessionDescription:
    """Our description with ICE-lite, DTLS and BUNDLE attributes on its one used m= line
    (the others stay refused, out of the BUNDLE group, RFC 8843 §7.3.3)."""
    media = tuple(
        m if m.port == 0 else _with_media_transport(m, local, setup, mid) for m in description.media
    )
    attributes: list[Attribute] = [("ice-lite", None)]
    if mid is not None:
        attributes.append(("group", f"BUNDLE {mid}"))
    return replace(description, attributes=(*attributes, *description.attributes), media=media)


def _with_media_transport(
    media: MediaDescription, local: LocalTransport, setup: str, mid: str | None
) -> MediaDescription:
    candidate = f"1 1 udp {HOST_CANDIDATE_PRIORITY} {local.address} {local.port} typ host"
    attributes: list[Attribute] = [] if mid is None else [("mid", mid)]
    attributes += [
        ("ice-ufrag", local.ice_ufrag),
        ("ice-pwd", local.ice_pwd),
        ("fingerprint", f"sha-256 {local.fingerprint}"),
        ("setup", setup),
    ]
    kept = [a for a in media.attributes if a[0] != "rtcp-mux"]
    # RFC 8843 §9.1 and JSEP: browsers require rtcp-mux; we use it always.
    kept += [("rtcp-mux", None), ("candidate", candidate), ("end-of-candidates", None)]
    return replace(media, attributes=(*attributes, *kept))


_REQUIRED = ("ice-ufrag", "ice-pwd", "fingerprint", "setup")


def _value(description: SessionDescription, media: MediaDescription, key: str) -> str:
    value = media.attribute(key)
    if value is None:
        value = next((v for k, v in description.attributes if k == key), None)
    return (value or "").strip()
