import contextlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.rtp.payload_types import OPUS, PCMA, PCMU, PayloadFormat
from mediaserver.sdp.offer_answer import (
    Answer,
    answer_offer,
    build_offer,
    negotiate_offer,
    process_answer,
    revise,
)
from mediaserver.sdp.session import Origin, SdpParseError, SessionDescription
from mediaserver.sdp.stream import Capabilities, SdpNegotiationError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sdp"
ORIGIN = Origin("mediaserver", "4242", 1, "192.0.2.99")
ADDRESS = "192.0.2.99"
HEAD = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"


def fixture(name: str) -> SessionDescription:
    return SessionDescription.parse((FIXTURES / name).read_bytes())


def answer(
    offer: SessionDescription | str,
    capabilities: Capabilities = Capabilities(),  # noqa: B008 (frozen, so sharing is safe)
    ports: tuple[int, ...] = (30000,),
) -> Answer:
    if isinstance(offer, str):
        offer = fixture(offer) if offer.endswith(".sdp") else SessionDescription.parse(HEAD + offer)
    return answer_offer(offer, capabilities, ADDRESS, ports, ORIGIN)


GOLDEN = [
    # fixture, capabilities, (codec, payload type, telephone-event), remote address, remote
    # port, remote RTCP port, our direction, remote on hold
    ("pjsua.sdp", (), (PCMU, 0, 101), "192.0.2.10", 4000, 4001, "sendrecv", False),
    ("asterisk.sdp", (), (PCMU, 0, 101), "192.0.2.40", 17932, 17933, "sendrecv", False),
    ("asterisk-hold.sdp", (), (PCMU, 0, 101), "0.0.0.0", 11902, 11903, "recvonly", True),
    ("baresip-opus.sdp", (), (OPUS, 116, 101), "192.0.2.20", 10814, 10814, "sendrecv", False),
    ("linphone.sdp", (), (PCMU, 0, 100), "192.0.2.30", 7078, 7079, "sendrecv", False),
    ("linphone.sdp", (OPUS, PCMU), (OPUS, 96, 101), "192.0.2.30", 7078, 7079, "sendrecv", False),
    ("sipp-ipv6.sdp", (), (PCMA, 8, None), "2001:db8::10", 6000, 6001, "sendrecv", False),
]


@pytest.mark.parametrize(
    ("name", "formats", "chosen", "address", "port", "rtcp_port", "direction", "on_hold"),
    GOLDEN,
)
def test_golden_offers(
    name: str,
    formats: tuple[PayloadFormat, ...],
    chosen: tuple[PayloadFormat, int, int | None],
    address: str,
    port: int,
    rtcp_port: int,
    direction: str,
    on_hold: bool,
) -> None:
    result = answer(name, Capabilities(formats=formats or (PCMU, PCMA, OPUS)))
    (stream,) = result.streams
    assert (stream.format, stream.payload_type, stream.telephone_event_payload_type) == chosen
    assert (stream.remote_address, stream.remote_port, stream.remote_rtcp_port) == (
        address,
        port,
        rtcp_port,
    )
    assert (stream.direction, stream.remote_on_hold, stream.local_port) == (
        direction,
        on_hold,
        30000,
    )
    assert result.acceptable
    assert result.reason == ""
    (media,) = result.session.media
    assert media.formats == tuple(str(pt) for pt in chosen[1:] if pt is not None)
    assert media.direction() == direction


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.sdp")), ids=lambda p: p.stem)
def test_golden_answers(path: Path) -> None:
    """The whole answer to each device's offer, byte for byte (fixtures/sdp/answers/)."""
    expected = (FIXTURES / "answers" / path.name).read_bytes()
    assert answer(path.name).session.serialize() == expected


def test_offerer_order_when_configured() -> None:
    (stream,) = answer("pjsua.sdp", Capabilities(prefer_offerer_order=True)).streams
    assert (stream.format, stream.payload_type) == (PCMA, 8)


def test_opus_keeps_the_offered_dynamic_type_and_states_our_own_parameters() -> None:
    result = answer("baresip-opus.sdp")
    (stream,) = result.streams
    assert stream.fmtp == "stereo=1;sprop-stereo=1"  # what the peer said, for its decoder
    media = result.session.media[0]
    assert media.rtpmaps[116].encoding_name == "opus"
    assert media.fmtp(116) == "useinbandfec=1"  # we send mono: no sprop-stereo echo
    assert media.fmtp(101) == "0-15"  # the events both sides know (RFC 4733 §7.1.1)
    assert media.rtcp_mux
    assert stream.rtcp_mux


