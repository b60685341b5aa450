"""Reordering and 5 % loss on the way in: the far side still hears the tone.

A Python sender plays a 1 kHz PCMU tone at the real 20 ms pace, dropping 5 % of the packets
(fixed seed) and swapping neighbours now and then; the test counts the gaps and FFTs what the
far side of the engine receives, on the relay path and on the batch path.
"""

import asyncio
import itertools
import random
import struct

import numpy as np
import pytest

from audiocodecs.g711 import alaw_decode, ulaw_decode, ulaw_encode
from mediaserver.media.engine import MediaEngine
from mediaserver.media.stream import StreamMode

from .rtp_peer import RtpPeer, open_rtp_peer, peak_frequency

PACKETS = 100
LOSS = 0.05
TONE_HZ = 1000


def impaired_tone_packets(seed: int = 7) -> list[bytes]:
    """The tone as PCMU packets, 5 % dropped, some neighbours swapped (send order)."""
    t = np.arange(PACKETS * 160) / 8000
    codes = ulaw_encode((10000 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)).tobytes()
    packets = [
        struct.pack("!BBHII", 0x80, 0, 60000 + i, 160 * i, 0x1234) + codes[160 * i : 160 * i + 160]
        for i in range(PACKETS)
    ]
    generator = random.Random(seed)
    kept = [p for p in packets if generator.random() >= LOSS]
    for index in range(0, len(kept) - 1, 9):
        kept[index], kept[index + 1] = kept[index + 1], kept[index]
    return kept


async def send_paced(sender: RtpPeer, port: int, packets: list[bytes]) -> None:
    assert sender.transport is not None
    for packet in packets:
        sender.transport.sendto(packet, ("127.0.0.1", port))
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)


def sequence_gaps(packets: list[bytes]) -> int:
    numbers = sorted({struct.unpack_from("!H", p, 2)[0] for p in packets})
    return sum((b - a) & 0xFFFF != 1 for a, b in itertools.pairwise(numbers))


def in_sequence_order(packets: list[bytes]) -> bytes:
    first = struct.unpack_from("!H", packets[0], 2)[0]
    numbered = sorted((((struct.unpack_from("!H", p, 2)[0] - first + 100) & 0xFFFF), p[12:])
                      for p in packets)  # fmt: skip
    return b"".join(payload for _, payload in numbered)


@pytest.mark.parametrize(
    ("callee_codec", "mode"), [("PCMU", StreamMode.RELAY), ("PCMA", StreamMode.BATCH)]
)
async def test_tone_survives_loss_and_reordering(
    engine: MediaEngine, callee_codec: str, mode: StreamMode
) -> None:
    caller = await engine.open_stream("PCMU")
    callee = await engine.open_stream(callee_codec)
    sender, far_end = await open_rtp_peer(), await open_rtp_peer()
    engine.set_remote(callee, "127.0.0.1", far_end.port)
    engine.connect(caller, callee)
    assert caller.mode is mode
    packets = impaired_tone_packets()
    await send_paced(sender, caller.local_address[1], packets)
    assert sender.transport is not None
    assert far_end.transport is not None
    sender.transport.close()
    far_end.transport.close()
    received = far_end.packets
    assert len(received) >= 0.9 * PACKETS
    # Lost input is either a sequence gap (relay: the far side's jitter buffer sees the loss)
    # or a concealed frame (batch: our jitter buffer filled it); never more gaps than losses.
    assert sequence_gaps(received) <= PACKETS - len(packets)
    decode = ulaw_decode if callee_codec == "PCMU" else alaw_decode
    pcm = decode(np.frombuffer(in_sequence_order(received), np.uint8))
    assert abs(peak_frequency(pcm) - TONE_HZ) < 20
