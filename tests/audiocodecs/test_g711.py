import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from audiocodecs import new_decoder, new_encoder
from audiocodecs.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the C implementation shipped with CPython 3.11: our independent reference

EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int16)
EVERY_CODE = np.arange(256, dtype=np.uint8)


@pytest.mark.parametrize(
    ("ours", "theirs"), [(ulaw_encode, audioop.lin2ulaw), (alaw_encode, audioop.lin2alaw)]
)
def test_encode_is_bit_exact_on_all_65536_inputs(ours, theirs) -> None:  # type: ignore[no-untyped-def]
    expected = np.frombuffer(theirs(EVERY_SAMPLE.tobytes(), 2), np.uint8)
    np.testing.assert_array_equal(ours(EVERY_SAMPLE), expected)


@pytest.mark.parametrize(
    ("ours", "theirs"), [(ulaw_decode, audioop.ulaw2lin), (alaw_decode, audioop.alaw2lin)]
)
def test_decode_is_bit_exact_on_all_256_codes(ours, theirs) -> None:  # type: ignore[no-untyped-def]
    expected = np.frombuffer(theirs(EVERY_CODE.tobytes(), 2), np.int16)
    np.testing.assert_array_equal(ours(EVERY_CODE), expected)


@pytest.mark.parametrize(("encoding", "ours"), [("u-law", ulaw_encode), ("a-law", alaw_encode)])
def test_encode_matches_sox(tmp_path: Path, encoding: str, ours) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "in.raw"
    source.write_bytes(EVERY_SAMPLE.tobytes())
    result = subprocess.run(
        [
            "sox",
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "signed",
            "-b",
            "16",
            "-c",
            "1",
            str(source),
            "-t",
            "raw",
            "-e",
            encoding,
            "-b",
            "8",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    sox = np.frombuffer(result.stdout, np.uint8)
    # sox rounds where the Sun tables truncate: they must agree except on step boundaries.
    assert np.mean(sox == ours(EVERY_SAMPLE)) > 0.95


def test_batch_shape_is_kept() -> None:
    block = np.random.default_rng(1).integers(-32768, 32767, (1000, 160)).astype(np.int16)
    codes = ulaw_encode(block)
    assert codes.shape == (1000, 160)
    np.testing.assert_array_equal(ulaw_decode(codes)[3], ulaw_decode(ulaw_encode(block[3])))


def test_codec_objects_round_trip_and_conceal() -> None:
    encoder, decoder = new_encoder("pcma"), new_decoder("PCMA")
    frame = (np.sin(np.arange(160) / 3) * 8000).astype(np.int16)
    decoded = decoder.decode(encoder.encode(frame))
    assert np.max(np.abs(decoded.astype(int) - frame)) < 300
    concealed = [decoder.conceal(160) for _ in range(4)]
    assert np.abs(concealed[0]).max() > 0
    assert np.abs(concealed[-1]).max() == 0  # faded out after 60 ms
