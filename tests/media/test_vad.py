import subprocess
from pathlib import Path

import numpy as np

from mediaserver.media.audio_file import read_audio
from mediaserver.media.vad import VoiceActivityDetector


def feed(detector: VoiceActivityDetector, samples: np.ndarray) -> list[bool]:
    states = []
    for start in range(0, len(samples) - 159, 160):
        detector.write_frame(samples[start : start + 160])
        states.append(detector.is_speech)
    return states


def test_speech_is_speech_and_silence_is_not(tmp_path: Path) -> None:
    wav = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "The quick brown fox jumps over the lazy dog"], check=True
    )
    speech = read_audio(wav)
    detector = VoiceActivityDetector()
    assert np.mean(feed(detector, speech)) > 0.6
    quiet = np.random.default_rng(3).normal(0, 3, 8000 * 2).astype(np.int16)
    states = feed(detector, quiet)
    assert not states[-1]
    assert detector.silence_seconds >= 1.9
