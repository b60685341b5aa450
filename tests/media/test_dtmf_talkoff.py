"""Talk-off: no digits from at least 10 minutes of speech, nor from music-like signals."""

import subprocess

import numpy as np
import pytest

from mediaserver.media.audio_file import read_audio
from mediaserver.media.dtmf_detector import DtmfDetector
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE

PARAGRAPHS = {
    "en-us": "Thank you for calling. Please listen carefully, as our menu options have changed. "
    "For billing questions, stay on the line. Your call is important to us, and a representative "
    "will be with you shortly. Did you know that you can manage your account online at any time?",
    "en-gb": "Good afternoon and welcome. The quick brown fox jumps over the lazy dog while the "
    "committee discusses the budget for next year. Remember to bring your umbrella tomorrow.",
    "fr-fr": "Bonjour et bienvenue. Nous vous remercions de votre patience. Un conseiller va "
    "prendre votre appel dans quelques instants. Veuillez ne pas raccrocher.",
    "de": "Guten Tag. Herzlich willkommen beim Kundendienst. Alle Mitarbeiter sind im Gespräch. "
    "Bitte haben Sie etwas Geduld, wir sind gleich für Sie da.",
    "es": "Buenos días. Gracias por llamar. Todas nuestras líneas están ocupadas en este momento. "
    "Por favor, espere y será atendido en breve.",
    "it": "Buongiorno. Grazie per aver chiamato il nostro servizio clienti. Restate in linea.",
    "pt-br": "Olá, obrigado por ligar. Sua chamada é muito importante para nós. Aguarde na linha.",
    "nl": "Goedemiddag. Bedankt voor uw geduld. Een medewerker helpt u zo snel mogelijk verder.",
}
VARIANTS = ("+m1", "+m3", "+m7", "+f1", "+f3", "+f4", "+klatt", "+croak")
SPEEDS = (130, 175)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    directory = tmp_path_factory.mktemp("talkoff")
    pieces = []
    for n, (language, text) in enumerate(PARAGRAPHS.items()):
        for variant in VARIANTS:
            for speed in SPEEDS:
                wav = directory / f"{n}{variant}{speed}.wav"
                subprocess.run(
                    ["espeak-ng", "-v", language + variant, "-s", str(speed), "-w", str(wav), text],
                    check=True,
                )
                pieces.append(read_audio(wav))
    return np.concatenate(pieces)


def count_digits(signal: np.ndarray, streams: int = 64) -> int:
    """Cut the signal into `streams` rows and run them through the detector together."""
    length = len(signal) // (streams * FRAME_SAMPLES) * FRAME_SAMPLES
    rows = signal[: streams * length].reshape(streams, length)
    detector = DtmfDetector()
    ids = list(range(streams))
    found = 0
    for start in range(0, length, FRAME_SAMPLES):
        found += sum(
            d is not None for d in detector.detect(ids, rows[:, start : start + FRAME_SAMPLES])
        )
    return found


def test_no_digits_from_ten_minutes_of_speech(speech: np.ndarray) -> None:
    minutes = len(speech) / SAMPLE_RATE / 60
    assert minutes >= 10
    for gain in (0.25, 1.0, 3.0):
        louder = np.clip(speech * gain, -32768, 32767).astype(np.int16)
        assert count_digits(louder) == 0


def music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Chords of harmonic notes (equal temperament), with sweeps and noise between."""
    t = np.arange(int(SAMPLE_RATE * 0.25)) / SAMPLE_RATE
    envelope = np.exp(-3 * t)
    pieces = []
    for _ in range(int(seconds / 0.25)):
        notes = 220 * 2 ** (rng.integers(0, 36, 3) / 12)
        chord = sum(np.sin(2 * np.pi * f * k * t) / k for f in notes for k in range(1, 5))
        pieces.append(4000 * chord * envelope)
    sweep_t = np.arange(SAMPLE_RATE * 5) / SAMPLE_RATE
    pieces.append(8000 * np.sin(2 * np.pi * (300 * sweep_t + 150 * sweep_t**2)))
    pieces.append(rng.normal(0, 3000, SAMPLE_RATE * 5))
    return np.clip(np.concatenate(pieces), -32768, 32767).astype(np.int16)


def test_no_digits_from_music_like_signals() -> None:
    assert count_digits(music(240, np.random.default_rng(5))) == 0
