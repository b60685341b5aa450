from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.sdp.session import (
    Connection,
    RtcpAddress,
    RtpMap,
    SdpParseError,
    SessionDescription,
    Timing,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sdp"
HEAD = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"


def fixture(name: str) -> SessionDescription:
    return SessionDescription.parse((FIXTURES / name).read_bytes())


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("**/*.sdp")), ids=lambda p: p.stem)
def test_fixtures_round_trip(path: Path) -> None:
    session = SessionDescription.parse(path.read_bytes())
    again = SessionDescription.parse(session.serialize())
    assert again == session
    assert again.serialize() == session.serialize()


@pytest.mark.parametrize("name", ["pjsua.sdp", "asterisk.sdp", "chrome-webrtc.sdp"])
def test_crlf_fixtures_serialize_to_their_own_bytes(name: str) -> None:
    assert fixture(name).serialize() == (FIXTURES / name).read_bytes()


def test_pjsua_offer_is_read_fully() -> None:
    session = fixture("pjsua.sdp")
    (audio,) = session.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 4000, "RTP/AVP")
    assert audio.formats == ("96", "9", "8", "0", "101")
    assert audio.rtpmaps[101] == RtpMap(101, "telephone-event", 8000)
    assert audio.fmtp(101) == "0-16"
    assert audio.fmtp(0) is None
    assert audio.rtcp == RtcpAddress(4001, Connection("192.0.2.10"))
    assert not audio.rtcp_mux
    assert audio.other_lines == (("b", "AS:64000"),)
    assert session.other_lines == (("b", "AS:84"),)
    assert session.attributes == (("X-nat", "0"),)
    assert session.connection_for(audio) == Connection("192.0.2.10")


def test_chrome_offer_keeps_ice_and_dtls_attributes_in_order() -> None:
    session = fixture("chrome-webrtc.sdp")
    (audio,) = session.media
    names = [name for name, _ in audio.attributes]
    assert names[:8] == [
        "rtcp",
        "ice-ufrag",
        "ice-pwd",
        "ice-options",
        "fingerprint",
        "setup",
        "mid",
        "extmap",
    ]
    assert audio.proto == "UDP/TLS/RTP/SAVPF"
    assert audio.rtpmaps[111] == RtpMap(111, "opus", 48000, 2)
    assert audio.rtpmaps[110].clock_rate == 48000
    assert audio.rtpmaps[126].clock_rate == 8000
    assert audio.rtcp == RtcpAddress(9, Connection("0.0.0.0"))
    assert audio.rtcp_mux
    assert audio.attribute("ice-pwd") == "qQDdMLuhr0aRmhtmJp6tnwpi"
    assert session.attributes[0] == ("group", "BUNDLE 0")
    assert session.attributes[1] == ("extmap-allow-mixed", None)


def test_bare_lf_and_session_level_connection() -> None:
    session = fixture("linphone.sdp")
    assert session.media[0].rtpmaps[96] == RtpMap(96, "opus", 48000, 2)
    assert session.connection_for(session.media[0]) == Connection("192.0.2.30")
    assert session.serialize().count(b"\r\n") == len(session.serialize().splitlines())


def test_trailing_white_space_and_blank_lines_are_tolerated() -> None:
    text = HEAD.replace("\r\n", "  \r\n") + "\r\nm=audio 4000 RTP/AVP 0 \r\na=ptime:20 \r\n\r\n"
    (audio,) = SessionDescription.parse(text).media
    assert (audio.formats, audio.ptime_ms) == (("0",), 20)


def test_hold_is_visible_at_both_levels() -> None:
    session = fixture("asterisk-hold.sdp")
    assert session.connection is not None
    assert session.connection.is_hold
    assert session.media[0].direction() == "sendonly"
    assert (session.media[0].ptime_ms, session.media[0].maxptime_ms) == (20, 150)
    on_hold = SessionDescription.parse(HEAD + "a=inactive\r\nm=audio 4000 RTP/AVP 0\r\n")
    assert on_hold.direction == "inactive"
    assert on_hold.media[0].direction(on_hold.direction) == "inactive"
    assert on_hold.media[0].with_direction("recvonly").direction("inactive") == "recvonly"
    assert Connection("::", "IP6").is_hold


def test_ipv6_connection_and_static_type_without_rtpmap() -> None:
    session = fixture("sipp-ipv6.sdp")
    assert session.connection == Connection("2001:db8::10", "IP6")
    assert session.media[0].formats == ("8",)
    assert session.media[0].rtpmaps == {}


def test_port_count_profiles_and_fractional_ptime() -> None:
    text = (
        HEAD
        + "m=audio 49170/2 RTP/AVP 0\r\na=ptime:20.0\r\n"
        + "m=audio 49180 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
        + "m=audio 49190 RTP/SAVPF 0\r\na=ptime:fast\r\n"
        + "m=application 9 TCP/MSRP *\r\n"
    )
    session = SessionDescription.parse(text)
    first, srtp, feedback, msrp = session.media
    assert (first.port, first.port_count, first.ptime_ms) == (49170, 2, 20)
    assert srtp.attribute("crypto") == "1 AES_CM_128_HMAC_SHA1_80 inline:x"
    assert (feedback.proto, feedback.ptime_ms) == ("RTP/SAVPF", None)
    assert msrp.formats == ("*",)
    assert b"m=audio 49170/2 RTP/AVP 0\r\n" in session.serialize()


