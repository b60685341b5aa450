import pytest

from mediaserver.rtp.payload_types import format_parameters, wants_inband_fec


def test_fmtp_parameters_are_split_and_trimmed() -> None:
    assert format_parameters("minptime=10; useinbandfec=1;stereo=0") == {
        "minptime": "10",
        "useinbandfec": "1",
        "stereo": "0",
    }
    assert format_parameters(None) == {}


@pytest.mark.parametrize(
    ("fmtp", "wanted"),
    [("minptime=10;useinbandfec=1", True), ("useinbandfec=0", False), (None, False), ("", False)],
)
def test_inband_fec_only_for_a_receiver_that_says_so(fmtp: str | None, wanted: bool) -> None:
    """RFC 7587 §6.1: useinbandfec defaults to 0."""
    assert wants_inband_fec(fmtp) is wanted