def test_telephone_event_only_at_the_codec_clock() -> None:
    offer = (
        "m=audio 4000 RTP/AVP 0 110 126\r\na=rtpmap:110 telephone-event/48000\r\n"
        "a=rtpmap:126 telephone-event/8000\r\na=fmtp:126 0-16,32-63\r\n"
    )
    assert answer(offer).streams[0].telephone_event_payload_type == 126
    assert answer(offer).session.media[0].fmtp(126) == "0-16"
    only_wideband = "m=audio 4000 RTP/AVP 0 110\r\na=rtpmap:110 telephone-event/48000\r\n"
    (stream,) = answer(only_wideband).streams
    assert stream.telephone_event_payload_type is None
    assert answer(only_wideband).session.media[0].formats == ("0",)
    no_events = answer("pjsua.sdp", Capabilities(telephone_event_rates=())).session
    assert no_events.media[0].formats == ("0",)


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        ("sendrecv", "sendrecv"),
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
    ],
)
def test_answer_direction_at_media_and_session_level(offered: str, expected: str) -> None:
    for text in (
        f"m=audio 4000 RTP/AVP 0\r\na={offered}\r\n",
        f"a={offered}\r\nm=audio 4000 RTP/AVP 0\r\n",  # session level
    ):
        result = answer(text)
        assert result.streams[0].direction == expected
        assert result.session.media[0].direction() == expected
        assert result.streams[0].remote_on_hold == (offered in ("sendonly", "inactive"))


def test_rfc2543_hold_with_a_zero_address() -> None:
    offer = SessionDescription.parse(
        HEAD.replace("192.0.2.1\r\nt", "0.0.0.0\r\nt") + "m=audio 4000 RTP/AVP 0\r\n"
    )
    (stream,) = answer(offer).streams
    assert (stream.direction, stream.remote_on_hold) == ("recvonly", True)


def test_hold_and_unhold_by_the_peer_revise_our_version() -> None:
    offer = fixture("pjsua.sdp")
    first = answer(offer).session
    held_offer = replace(offer, media=(offer.media[0].with_direction("sendonly"),))
    held = revise(first, answer(held_offer).session)
    assert (held.origin.session_version, held.media[0].direction()) == (2, "recvonly")
    resumed = revise(held, answer(offer).session)
    assert (resumed.origin.session_version, resumed.media[0].direction()) == (3, "sendrecv")
    assert revise(resumed, answer(offer).session) == resumed  # §8: unchanged, same version
    assert resumed.origin.session_id == ORIGIN.session_id


def test_only_video_is_refused_with_port_zero() -> None:
    result = answer("video-only.sdp")
    assert not result.acceptable
    assert result.reason == "video streams are not supported"
    assert [(m.media, m.port) for m in result.session.media] == [("video", 0)]


def test_webrtc_offer_is_refused_without_dtls_srtp() -> None:
    result = answer("chrome-webrtc.sdp")
    assert not result.acceptable
    assert result.reason == "UDP/TLS/RTP/SAVPF is not supported"
    assert result.session.media[0].port == 0


@pytest.mark.parametrize(
    ("offer", "formats", "listed"),
    [
        ("baresip-opus.sdp", (PCMU, PCMA), "opus telephone-event"),
        ("m=audio 4000 RTP/AVP 0\r\n", (OPUS,), "0"),
        ("pjsua.sdp", (OPUS,), "speex G722 PCMA PCMU telephone-event"),
    ],
)
def test_no_common_codec_flags_488(
    offer: str, formats: tuple[PayloadFormat, ...], listed: str
) -> None:
    result = answer(offer, Capabilities(formats=formats))
    assert not result.acceptable
    assert result.reason == f"no common codec in {listed}"
    assert result.session.media[0].port == 0


def test_an_empty_offer_is_not_acceptable() -> None:
    result = answer(SessionDescription.parse(HEAD))
    assert (result.acceptable, result.reason, result.session.media) == (
        False,
        "no media streams offered",
        (),
    )


def test_refused_streams_keep_their_line_and_place() -> None:
    offer = (
        "m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        "m=audio 0 RTP/AVP 0\r\n"
        "m=audio 4000 RTP/SAVP 0\r\n"
        "m=audio 4002 RTP/AVP 8\r\n"
    )
    result = answer(offer)
    assert [m.port for m in result.session.media] == [0, 0, 0, 30000]
    assert [s.rejection for s in result.streams] == [
        "video streams are not supported",
        "stream disabled by the offerer",
        "RTP/SAVP is not supported",
        "",
    ]
    assert [m.media for m in result.session.media] == ["video", "audio", "audio", "audio"]


def test_ports_per_audio_stream() -> None:
    offer = "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 8\r\n"
    one, two = answer(offer).streams
    assert (one.local_port, two.accepted, two.rejection) == (
        30000,
        False,
        "one audio stream per call",
    )
    result = answer(offer, ports=(30000, 30002))
    assert [m.port for m in result.session.media] == [30000, 30002]
    assert [s.format for s in result.streams] == [PCMU, PCMA]


def test_negotiation_needs_no_ports() -> None:
    (stream,) = negotiate_offer(fixture("pjsua.sdp"), Capabilities())
    assert (stream.format, stream.local_port) == (PCMU, 0)


