import numpy as np

from mediaserver.media.mixer import mix_all, mix_minus_one


def test_each_member_hears_everyone_but_itself() -> None:
    frames = np.array([[100] * 4, [20] * 4, [3] * 4], dtype=np.int16)
    mixed = mix_minus_one(frames)
    assert mixed.dtype == np.int16
    assert mixed[:, 0].tolist() == [23, 103, 120]


def test_mix_clips_instead_of_wrapping() -> None:
    frames = np.array([[30000], [30000], [30000]], dtype=np.int16)
    assert mix_minus_one(frames)[:, 0].tolist() == [32767, 32767, 32767]
    assert mix_all(-frames)[0] == -32768


def test_tones_of_two_members_reach_the_third() -> None:
    t = np.arange(160) / 8000
    a = (8000 * np.sin(2 * np.pi * 500 * t)).astype(np.int16)
    b = (8000 * np.sin(2 * np.pi * 1500 * t)).astype(np.int16)
    mixed = mix_minus_one(np.stack([a, b, np.zeros(160, np.int16)]))
    spectrum = np.abs(np.fft.rfft(mixed[2]))
    peaks = sorted(np.argsort(spectrum)[-2:] * 8000 / 160)
    assert peaks == [500.0, 1500.0]
    assert np.array_equal(mixed[0], b)
