"""Players, recorders, conferences and DTMF through the engine, over real sockets."""

import asyncio
import struct

import numpy as np

from audiocodecs.g711 import ulaw_encode
from mediaserver.media.dtmf_detector import DtmfDetector
from mediaserver.media.engine import MediaEngine
from mediaserver.media.stream import DtmfMethod, DtmfReceived, MediaStream, StreamMode

from .dtmf_signals import tones
from .rtp_peer import RtpPeer, open_rtp_peer, peak_frequency

EVENT_PT = 101


class ToneSource:
    """A finite MediaSource: `frames` frames of a sine, then None."""

    def __init__(self, frequency: float, frames: int) -> None:
        t = np.arange(frames * 160) / 8000
        self._pcm = (8000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
        self._position = 0

    def read_frame(self) -> np.ndarray | None:
        if self._position >= len(self._pcm):
            return None
        frame = self._pcm[self._position : self._position + 160]
        self._position += 160
        return frame


class FrameSink:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write_frame(self, pcm: np.ndarray) -> None:
        self.frames.append(pcm.copy())


def tone_packet(index: int, frequency: float, payload_type: int = 0) -> bytes:
    t = (np.arange(160) + 160 * index) / 8000
    codes = ulaw_encode((8000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16))
    return struct.pack("!BBHII", 0x80, payload_type, index, 160 * index, 99) + codes.tobytes()


async def attached(engine: MediaEngine, **kwargs: int) -> tuple[MediaStream, RtpPeer]:
    peer = await open_rtp_peer()
    stream = await engine.open_stream("PCMU", **kwargs)
    engine.set_remote(stream, "127.0.0.1", peer.port)
    return stream, peer


async def test_play_sends_the_source_and_reports_its_end(engine: MediaEngine) -> None:
    stream, peer = await attached(engine)
    done = engine.play(stream, ToneSource(700, 10))
    assert stream.mode is StreamMode.BATCH
    assert await asyncio.wait_for(done, 2) is True
    assert stream.mode is StreamMode.IDLE
    assert len(peer.packets) == 10
    assert peer.packets[0][1] & 0x80  # RFC 3551 §4.1: marker on the first packet of a talkspurt
    assert abs(peak_frequency(peer.audio()) - 700) < 30


async def test_timestamps_count_the_time_a_stream_sent_nothing(engine: MediaEngine) -> None:
    """RFC 3550 §5.1: the timestamp is the sampling instant. Between two prompts the stream
    leaves the batch path (nothing plays, nothing listens); the second prompt's timestamps
    must still be as far on as the time between them, or a receiver's jitter and playout
    take the silence for delay."""
    stream, peer = await attached(engine)
    await asyncio.wait_for(engine.play(stream, ToneSource(700, 2)), 2)
    assert stream.mode is StreamMode.IDLE
    first_end = asyncio.get_running_loop().time()
    await asyncio.sleep(0.3)
    second = engine.play(stream, ToneSource(700, 2))
    gap_seconds = asyncio.get_running_loop().time() - first_end
    await asyncio.wait_for(second, 2)
    timestamps = [struct.unpack_from("!I", packet, 4)[0] for packet in peer.packets]
    assert len(timestamps) == 4
    advance_seconds = ((timestamps[2] - timestamps[1]) & 0xFFFFFFFF) / 8000
    # The gap, plus a tick or two on the batch path at either end (the tick that finds the
    # first prompt over, the first tick of the second), give or take half a frame of rounding.
    assert gap_seconds - 0.011 <= advance_seconds <= gap_seconds + 0.1, (
        advance_seconds, gap_seconds,
    )  # fmt: skip


async def test_stopping_playback_resolves_false(engine: MediaEngine) -> None:
    stream, _ = await attached(engine)
    done = engine.play(stream, ToneSource(700, 1000))
    engine.stop_playing(stream)
    assert done.result() is False
    assert engine.statistics().players == 0


async def test_recorder_gets_what_the_stream_receives(engine: MediaEngine) -> None:
    stream, peer = await attached(engine)
    sink = FrameSink()
    engine.record(stream, sink)
    for index in range(15):
        peer.send_to(stream, tone_packet(index, 600))
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    engine.stop_recording(stream)
    recorded = np.concatenate(sink.frames)
    assert abs(peak_frequency(recorded) - 600) < 30


async def test_a_recorder_may_hear_what_is_sent_or_only_what_comes_in(
    engine: MediaEngine,
) -> None:
    stream, peer = await attached(engine)
    both, received_only = FrameSink(), FrameSink()
    engine.play(stream, ToneSource(1500, 25))
    for sink, sent_too in ((both, True), (received_only, False)):
        engine.record(stream, sink, sent_too=sent_too)
        for index in range(10):
            peer.send_to(stream, tone_packet(index, 600))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        engine.stop_recording(stream)
    heard = np.concatenate(received_only.frames)
    mixed = np.concatenate(both.frames)
    assert abs(peak_frequency(heard) - 600) < 30
    assert level_near(mixed, 1500) > 0.3 * level_near(mixed, 600)  # the tone sent, mixed in
    assert level_near(heard, 1500) < 0.05 * level_near(heard, 600)


def level_near(samples: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    frequencies = np.fft.rfftfreq(len(samples), 1 / 8000)
    return float(spectrum[np.abs(frequencies - hz) < 20].max())


async def test_conference_member_hears_the_others_not_itself(engine: MediaEngine) -> None:
    members = [await attached(engine) for _ in range(3)]
    conference = engine.mix([stream for stream, _ in members])
    (first, first_peer), (second, second_peer), (_, third_peer) = members
    for index in range(20):
        first_peer.send_to(first, tone_packet(index, 500))
        second_peer.send_to(second, tone_packet(index, 1500))
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    heard = third_peer.audio()
    spectrum = np.abs(np.fft.rfft(heard.astype(np.float64)))
    strongest = sorted(np.fft.rfftfreq(len(heard), 1 / 8000)[np.argsort(spectrum)[-2:]])
    assert abs(strongest[0] - 500) < 10
    assert abs(strongest[1] - 1500) < 10
    assert abs(peak_frequency(first_peer.audio()) - 1500) < 30
    engine.close_conference(conference)
    assert all(stream.mode is StreamMode.IDLE for stream, _ in members)


async def test_rfc4733_digits_are_detected_once_per_press(engine: MediaEngine) -> None:
    stream, peer = await attached(engine, telephone_event_pt=EVENT_PT)
    digits: list[DtmfReceived] = []
    engine.detect_dtmf(stream, digits.append, inband=False)
    for digit_index, event in enumerate((5, 11)):
        timestamp = 8000 * (digit_index + 1)
        for packet_index in range(6):
            end = 0x80 if packet_index >= 3 else 0
            payload = struct.pack("!BBH", event, end | 10, 160 * (packet_index + 1))
            header = struct.pack("!BBHII", 0x80, EVENT_PT, 10 * digit_index + packet_index,
                                 timestamp, 99)  # fmt: skip
            peer.send_to(stream, header + payload)
    await asyncio.sleep(0.1)
    assert [(d.digit, d.source) for d in digits] == [("5", DtmfMethod.RFC4733),
                                                      ("#", DtmfMethod.RFC4733)]  # fmt: skip


async def test_send_dtmf_rfc4733_emits_events_then_returns_to_relay(engine: MediaEngine) -> None:
    first, first_peer = await attached(engine, telephone_event_pt=EVENT_PT)
    second, _ = await attached(engine, telephone_event_pt=EVENT_PT)
    engine.connect(first, second)
    done = engine.send_dtmf(first, "19", DtmfMethod.RFC4733)
    assert first.mode is StreamMode.BATCH
    assert await asyncio.wait_for(done, 2) is True
    events = [p for p in first_peer.packets if p[1] & 0x7F == EVENT_PT]
    assert {p[12] for p in events} == {1, 9}
    assert len({struct.unpack_from("!I", p, 4)[0] for p in events}) == 2  # one timestamp each
    assert first.mode is second.mode is StreamMode.RELAY


async def test_send_dtmf_inband_plays_tones(engine: MediaEngine) -> None:
    stream, peer = await attached(engine)
    done = engine.send_dtmf(stream, "1", DtmfMethod.INBAND)
    assert await asyncio.wait_for(done, 3) is True
    spectrum = np.abs(np.fft.rfft(peer.audio().astype(np.float64)))
    frequencies = np.fft.rfftfreq(len(peer.audio()), 1 / 8000)
    strongest = sorted(frequencies[np.argsort(spectrum)[-2:]])
    # RFC 4733 §3.2 / ITU-T Q.23: "1" is 697 Hz + 1209 Hz.
    assert abs(strongest[0] - 697) < 25
    assert abs(strongest[1] - 1209) < 25


async def test_inband_digits_pause_a_playing_file_which_then_resumes(engine: MediaEngine) -> None:
    """Tones replace the file while they sound (clean tones for the far receiver); the file
    waits and then plays to its end, nothing of it lost."""
    stream, peer = await attached(engine)
    played = engine.play(stream, ToneSource(440, 25))
    await asyncio.sleep(0.1)
    sent = engine.send_dtmf(stream, "12", DtmfMethod.INBAND, duration_ms=100)
    assert await asyncio.wait_for(sent, 2) is True
    assert await asyncio.wait_for(played, 2) is True
    audio = peer.audio()
    assert len(audio) == (25 + 14) * 160  # the file, then 2 x (100 ms tone + 40 ms pause)
    file_frames = [abs(peak_frequency(frame) - 440) < 30 for frame in audio.reshape(-1, 160)]
    first = file_frames.index(False)
    assert file_frames == [True] * first + [False] * 14 + [True] * (25 - first)
    assert tones(audio[first * 160 : (first + 14) * 160]) == [("1", 0, 100), ("2", 140, 100)]


async def test_rfc4733_digit_is_passed_on_when_the_bridge_is_tapped(engine: MediaEngine) -> None:
    first, first_peer = await attached(engine, telephone_event_pt=EVENT_PT)
    second, second_peer = await attached(engine, telephone_event_pt=96)
    engine.connect(first, second)
    digits: list[DtmfReceived] = []
    engine.detect_dtmf(first, digits.append, inband=False)
    for packet_index in range(4):
        payload = struct.pack("!BBH", 7, (0x80 if packet_index == 3 else 0) | 10, 160)
        header = struct.pack("!BBHII", 0x80, EVENT_PT, packet_index, 16000, 99)
        first_peer.send_to(first, header + payload)
    await asyncio.sleep(0.4)
    assert [d.digit for d in digits] == ["7"]
    events = [p for p in second_peer.packets if p[1] & 0x7F == 96]
    assert events
    assert {p[12] for p in events} == {7}


async def test_rfc4733_digit_reaches_a_peer_without_events_as_tones(engine: MediaEngine) -> None:
    """DTMF across legs: events in on one side, Q.23 tones out on a side that has none."""
    first, first_peer = await attached(engine, telephone_event_pt=EVENT_PT)
    second, second_peer = await attached(engine)
    engine.connect(first, second)
    assert first.mode is second.mode is StreamMode.BATCH  # events cannot be relayed as-is
    for packet_index in range(8):
        payload = struct.pack(
            "!BBH", 1, (0x80 if packet_index >= 5 else 0) | 10, 160 * (packet_index + 1)
        )
        header = struct.pack("!BBHII", 0x80, EVENT_PT, packet_index, 16000, 99)
        first_peer.send_to(first, header + payload)
    await asyncio.sleep(0.6)
    assert not [p for p in second_peer.packets if p[1] & 0x7F == EVENT_PT]
    digits = DtmfDetectorProbe().digits(second_peer.audio())
    assert digits == ["1"]


async def test_inband_digit_reaches_a_peer_with_events_as_rfc4733(engine: MediaEngine) -> None:
    """DTMF across legs: tones in on a side without events, RFC 4733 out on the other."""
    first, first_peer = await attached(engine)
    second, second_peer = await attached(engine, telephone_event_pt=EVENT_PT)
    engine.connect(first, second)
    t = np.arange(160 * 8) / 8000
    tone = 4000 * (np.sin(2 * np.pi * 852 * t) + np.sin(2 * np.pi * 1477 * t))  # "9"
    pcm = np.concatenate([tone, np.zeros(160 * 8)]).astype(np.int16)
    for index in range(16):
        codes = ulaw_encode(pcm[160 * index : 160 * (index + 1)])
        header = struct.pack("!BBHII", 0x80, 0, index, 160 * index, 99)
        first_peer.send_to(first, header + codes.tobytes())
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    events = [p for p in second_peer.packets if p[1] & 0x7F == EVENT_PT]
    assert events
    assert {p[12] for p in events} == {9}


class DtmfDetectorProbe:
    """Runs the engine's own Goertzel detector over received audio, frame by frame."""

    def digits(self, pcm: np.ndarray) -> list[str]:
        detector = DtmfDetector()
        found: list[str] = []
        for start in range(0, len(pcm) - 159, 160):
            [digit] = detector.detect([1], pcm[np.newaxis, start : start + 160])
            if digit is not None:
                found.append(digit)
        return found


async def test_a_mixed_source_is_heard_over_the_bridged_peer_and_a_plain_one_instead_of_it(
    engine: MediaEngine,
) -> None:
    """The REST API's Play with mix=true (Plivo's default) adds the prompt to what the peer
    says; mix=false replaces it while it plays."""

    async def heard_while_playing(mixed: bool) -> np.ndarray:
        first, first_peer = await attached(engine)
        second, second_peer = await attached(engine)
        engine.connect(first, second)
        done = engine.play(first, ToneSource(1500, 25), mixed)
        for index in range(25):
            second_peer.send_to(second, tone_packet(index, 600))
            await asyncio.sleep(0.02)
        await asyncio.wait_for(done, 2)
        for stream in (first, second):
            engine.close_stream(stream)
        return first_peer.audio()[800:]  # past the first frames, before the peer's tone

    def level_at(pcm: np.ndarray, frequency: float) -> float:
        spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
        bin_hz = 8000 / len(pcm)
        return float(
            spectrum[int((frequency - 30) / bin_hz) : int((frequency + 30) / bin_hz)].max()
        )

    mixed = await heard_while_playing(mixed=True)
    assert level_at(mixed, 600) > 0.3 * level_at(mixed, 1500)
    replaced = await heard_while_playing(mixed=False)
    assert level_at(replaced, 600) < 0.01 * level_at(replaced, 1500)
