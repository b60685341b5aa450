"""The engine's packet count, the question a leg's media check asks every second."""

from mediaserver.media.engine import MediaEngine
from mediaserver.media.stream import StreamMode

from .test_engine import bridged, rtp, settle


async def test_the_count_is_the_statistics_first_figure_without_the_rest(
    engine: MediaEngine,
) -> None:
    first, second, caller, callee = await bridged(engine)
    assert first.mode is StreamMode.RELAY
    for sequence_number in (1, 2, 3):
        caller.send_to(first, rtp(sequence_number, 160 * sequence_number, b"\xff" * 160))
    caller.send_to(first, b"\x40" * 12)  # not RTP: dropped, not counted
    await settle()
    assert engine.packets_received(first) == 3
    assert engine.packets_received(second) == 0
    assert len(callee.received) == 3
    assert engine.stream_statistics(first).packets_received == 3
    engine.close_stream(first)
    engine.close_stream(second)
