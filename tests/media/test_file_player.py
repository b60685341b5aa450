import numpy as np
import pytest

from mediaserver.media.file_player import FilePlayer


def frames(player: FilePlayer, limit: int = 100) -> list[np.ndarray]:
    out = []
    while len(out) < limit and (frame := player.read_frame()) is not None:
        out.append(frame)
    return out


def test_plays_loop_times_then_stops() -> None:
    samples = np.arange(1, 241, dtype=np.int16)  # 1.5 frames
    played = np.concatenate(frames(FilePlayer(samples, loop=2)))
    assert len(played) == 480
    np.testing.assert_array_equal(played, np.concatenate([samples, samples]))


def test_loop_zero_repeats_forever() -> None:
    assert len(frames(FilePlayer(np.ones(100, np.int16), loop=0), limit=50)) == 50


def test_negative_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="loop"):
        FilePlayer(np.ones(10, np.int16), loop=-1)
