"""A sender's packet duration is its own (RFC 3264 §5: our a=ptime:20 is only a wish): 10 ms
and 30 ms PCMU packets into a transcoded bridge come out as a continuous 20 ms PCMA tone."""

import asyncio
import struct

import numpy as np
import pytest

from audiocodecs.g711 import alaw_decode, ulaw_encode
from mediaserver.media.engine import MediaEngine
from mediaserver.media.stream import StreamMode

from .rtp_peer import open_rtp_peer, peak_frequency

RATE = 8000
TONE_HZ = 700
SECONDS = 1.2


def tone_packets(packet_ms: int) -> list[bytes]:
    samples = RATE * packet_ms // 1000
    t = np.arange(int(SECONDS * RATE)) / RATE
    codes = ulaw_encode((8000 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)).tobytes()
    return [
        struct.pack("!BBHII", 0x80, 0, index, index * samples, 0x5151)
        + codes[start : start + samples]
        for index, start in enumerate(range(0, len(codes) - samples + 1, samples))
    ]


@pytest.mark.parametrize("packet_ms", [10, 30, 60])
async def test_packets_of_any_duration_play_out_as_whole_frames(
    engine: MediaEngine, packet_ms: int
) -> None:
    caller = await engine.open_stream("PCMU")
    callee = await engine.open_stream("PCMA")
    sender, far_end = await open_rtp_peer(), await open_rtp_peer()
    engine.set_remote(callee, "127.0.0.1", far_end.port)
    engine.connect(caller, callee)
    assert caller.mode is StreamMode.BATCH
    assert sender.transport is not None
    assert far_end.transport is not None
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index, packet in enumerate(tone_packets(packet_ms)):
        # Paced against the start, not packet to packet, so sleep overshoot does not add up.
        await asyncio.sleep(max(0.0, started + index * packet_ms / 1000 - loop.time()))
        sender.transport.sendto(packet, ("127.0.0.1", caller.local_address[1]))
    await asyncio.sleep(0.3)
    engine.close_stream(caller)
    engine.close_stream(callee)
    sender.transport.close()
    far_end.transport.close()
    frames = [np.asarray(alaw_decode(np.frombuffer(p, np.uint8)), np.float64)
              for p in far_end.payloads()]  # fmt: skip
    assert all(len(frame) == 160 for frame in frames)
    # Past the first frames (the jitter buffer filling) and before the end, the 20 ms frames
    # carry the tone at its level: none silent, cut short or half concealed. Two may dip, for
    # a sender here that is an asyncio loop on a busy machine (played one packet per tick, as
    # before, 30 ms packets dip every third frame and 10 ms ones every frame).
    middle = frames[5 : int(SECONDS * 50) - 5]
    assert len(middle) > 40
    levels = [float(np.sqrt(np.mean(frame**2))) for frame in middle]
    assert sum(level < 0.8 * 8000 / np.sqrt(2) for level in levels) <= 2, levels
    assert abs(peak_frequency(np.concatenate(middle)) - TONE_HZ) < 15
