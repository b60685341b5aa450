"""Default reason phrases (RFC 3261 §21) and the class fallback of §8.1.3.2."""

import pytest

from mediaserver.sip.status import REASON_PHRASES, is_final, is_provisional, reason_phrase


def test_known_codes() -> None:
    assert reason_phrase(100) == "Trying"
    assert reason_phrase(200) == "OK"
    assert reason_phrase(423) == "Interval Too Brief"
    assert reason_phrase(481) == "Call/Transaction Does Not Exist"
    assert reason_phrase(505) == "Version Not Supported"


def test_unknown_code_takes_its_class_phrase() -> None:
    assert reason_phrase(299) == "OK"
    assert reason_phrase(499) == "Bad Request"
    assert reason_phrase(699) == "Busy Everywhere"


@pytest.mark.parametrize("code", [0, 99, 700, 4294967301])
def test_codes_outside_the_range_are_refused(code: int) -> None:
    with pytest.raises(ValueError, match="outside 100-699"):
        reason_phrase(code)


def test_every_registered_phrase_is_single_line_text() -> None:
    for code, phrase in REASON_PHRASES.items():
        assert 100 <= code <= 699
        assert phrase
        assert "\r" not in phrase
        assert "\n" not in phrase


def test_provisional_and_final() -> None:
    assert is_provisional(180)
    assert not is_final(180)
    assert is_final(200)
    assert is_final(699)
    assert not is_provisional(200)
