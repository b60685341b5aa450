from pathlib import Path

import pytest

from mediaserver.rtp.payload_types import OPUS, PCMA, PCMU
from mediaserver.sdp.offer_answer import (
    Capabilities,
    SdpNegotiationError,
    answer_offer,
    build_offer,
    next_version,
    process_answer,
)
from mediaserver.sdp.session import Origin, SessionDescription

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sdp"
ORIGIN = Origin("mediaserver", "4242", 1, "192.0.2.99")


def offer(name: str) -> SessionDescription:
    return SessionDescription.parse((FIXTURES / name).read_bytes())


def test_pjsua_gets_our_first_choice_with_its_telephone_event() -> None:
    answer, (stream,) = answer_offer(
        offer("pjsua.sdp"), Capabilities(), "192.0.2.99", 30000, ORIGIN
    )
    assert (stream.format, stream.payload_type, stream.telephone_event_payload_type) == (
        PCMU,
        0,
        101,
    )
    assert (stream.remote_address, stream.remote_port, stream.direction) == (
        "192.0.2.10",
        4000,
        "sendrecv",
    )
    (media,) = answer.media
    assert media.formats == ("0", "101")
    assert media.port == 30000
    assert answer.connection is not None
    assert answer.connection.address == "192.0.2.99"


def test_offerer_order_when_configured() -> None:
    _, (stream,) = answer_offer(
        offer("pjsua.sdp"), Capabilities(prefer_offerer_order=True), "192.0.2.99", 30000, ORIGIN
    )
    assert stream.format == PCMA


def test_opus_only_offer_keeps_its_dynamic_payload_types_and_rtcp_mux() -> None:
    answer, (stream,) = answer_offer(
        offer("baresip-opus.sdp"), Capabilities(), "192.0.2.99", 30000, ORIGIN
    )
    assert (stream.format, stream.payload_type, stream.telephone_event_payload_type) == (
        OPUS,
        116,
        101,
    )
    media = answer.media[0]
    assert media.rtpmaps[116].encoding_name == "opus"
    assert media.fmtp(116) == "stereo=1;sprop-stereo=1"
    assert media.has_attribute("rtcp-mux")


def test_telephone_event_follows_the_codec_clock() -> None:
    _, (stream,) = answer_offer(
        offer("linphone.sdp"), Capabilities(formats=(OPUS,)), "192.0.2.99", 1, ORIGIN
    )
    assert stream.telephone_event_payload_type == 101  # the 48000 one for Opus
    _, (stream,) = answer_offer(
        offer("linphone.sdp"), Capabilities(formats=(PCMU,)), "192.0.2.99", 1, ORIGIN
    )
    assert stream.telephone_event_payload_type == 100  # the 8000 one for PCMU


def test_hold_offer_gets_recvonly_and_is_flagged() -> None:
    answer, (stream,) = answer_offer(
        offer("asterisk-hold.sdp"), Capabilities(), "192.0.2.99", 1, ORIGIN
    )
    assert stream.remote_on_hold
    assert stream.direction == "recvonly"
    assert answer.media[0].direction() == "recvonly"


@pytest.mark.parametrize("name", ["video-only.sdp", "chrome-webrtc.sdp"])
def test_nothing_acceptable_is_a_negotiation_error(name: str) -> None:
    with pytest.raises(SdpNegotiationError):
        answer_offer(offer(name), Capabilities(), "192.0.2.99", 1, ORIGIN)


def test_no_common_codec_is_a_negotiation_error() -> None:
    with pytest.raises(SdpNegotiationError):
        answer_offer(
            offer("baresip-opus.sdp"), Capabilities(formats=(PCMU, PCMA)), "192.0.2.99", 1, ORIGIN
        )


def test_refused_streams_keep_their_line_with_port_zero() -> None:
    text = (
        FIXTURES / "pjsua.sdp"
    ).read_bytes() + b"m=video 5002 RTP/AVP 96\r\nc=IN IP4 192.0.2.10\r\na=rtpmap:96 H264/90000\r\n"
    answer, streams = answer_offer(
        SessionDescription.parse(text), Capabilities(), "192.0.2.99", 1, ORIGIN
    )
    assert [m.port for m in answer.media] == [1, 0]
    assert [s.accepted for s in streams] == [True, False]


def test_our_offer_and_its_answer() -> None:
    ours = build_offer(Capabilities(), "192.0.2.99", 30000, ORIGIN)
    media = ours.media[0]
    assert [media.rtpmaps[int(pt)].encoding_name for pt in media.formats] == [
        "PCMU",
        "PCMA",
        "opus",
        "telephone-event",
        "telephone-event",
    ]
    their_answer, _ = answer_offer(ours, Capabilities(formats=(OPUS,)), "192.0.2.7", 5000, ORIGIN)
    (stream,) = process_answer(ours, their_answer)
    assert (stream.format, stream.remote_port, stream.telephone_event_payload_type) == (
        OPUS,
        5000,
        97,  # telephone-event/48000, matching Opus
    )
    assert next_version(ORIGIN).session_version == 2


def test_answer_with_a_format_we_did_not_offer_is_refused() -> None:
    ours = build_offer(Capabilities(formats=(PCMU,)), "192.0.2.99", 30000, ORIGIN)
    with pytest.raises(SdpNegotiationError):
        process_answer(ours, offer("baresip-opus.sdp"))
