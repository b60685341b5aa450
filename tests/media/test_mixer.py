import asyncio
import itertools
from types import SimpleNamespace
from typing import cast

import numpy as np

from mediaserver.media.floor import HOLD_TICKS, FloorTracker
from mediaserver.media.mixer import Conference, RoomSound, mix_all, mix_minus_one, mix_rooms
from mediaserver.media.stream import MediaStream
from mediaserver.media.tones import SampleSource


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


def _stream(stream_id: int) -> MediaStream:
    return cast(MediaStream, SimpleNamespace(stream_id=stream_id, in_conference=False))


def _rooms(*sizes: int) -> tuple[list[Conference], dict[int, int]]:
    conferences, row_of, ids = [], {}, itertools.count()
    for size in sizes:
        conference = Conference()
        for _ in range(size):
            stream_id = next(ids)
            conference.add(_stream(stream_id))
            row_of[stream_id] = stream_id
        conferences.append(conference)
    return conferences, row_of


def test_rooms_mix_apart_in_one_pass() -> None:
    conferences, row_of = _rooms(3, 2)
    inputs = np.array([[1], [10], [100], [1000], [10000]], dtype=np.int16)
    mixed = mix_rooms(conferences, row_of, inputs, np.ones(5, np.bool_))
    heard = dict(zip(mixed.rows, mixed.heard[:, 0].tolist(), strict=True))
    assert heard == {0: 110, 1: 101, 2: 11, 3: 10000, 4: 1000}


def test_muted_member_is_not_heard_and_deaf_member_hears_silence() -> None:
    [room], row_of = _rooms(3)
    room.muted.add(0)
    room.deaf.add(2)
    inputs = np.array([[7], [20], [300]], dtype=np.int16)
    mixed = mix_rooms([room], row_of, inputs, np.ones(3, np.bool_))
    assert mixed.heard[:, 0].tolist() == [320, 300, 0]


def test_a_quiet_member_adds_nothing() -> None:
    [room], row_of = _rooms(3)
    inputs = np.array([[7], [20], [300]], dtype=np.int16)
    mixed = mix_rooms([room], row_of, inputs, np.array([True, False, True]))
    assert mixed.heard[:, 0].tolist() == [300, 307, 7]


async def test_room_sound_is_mixed_over_the_talk_and_recorded() -> None:
    [room], row_of = _rooms(2)
    beep = np.full(160, 5, np.int16)
    room.sounds.append(RoomSound(SampleSource(beep), asyncio.get_running_loop().create_future()))
    recorded: list[np.ndarray] = []
    room.sink = SimpleNamespace(write_frame=recorded.append)  # type: ignore[assignment]
    inputs = np.full((2, 160), 100, np.int16)
    inputs[1] = 30
    mixed = mix_rooms([room], row_of, inputs, np.ones(2, np.bool_))
    assert mixed.heard[:, 0].tolist() == [35, 105]
    assert recorded[0][0] == 135


def test_saturation_after_subtracting_own_voice() -> None:
    [room], row_of = _rooms(3)
    inputs = np.array([[30000], [30000], [-30000]], dtype=np.int16)
    mixed = mix_rooms([room], row_of, inputs, np.ones(3, np.bool_))
    # The loud pair's sum clips, but each of them hears the other minus the third exactly.
    assert mixed.heard[:, 0].tolist() == [0, 0, 32767]


def test_the_floor_goes_to_the_member_loud_longest_and_stays_through_silence() -> None:
    [room], row_of = _rooms(3)
    taken: list[int] = []
    room.floor = FloorTracker(lambda stream: taken.append(stream.stream_id))
    speech = np.full((3, 160), 20, np.int16)
    speech[1] = 3000
    for tick in range(HOLD_TICKS):
        assert taken == [], tick
        mix_rooms([room], row_of, speech, np.ones(3, np.bool_))
    assert taken == [1]
    speech[1], speech[2] = 0, -2000
    for _ in range(HOLD_TICKS - 1):  # not long enough yet
        mix_rooms([room], row_of, speech, np.ones(3, np.bool_))
    mix_rooms([room], row_of, np.zeros((3, 160), np.int16), np.ones(3, np.bool_))
    assert taken == [1]
    room.muted.add(2)  # a muted member never takes the floor
    for _ in range(2 * HOLD_TICKS):
        mix_rooms([room], row_of, speech, np.ones(3, np.bool_))
    assert taken == [1]
    room.muted.clear()
    for _ in range(HOLD_TICKS):
        mix_rooms([room], row_of, speech, np.ones(3, np.bool_))
    assert taken == [1, 2]
