import subprocess

import numpy as np
import pytest

from mediaserver.media.audio_file import read_audio
from mediaserver.media.vad import VoiceActivityDetector


def feed(detector: VoiceActivityDetector, samples: np.ndarray) -> list[bool]:
    states = []
    for start in range(0, len(samples) - 159, 160):
        detector.write_frame(samples[start : start + 160])
        states.append(detector.is_speech)
    return states


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    wav = tmp_path_factory.mktemp("vad") / "speech.wav"
    text = "The quick brown fox jumps over the lazy dog"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True)
    return np.trim_zeros(read_audio(wav))  # espeak-ng ends with silence of its own


def last_speech_frame(speech: np.ndarray, noise_rms: float, hangover_frames: int) -> int:
    """Speech then two seconds of line noise: the last frame reported as speech."""
    detector = VoiceActivityDetector(hangover_frames=hangover_frames)
    noise = np.random.default_rng(3).normal(0, noise_rms, 8000 * 2).astype(np.int16)
    states = feed(detector, np.concatenate([speech, noise]))
    assert np.mean(states[: len(speech) // 160]) > 0.6
    assert detector.silence_seconds >= 1.9
    return len(states) - 1 - states[::-1].index(True)


@pytest.mark.parametrize("noise_rms", [3.0, 300.0])  # near silence; about -41 dBm0 of hiss
def test_speech_then_silence_with_hangover(speech: np.ndarray, noise_rms: float) -> None:
    without = last_speech_frame(speech, noise_rms, hangover_frames=0)
    assert without < len(speech) // 160 + 50  # the noise floor rises to the hiss in a second
    assert last_speech_frame(speech, noise_rms, hangover_frames=10) == without + 10


def test_quiet_line_is_silence_once_the_noise_model_settles() -> None:
    detector = VoiceActivityDetector(hangover_frames=10)
    noise = np.random.default_rng(4).normal(0, 300, 8000 * 3).astype(np.int16)
    states = feed(detector, noise)
    # webrtcvad calls the first few frames speech while it learns the noise floor.
    assert detector.speech_seconds <= 0.1
    assert not any(states[20:])
    assert detector.silence_seconds > 2.8