def test_every_session_level_line_survives_in_rfc_order() -> None:
    text = (
        "v=0\no=alice 2890844526 2890842807 IN IP4 10.47.16.5\ns=SDP Seminar\n"
        "i=A Seminar\nu=http://www.example.com/seminars/sdp.pdf\ne=j.doe@example.com (Jane)\n"
        "p=+1 617 555-6011\nc=IN IP4 224.2.17.12/127\nb=CT:128\n"
        "t=2873397496 2873404696\nr=7d 1h 0 25h\nt=3034423619 3042462419\nr=604800 3600 0\n"
        "z=2882844526 -1h 2898848070 0\nk=clear:secret\na=recvonly\n"
        "m=audio 49170 RTP/AVP 0\ni=voice\nb=AS:64\nk=prompt\n"
    )
    session = SessionDescription.parse(text)
    assert session.timing == (
        Timing("2873397496 2873404696", ("7d 1h 0 25h",)),
        Timing("3034423619 3042462419", ("604800 3600 0",)),
    )
    assert session.connection is not None
    assert session.connection.host == "224.2.17.12"
    assert session.serialize() == text.replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "v=0"),
        ("v=1\r\n", "v=0"),
        ("v=0\r\ns=-\r\n", "o="),
        ("v=0\r\no=- 1 x IN IP4 h\r\n", "o="),
        ("v=0\r\no=- 1 ² IN IP4 h\r\n", "o="),
        ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", "no c= line"),
        (HEAD + "m=audio x RTP/AVP 0\r\n", "port"),
        (HEAD + "m=audio ² RTP/AVP 0\r\n", "port"),
        (HEAD + "m=audio 65536 RTP/AVP 0\r\n", "port"),
        (HEAD + "m=audio 4000/0 RTP/AVP 0\r\n", "port count"),
        (HEAD + "m=audio 4000\r\n", "m= line"),
        (HEAD + "m=audio 4000 RTP/AVP\r\n", "no formats"),
        (HEAD + "m=audio 4000 RTP/AVP 128\r\n", "payload type"),
        (HEAD + "m=audio 4000 RTP/AVP PCMU\r\n", "payload type"),
        (HEAD + "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n", "rtpmap"),
        (HEAD + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:200 PCMU/8000\r\n", "rtpmap"),
        (HEAD + "m=audio 4000 RTP/AVP 0\r\na=rtcp:port\r\n", "rtcp"),
        (HEAD + "m=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4\r\n", "rtcp"),
        (HEAD + "m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n", "c="),
        ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IPX 1\r\n", "c="),
        ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nr=7d 1h 0 25h\r\n", "r= line"),
        ("v=0\r\nnonsense\r\n", "malformed line"),
    ],
)
def test_malformed_descriptions_say_why(text: str, reason: str) -> None:
    with pytest.raises(SdpParseError, match=reason) as caught:
        SessionDescription.parse(text)
    assert caught.value.reason == str(caught.value)


def test_a_refused_stream_may_list_no_formats() -> None:
    session = SessionDescription.parse(HEAD + "m=video 0 RTP/AVP\r\n")
    assert session.media[0].formats == ()
    assert session.media[0].lines()[0] == "m=video 0 RTP/AVP"


def assert_stable(text: str) -> None:
    try:
        session = SessionDescription.parse(text)
    except SdpParseError:
        return
    once = session.serialize()
    assert SessionDescription.parse(once) == session
    assert SessionDescription.parse(once).serialize() == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_raises_only_sdp_parse_error(text: str) -> None:
    assert_stable("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n" + text)


SDP_LINE = st.tuples(
    st.sampled_from("vosiuepcbtrzkam"),
    st.one_of(
        st.sampled_from(
            [
                "0",
                "IN IP4 192.0.2.1",
                "IN IP6 ::",
                "audio 4000 RTP/AVP 0 8 101",
                "video 0 RTP/AVP 96",
                "audio 9 UDP/TLS/RTP/SAVPF 111",
                "rtpmap:101 telephone-event/8000",
                "rtpmap:111 opus/48000/2",
                "fmtp:101 0-16",
                "rtcp:4001 IN IP4 192.0.2.1",
                "rtcp-mux",
                "sendonly",
                "ptime:20",
                "- 1 2 IN IP4 h",
                "0 0",
            ]
        ),
        st.text(max_size=30),
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(SDP_LINE, max_size=20), st.sampled_from(["\r\n", "\n"]))
def test_random_sdp_shaped_lines_parse_or_say_why(lines: list[tuple[str, str]], end: str) -> None:
    body = end.join(f"{kind}={value}" for kind, value in lines)
    assert_stable(f"v=0{end}o=- 1 1 IN IP4 192.0.2.1{end}" + body)
