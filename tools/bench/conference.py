"""Conference mixing cost: CPU per member per 20 ms tick, beside relaying that member's packets.

Synthetic PCMU members on the batch path (no sockets; output dropped, as in batch.py), every
member speaking a voice-like signal, rooms mixed by the engine's one-pass minus-one mix:
rooms of 3, 10 and 100 members, and 100 rooms of 5. The member's cost is the whole tick
(receive, jitter buffer, decode, mix, encode, packetise) divided by the members.

References in the same run: the relay fast path forwarding one packet (what a member of a
plain bridged call costs per tick and direction, no decode), and a bridged PCMU pair on the
batch path (decode and encode, no mix). Goal: 1,000 G.711 members per core, the budget of
bridged calls, i.e. at most 20 us per member per tick.

Wideband rooms, same shapes: a room with an Opus member mixes at 16 kHz (mixer.py
room_rate). Two compositions, printed beside the 8 kHz PCMU room of the same shape: one Opus
member and the rest PCMU (the G.711 members pay the 8 <-> 16 kHz resampling), and Opus
members only (libopus decodes and encodes at 16 kHz; the peers send full-band Opus).

Then one room through real sockets, our server a process of its own and the members SIPp
calls fed by a generator process: tools/bench/conference_room.py.
"""

import time

from audiocodecs.g711 import ulaw_encode
from mediaserver.clock import SystemClock
from mediaserver.media.batch import BatchProcessor
from mediaserver.media.frame import FRAME_MS
from mediaserver.media.mixer import Conference
from mediaserver.media.relay import RelayDirection
from mediaserver.media.stream import MediaStream
from tools.bench.batch import (
    OPUS_COMPLEXITY,
    OPUS_PAYLOAD_TYPE,
    bench_stream,
    g711_frames,
    measure_ticks,
    opus_frames,
    rtp_packet,
)
from tools.bench.conference_room import members_through_sockets

TICK_SECONDS = FRAME_MS / 1000
GOAL_MEMBERS_PER_CORE = 1000
SHAPES = ((1, 3), (1, 10), (1, 100), (100, 5))  # (rooms, members per room)
RELAYED_PACKETS = 20_000


def run() -> None:
    print("synthetic PCMU members, no sockets; CPU = process time per tick, best of 3 rounds")
    relay = _relay_seconds_per_packet()
    bridged = _bridged_seconds_per_stream()
    print(f"reference: relay fast path {relay * 1e6:.2f} us per packet; batch path bridged "
          f"PCMU pair {bridged * 1e6:.1f} us per stream per tick")  # fmt: skip
    narrow: dict[tuple[int, int], float] = {}
    for rooms, size in SHAPES:
        per_member = narrow[rooms, size] = _conference_seconds_per_member(rooms, size, 0)
        members_per_core = int(TICK_SECONDS / per_member)
        print(f"RESULT {rooms:>3} room(s) of {size:>3}: {per_member * 1e6:5.1f} us per member "
              f"per tick ({per_member / relay:4.1f}x relaying its packet); "
              f"{members_per_core:,} per core (goal {GOAL_MEMBERS_PER_CORE:,})")  # fmt: skip
    print("wideband rooms: us per member per tick, 8 kHz PCMU room | 16 kHz rooms (ratio)")
    for rooms, size in SHAPES:
        one_opus = _conference_seconds_per_member(rooms, size, 1)
        all_opus = _conference_seconds_per_member(rooms, size, size)
        base = narrow[rooms, size]
        print(f"RESULT 16 kHz {rooms:>3} room(s) of {size:>3}: PCMU at 8 kHz {base * 1e6:5.1f}"
              f" | 1 Opus + {size - 1} PCMU {one_opus * 1e6:5.1f} ({one_opus / base:4.1f}x)"
              f" | all Opus {all_opus * 1e6:5.1f} ({all_opus / base:4.1f}x); "
              f"{int(TICK_SECONDS / all_opus):,} Opus members per core")  # fmt: skip
    members_through_sockets()


def _conference_seconds_per_member(rooms: int, size: int, opus_members: int) -> float:
    """Rooms of `size` whose first `opus_members` members speak Opus, the others PCMU."""
    batch = BatchProcessor(SystemClock(), opus_complexity=OPUS_COMPLEXITY)
    streams: list[MediaStream] = []
    for _ in range(rooms):
        conference = Conference()
        batch.conferences.append(conference)
        for member in range(size):
            if member < opus_members:
                stream = bench_stream(batch, len(streams), "opus", OPUS_PAYLOAD_TYPE, 48000)
            else:
                stream = bench_stream(batch, len(streams), "PCMU", 0, 8000)
            conference.add(stream)
            streams.append(stream)
    return _per_stream(batch, streams)


def _bridged_seconds_per_stream() -> float:
    batch = BatchProcessor(SystemClock())
    streams: list[MediaStream] = []
    for index in range(50):
        first = bench_stream(batch, 2 * index, "PCMU", 0, 8000)
        second = bench_stream(batch, 2 * index + 1, "PCMU", 0, 8000)
        first.peer, second.peer = second, first
        streams += [first, second]
    return _per_stream(batch, streams)


def _per_stream(batch: BatchProcessor, streams: list[MediaStream]) -> float:
    frames = {"PCMU": g711_frames(ulaw_encode), "opus": opus_frames()}

    def payload(stream: MediaStream, tick: int) -> bytes:
        of_codec = frames[stream.format.codec]
        return of_codec[(tick + stream.stream_id) % len(of_codec)]

    return measure_ticks(batch, streams, payload) / len(streams)


def _relay_seconds_per_packet() -> float:
    batch = BatchProcessor(SystemClock())
    source = bench_stream(batch, 0, "PCMU", 0, 8000)
    target = bench_stream(batch, 1, "PCMU", 0, 8000)
    source.peer, target.peer = target, source
    relay = RelayDirection(source, target)
    frames = g711_frames(ulaw_encode)
    packets = [
        rtp_packet(source, tick, frames[tick % len(frames)]) for tick in range(RELAYED_PACKETS)
    ]
    started = time.process_time()
    for packet in packets:
        relay.forward(packet, ("127.0.0.1", 9))
    return (time.process_time() - started) / RELAYED_PACKETS
