"""Our side as offerer: offers, re-offers for hold, and reading the answers (RFC 3264 §5, §8)."""

from dataclasses import replace
from typing import Any

import pytest
from aiortc import sdp as aiortc_sdp

from mediaserver.rtp.payload_types import OPUS, PCMA, PCMU, PayloadFormat
from mediaserver.sdp.offer_answer import (
    answer_offer,
    build_offer,
    build_reoffer,
    hold_direction,
    process_answer,
    resume_direction,
    revise,
)
from mediaserver.sdp.session import MediaDescription, Origin, SessionDescription
from mediaserver.sdp.stream import Capabilities, SdpNegotiationError

ORIGIN = Origin("mediaserver", "4242", 1, "192.0.2.99")
PEER = Origin("peer", "77", 5, "192.0.2.7")


def our_offer(capabilities: Capabilities = Capabilities()) -> SessionDescription:  # noqa: B008
    return build_offer(capabilities, "192.0.2.99", 30000, ORIGIN)


def peer_answer(offer: SessionDescription, *formats: PayloadFormat) -> SessionDescription:
    capabilities = Capabilities(formats=formats or (PCMU,))
    return answer_offer(offer, capabilities, "192.0.2.7", (5000,), PEER).session


def with_media(session: SessionDescription, **changes: Any) -> SessionDescription:
    media = replace(session.media[0], **changes)
    return replace(session, media=(media,))


def test_full_offer_lists_every_codec_and_matching_event_clocks() -> None:
    offer = our_offer()
    (media,) = offer.media
    assert (media.media, media.port, media.proto) == ("audio", 30000, "RTP/AVP")
    assert media.formats == ("0", "8", "96", "97", "98")
    assert [media.rtpmaps[int(pt)].encoding_name for pt in media.formats] == [
        "PCMU",
        "PCMA",
        "opus",
        "telephone-event",
        "telephone-event",
    ]
    assert (media.rtpmaps[97].clock_rate, media.rtpmaps[98].clock_rate) == (48000, 8000)
    assert media.rtpmaps[96].channels == 2  # RFC 7587 §7: always opus/48000/2
    assert (media.fmtp(96), media.fmtp(97), media.fmtp(98)) == (
        "useinbandfec=1",
        "0-16",
        "0-16",
    )
    assert (media.ptime_ms, media.direction()) == (20, "sendrecv")
    assert SessionDescription.parse(offer.serialize()) == offer


def test_narrow_offers() -> None:
    g711 = our_offer(Capabilities(formats=(PCMA, PCMU))).media[0]
    assert g711.formats == ("8", "0", "96")
    assert g711.rtpmaps[96].clock_rate == 8000  # no 48 kHz events without a 48 kHz codec
    silent = our_offer(Capabilities(formats=(OPUS,), telephone_event_rates=())).media[0]
    assert silent.formats == ("96",)


def test_answer_to_our_offer() -> None:
    offer = our_offer()
    (stream,) = process_answer(offer, peer_answer(offer, OPUS))
    assert (stream.format, stream.payload_type, stream.telephone_event_payload_type) == (
        OPUS,
        96,
        97,  # telephone-event/48000, matching Opus
    )
    assert (stream.remote_address, stream.remote_port, stream.remote_rtcp_port) == (
        "192.0.2.7",
        5000,
        5001,
    )
    assert (stream.direction, stream.local_port, stream.ptime_ms) == ("sendrecv", 30000, 20)


def test_an_answerer_may_renumber_a_dynamic_type() -> None:
    offer = our_offer()
    answered = peer_answer(offer, OPUS)
    renumbered = with_media(
        answered,
        formats=("111", "97"),
        attributes=(("rtpmap", "111 opus/48000/2"), *answered.media[0].attributes[1:]),
    )
    (stream,) = process_answer(offer, renumbered)
    assert (stream.format, stream.payload_type) == (OPUS, 111)


