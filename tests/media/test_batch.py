"""The batch tick without sockets: numbers for time, recording transports, FFTs."""

import itertools
import struct
from typing import Any, cast

import numpy as np

from audiocodecs.g711 import alaw_decode, ulaw_decode, ulaw_encode
from audiocodecs.opus import OpusEncoder
from mediaserver.clock import ManualClock
from mediaserver.media.batch import BatchProcessor
from mediaserver.media.mixer import Conference
from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.rtp_socket import RtpSocket
from mediaserver.media.stream import MediaStream, StreamFormat
from mediaserver.media.tones import dtmf_frequencies
from mediaserver.media.tones import tone as dtmf_tone

from .dtmf_signals import event_ticks, tones

FORMATS = {
    "PCMU": StreamFormat("PCMU", 0, 8000, 20, 101),
    "PCMA": StreamFormat("PCMA", 8, 8000, 20, 101),
}


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(bytes(data))

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 20000)

    def close(self) -> None:
        """Nothing to release."""


def make_stream(stream_id: int, codec: str) -> MediaStream:
    sock = RtpSocket(lambda d, a: None, lambda d, a: None, True, lambda: 0.0, 8000)
    sock.connection_made(RecordingTransport())  # type: ignore[arg-type]
    sock.set_remote(("127.0.0.1", 4000 + stream_id))
    return MediaStream(stream_id, FORMATS[codec], cast(BoundPorts, None), sock, None)


def sent(stream: MediaStream) -> list[bytes]:
    return cast(RecordingTransport, stream.rtp.transport).sent


def tone(frequency: float, frame: int) -> np.ndarray:
    t = (np.arange(160) + 160 * frame) / 8000
    return (8000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def pcmu_packet(frame: int, pcm: np.ndarray) -> bytes:
    header = struct.pack("!BBHII", 0x80, 0, 100 + frame, 160 * frame, 77)
    return header + ulaw_encode(pcm).tobytes()


def peak_frequency(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * 8000 / len(pcm))


def room(batch: BatchProcessor, *members: MediaStream) -> tuple[Conference, list[Any]]:
    """A conference of `members` on the batch path; their datagram handlers."""
    conference = Conference()
    handlers = []
    for member in members:
        conference.add(member)
        handlers.append(batch.add(member))
    batch.conferences.append(conference)
    return conference, handlers


def run_ticks(batch: BatchProcessor, clock: ManualClock, feed: Any, ticks: int) -> None:
    for index in range(ticks):
        feed(index)
        clock.advance(0.02)
        batch.tick(index)


def test_many_bridged_pairs_are_transcoded_in_one_stack() -> None:
    clock = ManualClock()
    batch = BatchProcessor(clock)
    pairs = [(make_stream(2 * i, "PCMU"), make_stream(2 * i + 1, "PCMA")) for i in range(8)]
    handlers = {}
    for first, second in pairs:
        first.peer, second.peer = second, first
        handlers[first.stream_id] = batch.add(first)
        batch.add(second)

    def feed(index: int) -> None:
        for pair_index, (first, _) in enumerate(pairs):
            packet = pcmu_packet(index, tone(300 + 100 * pair_index, index))
            handlers[first.stream_id](packet, ("127.0.0.1", 9))

    run_ticks(batch, clock, feed, 30)
    for pair_index, (first, second) in enumerate(pairs):
        packets = sent(second)
        assert len(packets) >= 25
        assert {p[1] & 0x7F for p in packets} == {8}
        pcm = alaw_decode(np.frombuffer(b"".join(p[12:] for p in packets), np.uint8))
        assert abs(peak_frequency(pcm) - (300 + 100 * pair_index)) < 15
        assert sent(first) == []  # the PCMA side sent nothing, so nothing goes back


def test_outgoing_numbering_is_continuous_and_timestamps_follow_the_clock() -> None:
    clock = ManualClock()
    batch = BatchProcessor(clock)
    first, second = make_stream(1, "PCMU"), make_stream(2, "PCMU")
    first.peer, second.peer = second, first
    handler = batch.add(first)
    batch.add(second)
    run_ticks(batch, clock, lambda i: handler(pcmu_packet(i, tone(440, i)), ("", 0)), 20)
    headers = [struct.unpack_from("!BBHII", p) for p in sent(second)]
    sequence_numbers = [h[2] for h in headers]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(sequence_numbers))
    assert all((b[3] - a[3]) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(headers))
    assert headers[0][1] & 0x80  # marker opens the talkspurt
    assert not any(h[1] & 0x80 for h in headers[1:])
    assert {h[4] for h in headers} == {second.sender.ssrc}


def test_conference_members_get_minus_one_mixes() -> None:
    clock = ManualClock()
    batch = BatchProcessor(clock)
    members = [make_stream(i, "PCMU") for i in range(3)]
    _, handlers = room(batch, *members)

    def feed(index: int) -> None:
        handlers[0](pcmu_packet(index, tone(400, index)), ("", 0))
        handlers[1](pcmu_packet(index, tone(1200, index)), ("", 0))

    run_ticks(batch, clock, feed, 30)

    def heard(stream: MediaStream) -> np.ndarray:
        return ulaw_decode(np.frombuffer(b"".join(p[12:] for p in sent(stream)), np.uint8))

    assert abs(peak_frequency(heard(members[0])) - 1200) < 15
    assert abs(peak_frequency(heard(members[1])) - 400) < 15
    spectrum = np.abs(np.fft.rfft(heard(members[2]).astype(np.float64)))
    frequencies = np.fft.rfftfreq(len(heard(members[2])), 1 / 8000)
    assert sorted(round(f) for f in frequencies[np.argsort(spectrum)[-2:]]) == [400, 1200]


