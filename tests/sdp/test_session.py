from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.sdp.session import RtpMap, SdpParseError, SessionDescription

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sdp"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.sdp")), ids=lambda p: p.stem)
def test_real_offers_round_trip(path: Path) -> None:
    session = SessionDescription.parse(path.read_bytes())
    again = SessionDescription.parse(session.serialize())
    assert again == session
    assert again.serialize() == session.serialize()


def test_pjsua_offer_is_read_fully() -> None:
    session = SessionDescription.parse((FIXTURES / "pjsua.sdp").read_bytes())
    (audio,) = session.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 4000, "RTP/AVP")
    assert audio.formats == ("96", "9", "8", "0", "101")
    assert audio.rtpmaps[101] == RtpMap(101, "telephone-event", 8000)
    assert audio.fmtp(101) == "0-16"
    assert audio.attribute("rtcp") == "4001 IN IP4 192.0.2.10"
    assert session.connection_for(audio).address == "192.0.2.10"
    assert ("a=X-nat:0") in session.serialize().decode()


def test_bare_lf_and_session_level_connection() -> None:
    session = SessionDescription.parse((FIXTURES / "linphone.sdp").read_bytes())
    assert session.media[0].rtpmaps[96] == RtpMap(96, "opus", 48000, 2)
    assert b"\r\n" in session.serialize()


def test_hold_is_visible() -> None:
    session = SessionDescription.parse((FIXTURES / "asterisk-hold.sdp").read_bytes())
    assert session.connection is not None
    assert session.connection.is_hold
    assert session.media[0].direction() == "sendonly"
    assert session.media[0].ptime_ms == 20


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "v=0"),
        ("v=0\r\ns=-\r\n", "o="),
        ("v=0\r\no=- 1 x IN IP4 h\r\n", "o="),
        ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", "no c= line"),
        (
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\nm=audio x RTP/AVP 0\r\n",
            "port",
        ),
        ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IPX 1\r\n", "c="),
        ("v=0\r\nnonsense\r\n", "malformed line"),
    ],
)
def test_malformed_descriptions_say_why(text: str, reason: str) -> None:
    with pytest.raises(SdpParseError, match=reason):
        SessionDescription.parse(text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_random_text_raises_only_sdp_parse_error(text: str) -> None:
    try:
        session = SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n" + text)
    except SdpParseError:
        return
    assert SessionDescription.parse(session.serialize()).serialize() == session.serialize()
