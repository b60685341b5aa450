import subprocess
from pathlib import Path

import numpy as np
import pytest

from mediaserver.media.audio_file import AudioFileError, AudioWriter, read_audio
from mediaserver.media.tones import tone


def peak_hz(samples: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.mark.parametrize("suffix", ["wav", "mp3"])
def test_mono_round_trip_keeps_the_tone(tmp_path: Path, suffix: str) -> None:
    writer = AudioWriter(tmp_path / f"rec.{suffix}")
    for n in range(100):
        writer.write(tone((1000.0,), 160, 8000, 160 * n))
    path = writer.close()
    samples = read_audio(path)
    assert abs(len(samples) - 16000) < 2000  # MP3 adds encoder padding
    assert abs(peak_hz(samples) - 1000) < 5


@pytest.mark.parametrize("suffix", ["wav", "mp3"])
def test_stereo_keeps_the_legs_apart(tmp_path: Path, suffix: str) -> None:
    writer = AudioWriter(tmp_path / f"rec.{suffix}", channels=2)
    for n in range(50):
        writer.write(tone((500.0,), 160, 8000, 160 * n), tone((1500.0,), 160, 8000, 160 * n))
    path = writer.close()
    result = subprocess.run(
        ["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "2", "-"],
        capture_output=True,
        check=True,
    )
    channels = np.frombuffer(result.stdout, np.int16).reshape(-1, 2)
    assert abs(peak_hz(channels[:, 0]) - 500) < 5
    assert abs(peak_hz(channels[:, 1]) - 1500) < 5


def test_file_appears_only_when_closed(tmp_path: Path) -> None:
    final = tmp_path / "rec.wav"
    writer = AudioWriter(final)
    writer.write(tone((440.0,), 160, 8000))
    assert not final.exists()
    writer.close()
    assert final.exists()
    assert list(tmp_path.iterdir()) == [final]


@pytest.mark.parametrize(
    ("encoding", "rate"), [("u-law", 8000), ("a-law", 8000), ("signed", 16000)]
)
def test_reads_wav_encodings_at_any_rate(tmp_path: Path, encoding: str, rate: int) -> None:
    path = tmp_path / "in.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            str(rate),
            "-e",
            encoding,
            "-b",
            "8" if "law" in encoding else "16",
            "-c",
            "2",
            str(path),
            "synth",
            "1",
            "sine",
            "800",
        ],
        check=True,
    )
    samples = read_audio(path, sample_rate=8000)
    assert abs(len(samples) - 8000) < 100
    assert abs(peak_hz(samples) - 800) < 5


def test_unreadable_and_unwritable_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioFileError):
        read_audio(bad)
    with pytest.raises(AudioFileError, match="ogg"):
        AudioWriter(tmp_path / "x.ogg")
