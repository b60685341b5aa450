from mediaserver.rtp.jitter_buffer import JitterBuffer
from mediaserver.rtp.packet import RtpPacket


def packet(sequence_number: int) -> RtpPacket:
    return RtpPacket(0, sequence_number & 0xFFFF, 160 * sequence_number, 1, b"x" * 160)


def played(buffer: JitterBuffer, ticks: int, start: float = 1.0) -> list[int | None]:
    out = []
    for tick in range(ticks):
        got = buffer.pop(start + tick * 0.02)
        out.append(None if got is None else got.sequence_number)
    return out


def test_reorders_and_drops_duplicates() -> None:
    buffer = JitterBuffer(8000, min_delay_frames=2)
    for sequence_number in (10, 12, 11, 11, 13):
        buffer.push(packet(sequence_number), 0.0)
    assert buffer.duplicates == 1
    assert played(buffer, 4) == [10, 11, 12, 13]


def test_lost_packet_is_reported_as_none_and_late_one_dropped() -> None:
    buffer = JitterBuffer(8000, min_delay_frames=1)
    for sequence_number in (1, 2, 4):
        buffer.push(packet(sequence_number), 0.0)
    assert played(buffer, 3) == [1, 2, None]
    buffer.push(packet(3), 0.1)
    assert buffer.late == 1
    assert played(buffer, 1) == [4]
    assert buffer.lost == 1


def test_sequence_wrap() -> None:
    buffer = JitterBuffer(8000, min_delay_frames=1)
    for sequence_number in (65534, 65535, 65536, 65537):
        buffer.push(packet(sequence_number), 0.0)
    assert played(buffer, 4) == [65534, 65535, 0, 1]


def test_delay_is_bounded_and_bytes_counted() -> None:
    buffer = JitterBuffer(8000, max_delay_frames=5)
    for sequence_number in range(20):
        buffer.push(packet(sequence_number), 0.0)
    assert len(buffer) <= 6
    assert buffer.bytes_buffered == 160 * len(buffer)


def test_target_delay_grows_with_jitter() -> None:
    steady, jittery = JitterBuffer(8000), JitterBuffer(8000)
    for n in range(200):
        steady.push(packet(n), n * 0.02)
        jittery.push(packet(n), n * 0.02 + (0.03 if n % 2 else 0.0))
    assert steady.target_delay_frames == 1
    assert jittery.target_delay_frames >= 3


def test_new_sequence_base_resynchronises() -> None:
    buffer = JitterBuffer(8000)
    buffer.push(packet(100), 0.0)
    played(buffer, 1)
    buffer.push(packet(30000), 0.1)
    assert buffer.resyncs == 1
    assert played(buffer, 1) == [30000]


def test_delay_bounds_follow_the_senders_packet_duration() -> None:
    buffer = JitterBuffer(8000)  # 20 ms frames, at most 10 buffered: 200 ms
    buffer.set_packet_ms(10)
    # Two packets make a frame, and one more waits, so a frame never waits for its second.
    assert (buffer.min_delay_frames, buffer.max_delay_frames) == (3, 20)
    assert buffer.target_delay_frames == 3
    buffer.set_packet_ms(30)
    assert (buffer.min_delay_frames, buffer.max_delay_frames) == (1, 7)
    buffer.set_packet_ms(20)
    assert (buffer.min_delay_frames, buffer.max_delay_frames) == (1, 10)


def test_after_a_loss_peek_shows_the_packet_that_follows() -> None:
    buffer = JitterBuffer(8000, min_delay_frames=2)
    for sequence_number in (1, 3):
        buffer.push(packet(sequence_number), 0.0)
    assert played(buffer, 2) == [1, None]
    following = buffer.peek()
    assert following is not None
    assert following.sequence_number == 3
    buffer.set_packet_ms(10)  # a delay of two 20 ms frames stays two frames, in packets
    assert buffer.min_delay_frames == 5


def test_the_standing_delay_a_burst_leaves_drains_back_toward_the_target() -> None:
    """A sender stalls for 200 ms, then sends the ten frames at once and carries on: the
    buffer must not keep those 200 ms for the rest of the call."""
    buffer = JitterBuffer(8000)
    now, sequence_number, queued = 0.0, 0, []
    for tick in range(600):  # 12 s of 20 ms ticks
        now = tick * 0.02
        if tick == 100:
            sequence_number += 10  # the stall: nothing for ten ticks...
        elif tick == 110:
            for late in range(sequence_number - 10, sequence_number):
                buffer.push(packet(late), now)  # ...then all of it at once
        if tick < 100 or tick >= 110:
            buffer.push(packet(sequence_number), now)
            sequence_number += 1
        buffer.pop(now)
        queued.append(len(buffer))
    assert max(queued[110:130]) >= 9  # the burst was queued
    assert max(queued[-100:]) <= buffer.target_delay_frames + 2  # and drained
    assert 0 < buffer.discarded <= 10
    steady = JitterBuffer(8000)
    for tick in range(600):
        steady.push(packet(tick), tick * 0.02)
        steady.pop(tick * 0.02)
    assert steady.discarded == 0  # a steady stream loses nothing
