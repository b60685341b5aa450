"""Answering-machine detection: the timing rules over synthetic voiced/silent frames (with
hypothesis), then the detector on real speech (espeak-ng) with the project's VAD in front."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaserver.media.audio_file import read_audio
from mediaserver.media.machine_detector import (
    DetectionSettings,
    MachineDetector,
    Outcome,
    SpeechTiming,
    Verdict,
)

DEFAULTS = DetectionSettings()


def run(flags: list[bool], settings: DetectionSettings = DEFAULTS) -> Verdict | None:
    timing = SpeechTiming(settings)
    for voiced in flags:
        timing.observe(voiced)
    return timing.verdict


def speech(ms: int) -> list[bool]:
    return [True] * (ms // 20)


def silence(ms: int) -> list[bool]:
    return [False] * (ms // 20)


@given(st.lists(st.booleans(), max_size=400))
def test_a_verdict_never_changes_and_comes_within_the_analysis_time(flags: list[bool]) -> None:
    timing = SpeechTiming(DEFAULTS)
    first = None
    for voiced in flags:
        verdict = timing.observe(voiced)
        first = first or verdict
        assert verdict == first
    if len(flags) * 20 >= DEFAULTS.analysis_ms:
        assert first is not None
    if first is not None:
        assert first.after_ms <= DEFAULTS.analysis_ms


@given(st.integers(min_value=100, max_value=1500), st.integers(min_value=0, max_value=1000))
def test_a_short_greeting_then_a_pause_is_a_human(greeting_ms: int, answer_delay_ms: int) -> None:
    greeting_ms -= greeting_ms % 20
    answer_delay_ms -= answer_delay_ms % 20
    flags = silence(answer_delay_ms) + speech(greeting_ms) + silence(2000)
    verdict = run(flags)
    assert verdict is not None
    assert (verdict.outcome, verdict.reason) == (Outcome.HUMAN, "silence after greeting")
    assert verdict.after_ms == answer_delay_ms + greeting_ms + DEFAULTS.after_greeting_silence_ms


@given(st.integers(min_value=1520, max_value=4000))
def test_a_greeting_longer_than_the_initial_greeting_is_a_machine(greeting_ms: int) -> None:
    verdict = run(speech(greeting_ms) + silence(2000))
    assert verdict is not None
    assert (verdict.outcome, verdict.reason) == (Outcome.MACHINE, "long greeting")
    assert verdict.after_ms == DEFAULTS.greeting_ms + 20  # decided as soon as it is too long


@given(st.integers(min_value=100, max_value=700))
def test_short_pauses_keep_the_greeting_going(pause_ms: int) -> None:
    """Pauses shorter than machine_detection_silence are between words, not its end."""
    pause_ms -= pause_ms % 20
    flags = (speech(600) + silence(pause_ms)) * 4
    verdict = run(flags)
    assert verdict is not None
    assert verdict.outcome is Outcome.MACHINE


def test_more_words_than_the_maximum_is_a_machine() -> None:
    words = (speech(200) + silence(160)) * 4  # 4 words in 1.44 s: within the greeting time
    verdict = run(words)
    assert verdict is not None
    assert (verdict.outcome, verdict.reason) == (Outcome.MACHINE, "maximum words")
    assert verdict.after_ms == 3 * 360 + 100  # the fourth word, once it is one


def test_a_blip_shorter_than_a_word_is_no_greeting() -> None:
    timing = SpeechTiming(DEFAULTS)
    for voiced in silence(500) + speech(60) + silence(1000):
        timing.observe(voiced)
    assert timing.words == 0
    assert timing.verdict is None


def test_one_stretch_of_speech_beyond_the_maximum_length_is_a_machine() -> None:
    settings = DetectionSettings(greeting_ms=5000, maximum_speech_ms=1000)
    verdict = run(speech(3000), settings)
    assert verdict is not None
    assert (verdict.outcome, verdict.reason) == (Outcome.MACHINE, "maximum speech length")
    assert verdict.after_ms == 1020


def test_nobody_speaking_is_not_sure_after_the_initial_silence() -> None:
    verdict = run(silence(6000))
    assert verdict == Verdict(Outcome.NOT_SURE, "initial silence", DEFAULTS.initial_silence_ms)


def test_no_decision_within_the_analysis_time_is_not_sure() -> None:
    settings = DetectionSettings(analysis_ms=2000, greeting_ms=5000)
    words = (speech(200) + silence(300)) * 2  # pauses shorter than 800 ms
    verdict = run(words + speech(1200), settings)  # the third word goes on
    assert verdict == Verdict(Outcome.NOT_SURE, "analysis time", 2000)


def test_time_out_decides_when_no_frames_come() -> None:
    timing = SpeechTiming(DEFAULTS)
    timing.observe(True)
    assert timing.time_out() == Verdict(Outcome.NOT_SURE, "analysis time", 20)
    assert timing.observe(True) == timing.time_out()  # decided once


def synthesize(tmp_path: Path, text: str) -> np.ndarray:
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True)
    return np.trim_zeros(read_audio(wav))


def detect(samples: np.ndarray) -> Verdict | None:
    """The callee picks up, 200 ms of line silence, then `samples`, then silence."""
    detector = MachineDetector(DEFAULTS)
    quiet = np.random.default_rng(5).normal(0, 3, 8000 * 5).astype(np.int16)
    line = np.concatenate([quiet[:1600], samples, quiet])
    for start in range(0, len(line) - 159, 160):
        detector.write_frame(line[start : start + 160])
        if detector.verdict is not None:
            break
    return detector.verdict


@pytest.mark.parametrize("text", ["Hello?", "Yes, hello"])
def test_a_spoken_hello_is_a_human(tmp_path: Path, text: str) -> None:
    verdict = detect(synthesize(tmp_path, text))
    assert verdict is not None
    assert verdict.outcome is Outcome.HUMAN
    assert verdict.after_ms < 2500


def test_a_recorded_greeting_is_a_machine(tmp_path: Path) -> None:
    greeting = synthesize(
        tmp_path,
        "Hi you have reached the voicemail of Robert Smith and I cannot take your call "
        "right now so please leave your name and number after the tone",
    )
    assert len(greeting) >= 4 * 8000
    verdict = detect(greeting)
    assert verdict is not None
    assert verdict.outcome is Outcome.MACHINE
    assert verdict.after_ms < 2500  # early: long before the greeting ends