def test_removed_stream_leaves_no_buffered_bytes() -> None:
    clock = ManualClock()
    batch = BatchProcessor(clock)
    stream = make_stream(1, "PCMU")
    handler = batch.add(stream)
    handler(pcmu_packet(0, tone(440, 0)), ("", 0))
    assert batch.bytes_buffered() > 0
    batch.remove(stream)
    assert batch.bytes_buffered() == 0
    assert batch.stream_count() == 0


def test_a_lost_opus_packet_is_rebuilt_from_the_next_ones_fec() -> None:
    """The tone changes from 500 to 1500 Hz at the lost frame: concealment would extend the
    500 Hz, while the next packet's in-band FEC carries the lost frame's 1500 Hz."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    caller = MediaStream(
        0, StreamFormat("opus", 111, 48000, 20, None), cast(BoundPorts, None),
        make_stream(0, "PCMU").rtp, None,
    )  # fmt: skip
    callee = make_stream(1, "PCMU")
    caller.peer, callee.peer = callee, caller
    receive = batch.add(caller)
    batch.add(callee)
    encoder = OpusEncoder(8000)  # SILK: the mode that carries in-band FEC
    lost = 20

    def feed(index: int) -> None:
        if index != lost:
            payload = encoder.encode(tone(500 if index < lost else 1500, index))
            receive(struct.pack("!BBHII", 0x80, 111, index, 960 * index, 5) + payload, ("", 9))
        else:
            encoder.encode(tone(1500, index))  # encoded, as the sender did, then lost

    run_ticks(batch, clock, feed, 30)
    frames = [ulaw_decode(np.frombuffer(p[12:], np.uint8)) for p in sent(callee)]
    # Two frames of jitter-buffer delay: tick 1 plays frame 0, so frame `lost` went out
    # as packet `lost - 1`.
    assert abs(peak_frequency(frames[lost - 1]) - 500) < 50
    assert abs(peak_frequency(frames[lost]) - 1500) < 50
    assert abs(peak_frequency(frames[lost + 1]) - 1500) < 50


def test_back_to_back_rfc4733_digits_become_one_tone_each_on_a_peer_without_events() -> None:
    """A phone's digits of 160 ms, each starting as the last one's third end packet went
    (RFC 4733 §2.5.1.4), cross to a leg without telephone-event as tones: one a digit, as
    long as its event, 40 ms of silence between them even where the events left none."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    phone = make_stream(1, "PCMU")
    trunk = MediaStream(
        2, StreamFormat("PCMU", 0, 8000, 20, None), cast(BoundPorts, None),
        make_stream(2, "PCMU").rtp, None,
    )  # fmt: skip
    phone.peer, trunk.peer = trunk, phone
    handler = batch.add(phone)
    batch.add(trunk)
    ticks = event_ticks("1199", 160)

    def feed(index: int) -> None:
        handler(pcmu_packet(index, np.zeros(160, np.int16)), ("", 0))
        for packet in ticks[index]:
            handler(packet.serialize(), ("", 0))

    run_ticks(batch, clock, feed, len(ticks))
    heard = ulaw_decode(np.frombuffer(b"".join(p[12:] for p in sent(trunk)), np.uint8))
    found = tones(heard)
    assert [(digit, length) for digit, _, length in found] == [
        ("1", 160), ("1", 160), ("9", 160), ("9", 160)
    ]  # fmt: skip
    starts = [start for _, start, _ in found]
    assert [later - start for start, later in itertools.pairwise(starts)] == [200, 200, 200]


def test_a_key_still_down_when_detection_resumes_is_not_a_new_press() -> None:
    """Detection stops on a digit (the stream leaves the batch: a digit collection has its
    digit) and resumes while the caller's key is still down (the next collection began within
    the tone): the rest of that tone is the same press. Let go and pressed again, the key
    is a new press."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    caller = make_stream(1, "PCMU")
    heard: list[str] = []
    caller.digit_handler = lambda event: heard.append(event.digit)
    caller.inband_detection = True
    down = dtmf_tone(dtmf_frequencies("5"), 160 * 25, 8000.0)
    audio = np.concatenate([down[: 160 * 10], np.zeros(160 * 5, np.int16), down[160 * 10 :]])
    handlers = [batch.add(caller)]

    def feed(index: int) -> None:
        if index == 5:  # pressed at 0, confirmed by now: stop and resume, as the engine does
            assert heard == ["5"]
            batch.remove(caller)
            handlers.append(batch.add(caller))
        handlers[-1](pcmu_packet(index, audio[160 * index : 160 * (index + 1)]), ("", 0))

    run_ticks(batch, clock, feed, len(audio) // 160 + 2)
    assert heard == ["5", "5"]