def test_an_answer_with_a_format_we_did_not_offer_is_refused() -> None:
    offer = our_offer(Capabilities(formats=(PCMU,)))
    answered = peer_answer(offer)
    with pytest.raises(SdpNegotiationError, match="format 8 was not offered"):
        process_answer(offer, with_media(answered, formats=("0", "8")))
    g729 = with_media(answered, formats=("18",), attributes=(("rtpmap", "18 G729/8000"),))
    with pytest.raises(SdpNegotiationError, match="format 18 was not offered"):
        process_answer(offer, g729)


def test_answers_that_break_the_model() -> None:
    offer = our_offer()
    answered = peer_answer(offer)
    with pytest.raises(SdpNegotiationError, match="one m= line per offered one"):
        process_answer(offer, replace(answered, media=()))
    with pytest.raises(SdpNegotiationError, match="media or transport"):
        process_answer(offer, with_media(answered, media="video"))
    held = build_reoffer(offer, "sendonly")
    with pytest.raises(SdpNegotiationError, match="sendrecv does not answer sendonly"):
        process_answer(held, answered)


def test_a_refused_or_codecless_answer_is_a_rejected_stream() -> None:
    offer = our_offer()
    answered = peer_answer(offer)
    (refused,) = process_answer(offer, with_media(answered, port=0))
    assert (refused.accepted, refused.rejection) == (False, "refused by the answerer")
    only_events = with_media(
        answered, formats=("98",), attributes=(("rtpmap", "98 telephone-event/8000"),)
    )
    (codecless,) = process_answer(offer, only_events)
    assert not codecless.accepted


def test_we_hold_and_resume() -> None:
    offer = our_offer()
    assert process_answer(offer, peer_answer(offer))[0].direction == "sendrecv"
    held = build_reoffer(offer, hold_direction("sendrecv"))
    assert held.origin.session_version == 2  # §8
    assert [m.formats for m in held.media] == [m.formats for m in offer.media]
    assert held.media[0].direction() == "sendonly"
    (stream,) = process_answer(held, peer_answer(held))
    assert (stream.direction, stream.remote_on_hold) == ("sendonly", False)
    resumed = build_reoffer(held, resume_direction("sendonly"))
    assert (resumed.origin.session_version, resumed.media[0].direction()) == (3, "sendrecv")
    (stream,) = process_answer(resumed, peer_answer(resumed))
    assert stream.direction == "sendrecv"


def test_hold_while_the_peer_holds_us_is_inactive() -> None:
    assert hold_direction("recvonly") == "inactive"
    assert resume_direction("inactive") == "recvonly"
    assert resume_direction("sendrecv") == "sendrecv"


def test_a_reoffer_keeps_disabled_streams_disabled() -> None:
    offer = our_offer()
    video = MediaDescription("video", 0, "RTP/AVP", ("96",))
    both = replace(offer, media=(*offer.media, video))
    reoffer = build_reoffer(both, "sendonly")
    assert reoffer.media[1] == video


def test_revise_changes_the_version_only_for_a_changed_description() -> None:
    offer = our_offer()
    same = build_offer(Capabilities(), "192.0.2.99", 30000, replace(ORIGIN, session_version=9))
    assert revise(offer, same) == offer
    moved = revise(offer, build_offer(Capabilities(), "192.0.2.99", 30002, ORIGIN))
    assert (moved.origin.session_version, moved.media[0].port) == (2, 30002)


def test_an_independent_parser_reads_our_offer_the_same() -> None:
    """aiortc's own SDP parser (a separate RFC 4566 implementation) agrees on every codec."""
    parsed = aiortc_sdp.SessionDescription.parse(our_offer().serialize().decode())
    (media,) = parsed.media
    assert (media.kind, media.port, media.profile, media.direction) == (
        "audio",
        30000,
        "RTP/AVP",
        "sendrecv",
    )
    assert [(c.name, c.clockRate, c.channels, c.payloadType) for c in media.rtp.codecs] == [
        ("PCMU", 8000, 1, 0),
        ("PCMA", 8000, 1, 8),
        ("opus", 48000, 2, 96),
        ("telephone-event", 48000, 1, 97),
        ("telephone-event", 8000, 1, 98),
    ]
    assert media.rtp.codecs[2].parameters == {"useinbandfec": 1}