def test_ptime_is_what_the_peer_asked_for() -> None:
    (stream,) = answer("m=audio 4000 RTP/AVP 0\r\na=ptime:30\r\n").streams
    assert stream.ptime_ms == 30
    result = answer("m=audio 4000 RTP/AVP 0\r\n", Capabilities(ptime_ms=40))
    assert result.streams[0].ptime_ms == 40
    assert result.session.media[0].ptime_ms == 40


def test_our_answer_is_ipv6_when_our_address_is() -> None:
    offer = fixture("sipp-ipv6.sdp")
    result = answer_offer(offer, Capabilities(), "2001:db8::99", (30000,), ORIGIN)
    assert result.session.connection is not None
    assert str(result.session.connection) == "IN IP6 2001:db8::99"


OFFERED_CODECS = st.sampled_from(
    [
        "0 PCMU/8000",
        "8 PCMA/8000",
        "9 G722/8000",
        "18 G729/8000",
        "96 opus/48000/2",
        "111 OPUS/48000",
        "97 speex/16000",
        "101 telephone-event/8000",
        "110 telephone-event/48000",
        "100 telephone-event/16000",
        "3 GSM/8000",
    ]
)
DIRECTION = st.sampled_from(["", "a=sendrecv\r\n", "a=sendonly\r\n", "a=recvonly\r\n"])


@st.composite
def offers(draw: st.DrawFn) -> SessionDescription:
    blocks = []
    for _ in range(draw(st.integers(0, 3))):
        codecs = {c.split()[0]: c for c in draw(st.lists(OFFERED_CODECS, max_size=6))}
        media = draw(st.sampled_from(["audio", "audio", "video"]))
        port = draw(st.sampled_from([0, 4000, 5000]))
        formats = " ".join(codecs) or "0"
        rtpmaps = "".join(f"a=rtpmap:{c}\r\n" for c in codecs.values())
        blocks.append(f"m={media} {port} RTP/AVP {formats}\r\n{rtpmaps}{draw(DIRECTION)}")
    return SessionDescription.parse(HEAD + "".join(blocks))


@settings(max_examples=300, deadline=None)
@given(
    offers(),
    st.permutations([PCMU, PCMA, OPUS]).map(tuple),
    st.booleans(),
    st.sampled_from([(), (8000,), (8000, 48000)]),
)
def test_any_offer_gets_a_well_formed_answer(
    offer: SessionDescription,
    formats: tuple[PayloadFormat, ...],
    offerer_order: bool,
    rates: tuple[int, ...],
) -> None:
    capabilities = Capabilities(formats[:2], 20, rates, offerer_order)
    result = answer(offer, capabilities)
    assert len(result.session.media) == len(offer.media)
    assert SessionDescription.parse(result.session.serialize()) == result.session
    assert sum(s.accepted for s in result.streams) <= 1
    for offered, answered, stream in zip(
        offer.media, result.session.media, result.streams, strict=True
    ):
        assert answered.media == offered.media
        if not stream.accepted:
            assert answered.port == 0
            continue
        assert stream.format in capabilities.formats
        assert set(answered.formats) <= set(offered.formats)  # the offer's numbers (§6.1)
        event = stream.telephone_event_payload_type
        if event is not None:
            assert offered.rtpmaps[event].clock_rate == stream.format.clock_rate
            assert offered.rtpmaps[event].clock_rate in rates


ANY_LINE = st.tuples(
    st.sampled_from("csbtamk"),
    st.sampled_from(
        [
            "IN IP4 0.0.0.0",
            "IN IP6 2001:db8::1",
            "audio 4000 RTP/AVP 0 8 96 101",
            "audio 4000 RTP/AVPF 111 126",
            "audio 0 RTP/AVP 0",
            "image 4000 udptl t38",
            "rtpmap:96 opus/48000/2",
            "rtpmap:111 opus/48000",
            "rtpmap:101 telephone-event/8000",
            "rtpmap:126 telephone-event/48000",
            "rtpmap:0 PCMA/8000",
            "fmtp:101 x",
            "rtcp:4001",
            "rtcp-mux",
            "inactive",
            "recvonly",
            "ptime:0",
            "ptime:999999999",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_LINE, max_size=14))
def test_any_parsed_description_can_be_answered_or_read_as_an_answer(
    lines: list[tuple[str, str]],
) -> None:
    try:
        session = SessionDescription.parse(HEAD + "".join(f"{k}={v}\r\n" for k, v in lines))
    except SdpParseError:
        return
    result = answer(session)
    assert result.acceptable == any(s.accepted for s in result.streams)
    ours = build_offer(Capabilities(), ADDRESS, 30000, ORIGIN)
    with contextlib.suppress(SdpNegotiationError):
        for stream in process_answer(ours, session):
            assert stream.format is None or stream.format in (PCMU, PCMA, OPUS)
