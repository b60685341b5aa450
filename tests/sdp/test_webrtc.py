"""WebRTC offer/answer: Chrome's offer negotiates Opus with telephone-event/48000 under the
UDP/TLS/RTP/SAVPF profile; its ICE and DTLS attributes are read, ours are written (ice-lite,
one host candidate, fingerprint, setup, rtcp-mux, BUNDLE), and c=0.0.0.0 is no hold."""

from dataclasses import replace
from pathlib import Path

import pytest

from mediaserver.rtp.payload_types import OPUS, PCMA, PCMU
from mediaserver.sdp.offer_answer import answer_offer, build_offer, negotiate_offer
from mediaserver.sdp.session import Origin, SessionDescription
from mediaserver.sdp.stream import WEBRTC_PROFILES, Capabilities
from mediaserver.sdp.webrtc import (
    HOST_CANDIDATE_PRIORITY,
    LocalTransport,
    WebRtcSdpError,
    is_webrtc,
    peer_transport,
    with_transport,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sdp"
WEBRTC = Capabilities(formats=(OPUS, PCMU, PCMA), profiles=WEBRTC_PROFILES)
ORIGIN = Origin("mediaserver", "4242", 1, "192.0.2.99")
LOCAL = LocalTransport("srvU", "server-password-0123456789", "AB:" * 31 + "AB", "192.0.2.99", 30000)


def chrome_offer() -> SessionDescription:
    return SessionDescription.parse((FIXTURES / "chrome-webrtc.sdp").read_bytes())


def test_chrome_offer_is_webrtc_and_negotiates_opus_with_48_khz_events() -> None:
    offer = chrome_offer()
    assert is_webrtc(offer)
    (stream,) = negotiate_offer(offer, WEBRTC)
    assert (stream.format, stream.payload_type, stream.telephone_event_payload_type) == (
        OPUS,
        111,
        110,
    )
    assert stream.rtcp_mux
    # JSEP §5.2.1: c=IN IP4 0.0.0.0 before candidates exist; not RFC 2543 hold under ICE.
    assert (stream.direction, stream.remote_on_hold) == ("sendrecv", False)


def test_a_plain_rtp_offer_is_not_webrtc_and_plain_capabilities_refuse_savpf() -> None:
    plain = SessionDescription.parse((FIXTURES / "pjsua.sdp").read_bytes())
    assert not is_webrtc(plain)
    (refused,) = negotiate_offer(chrome_offer(), Capabilities())
    assert refused.rejection == "UDP/TLS/RTP/SAVPF is not supported"


def test_the_peers_ice_and_dtls_attributes_are_read() -> None:
    peer = peer_transport(chrome_offer())
    assert (peer.ice_ufrag, peer.ice_pwd, peer.setup, peer.mid) == (
        "Vt4v",
        "qQDdMLuhr0aRmhtmJp6tnwpi",
        "actpass",
        "0",
    )
    assert peer.fingerprint[0] == "sha-256"
    assert peer.fingerprint[1].startswith("4C:12:0E:93")


@pytest.mark.parametrize("attribute", ["ice-ufrag", "ice-pwd", "fingerprint", "setup"])
def test_an_offer_without_ice_or_dtls_attributes_is_refused(attribute: str) -> None:
    offer = chrome_offer()
    media = offer.media[0]
    stripped = replace(media, attributes=tuple(a for a in media.attributes if a[0] != attribute))
    with pytest.raises(WebRtcSdpError, match=attribute):
        peer_transport(replace(offer, media=(stripped,)))


def test_session_level_attributes_count_when_the_media_has_none() -> None:
    offer = chrome_offer()
    media = offer.media[0]
    moved = ("ice-ufrag", "ice-pwd", "fingerprint")
    kept = tuple(a for a in media.attributes if a[0] not in moved)
    session = tuple(a for a in media.attributes if a[0] in moved)
    offer = replace(
        offer, attributes=(*offer.attributes, *session), media=(replace(media, attributes=kept),)
    )
    assert peer_transport(offer).ice_ufrag == "Vt4v"


def test_our_answer_carries_ice_lite_one_host_candidate_dtls_and_bundle() -> None:
    offer = chrome_offer()
    answer = answer_offer(offer, WEBRTC, "192.0.2.99", [30000], ORIGIN).session
    described = with_transport(answer, LOCAL, "passive", "0")
    text = described.serialize().decode()
    assert "a=ice-lite\r\na=group:BUNDLE 0\r\nm=audio 30000 UDP/TLS/RTP/SAVPF 111 110\r\n" in text
    media = described.media[0]
    assert media.attribute("mid") == "0"
    assert (media.attribute("ice-ufrag"), media.attribute("ice-pwd")) == (
        "srvU",
        "server-password-0123456789",
    )
    assert media.attribute("fingerprint") == f"sha-256 {LOCAL.fingerprint}"
    assert media.attribute("setup") == "passive"
    assert media.attribute("candidate") == (
        f"1 1 udp {HOST_CANDIDATE_PRIORITY} 192.0.2.99 30000 typ host"
    )
    assert [key for key, _ in media.attributes].count("rtcp-mux") == 1
    assert media.has_attribute("end-of-candidates")
    assert SessionDescription.parse(described.serialize()) == described


def test_our_offer_to_a_browser_uses_the_webrtc_profile_and_actpass() -> None:
    offer = with_transport(build_offer(WEBRTC, "192.0.2.99", 30000, ORIGIN), LOCAL, "actpass", "0")
    media = offer.media[0]
    assert (media.proto, media.formats[0], media.attribute("setup")) == (
        "UDP/TLS/RTP/SAVPF",
        "96",
        "actpass",
    )
    assert media.rtpmaps[96].encoding_name == "opus"
    assert is_webrtc(offer)


def test_refused_streams_stay_out_of_the_transport_attributes() -> None:
    offer = chrome_offer()
    video = replace(offer.media[0], media="video")
    offer = replace(offer, media=(offer.media[0], video))
    answer = answer_offer(offer, WEBRTC, "192.0.2.99", [30000], ORIGIN).session
    described = with_transport(answer, LOCAL, "passive", "0")
    assert described.media[1].port == 0
    assert not described.media[1].has_attribute("candidate")
