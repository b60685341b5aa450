"""Wideband conference rooms on the batch tick: numbers for time, FFTs of what is sent.

Opus members' peers encode 48 kHz audio, as phones and browsers do, and decode what we send
at 48 kHz: a 6 kHz tone crosses a wideband room, and would not cross an 8 kHz mix (its
Nyquist frequency is 4 kHz; the resampler stops from 4.06 kHz).
"""

import asyncio
import struct
from typing import cast

import numpy as np

from audiocodecs.g711 import ulaw_decode
from audiocodecs.opus import OpusDecoder, OpusEncoder
from mediaserver.clock import ManualClock
from mediaserver.media.batch import BatchProcessor
from mediaserver.media.mixer import RoomSound
from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.rtp_socket import RtpSocket
from mediaserver.media.stream import MediaStream, StreamFormat
from mediaserver.media.tones import SampleSource, dtmf_frequencies
from mediaserver.media.tones import tone as narrow_tone

from .test_batch import (
    RecordingTransport,
    make_stream,
    pcmu_packet,
    room,
    run_ticks,
    sent,
    tone,
)

OPUS = StreamFormat("opus", 111, 48000, 20, None)
TICKS = 40
SETTLED = 10  # jitter buffers and codecs settle; spectra are taken after


def opus_stream(stream_id: int) -> MediaStream:
    sock = RtpSocket(lambda d, a: None, lambda d, a: None, True, lambda: 0.0, 48000)
    sock.connection_made(RecordingTransport())  # type: ignore[arg-type]
    sock.set_remote(("127.0.0.1", 4000 + stream_id))
    return MediaStream(stream_id, OPUS, cast(BoundPorts, None), sock, None)


def wide_tone(frequency: float, frame: int) -> np.ndarray:
    t = (np.arange(960) + 960 * frame) / 48000
    return (8000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


class OpusPeer:
    """The far end of an Opus member: encodes 48 kHz frames, decodes what it is sent."""

    def __init__(self, stream: MediaStream) -> None:
        self.stream = stream
        self._encoder = OpusEncoder(48000)

    def packet(self, frame: int, pcm: np.ndarray) -> bytes:
        header = struct.pack("!BBHII", 0x80, 111, frame, 960 * frame, 9)
        return header + self._encoder.encode(pcm)

    def heard(self) -> np.ndarray:
        decoder = OpusDecoder(48000)
        return np.concatenate([decoder.decode(p[12:]) for p in sent(self.stream)])


class FrameList:
    """A recorder that keeps the frames it is given."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write_frame(self, pcm: np.ndarray) -> None:
        self.frames.append(pcm)


def levels(pcm: np.ndarray, rate: int, *frequencies: float) -> list[float]:
    """The level at each frequency, against the strongest component (1.0)."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    bins = np.fft.rfftfreq(len(pcm), 1 / rate)
    peak = spectrum.max()
    return [float(spectrum[np.abs(bins - f) < 30].max() / peak) for f in frequencies]


def test_a_6_khz_tone_crosses_a_room_of_opus_members() -> None:
    clock = ManualClock()
    batch = BatchProcessor(clock)
    speaker, listener = OpusPeer(opus_stream(1)), OpusPeer(opus_stream(2))
    conference, handlers = room(batch, speaker.stream, listener.stream)

    def feed(index: int) -> None:
        handlers[0](speaker.packet(index, wide_tone(6000, index)), ("", 0))
        handlers[1](listener.packet(index, np.zeros(960, np.int16)), ("", 0))

    run_ticks(batch, clock, feed, TICKS)
    assert conference.sample_rate == 16000
    heard = listener.heard()[960 * SETTLED :]
    [six_khz] = levels(heard, 48000, 6000)
    assert six_khz == 1.0
    assert np.abs(heard).max() > 4000  # the tone itself, not a trace of it


def test_a_pcmu_member_of_that_room_hears_the_narrowband_part() -> None:
    """A 1 kHz + 6 kHz speaker: the other Opus member hears both, the PCMU member the 1 kHz
    alone (no 2 kHz alias of the 6 kHz either), and the speaker hears the PCMU member."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    speaker, listener = OpusPeer(opus_stream(1)), OpusPeer(opus_stream(2))
    phone = make_stream(3, "PCMU")
    _, handlers = room(batch, speaker.stream, listener.stream, phone)

    def feed(index: int) -> None:
        both = wide_tone(1000, index) // 2 + wide_tone(6000, index) // 2
        handlers[0](speaker.packet(index, both), ("", 0))
        handlers[1](listener.packet(index, np.zeros(960, np.int16)), ("", 0))
        handlers[2](pcmu_packet(index, tone(700, index)), ("", 0))

    run_ticks(batch, clock, feed, TICKS)
    wide = listener.heard()[960 * SETTLED :]
    one, six, seven_hundred = levels(wide, 48000, 1000, 6000, 700)
    assert min(one, six, seven_hundred) > 0.3
    narrow = ulaw_decode(np.frombuffer(b"".join(p[12:] for p in sent(phone)), np.uint8))
    one, alias = levels(narrow[160 * SETTLED :], 8000, 1000, 2000)
    assert one == 1.0
    assert alias < 0.01
    [seven_hundred] = levels(speaker.heard()[960 * SETTLED :], 48000, 700)
    assert seven_hundred == 1.0


def test_a_g711_only_room_mixes_at_8_khz() -> None:
    clock = ManualClock()
    batch = BatchProcessor(clock)
    members = [make_stream(i, "PCMU") for i in range(3)]
    conference, handlers = room(batch, *members)

    def feed(index: int) -> None:
        handlers[0](pcmu_packet(index, tone(400, index)), ("", 0))

    run_ticks(batch, clock, feed, 5)
    assert conference.sample_rate == 8000
    assert conference.statistics().sample_rate == 8000
    assert all(len(packet) == 12 + 160 for packet in sent(members[1]))


def test_the_room_goes_back_to_8_khz_when_its_opus_member_leaves() -> None:
    clock = ManualClock()
    batch = BatchProcessor(clock)
    opus = OpusPeer(opus_stream(1))
    phones = [make_stream(2, "PCMU"), make_stream(3, "PCMU")]
    conference, handlers = room(batch, opus.stream, *phones)

    def feed(index: int) -> None:
        if index == 10:
            assert conference.sample_rate == 16000
            conference.remove(opus.stream)
            batch.remove(opus.stream)
        handlers[1](pcmu_packet(index, tone(400, index)), ("", 0))

    run_ticks(batch, clock, feed, TICKS)
    assert conference.sample_rate == 8000
    heard = ulaw_decode(np.frombuffer(b"".join(p[12:] for p in sent(phones[1])), np.uint8))
    [four_hundred] = levels(heard[160 * SETTLED :], 8000, 400)
    assert four_hundred == 1.0


async def test_room_sounds_and_the_recording_keep_their_pitch_in_a_wideband_room() -> None:
    """An 8 kHz sound is mixed in at 16 kHz (a 1 kHz beep stays 1 kHz for the Opus member);
    a recorder taking 16 kHz holds the 6 kHz of a member, one taking 8 kHz the 1 kHz."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    speaker, listener = OpusPeer(opus_stream(1)), OpusPeer(opus_stream(2))
    conference, handlers = room(batch, speaker.stream, listener.stream)
    beep = SampleSource(narrow_tone((1000.0,), 8000, 8000.0))
    conference.sounds.append(RoomSound(beep, asyncio.get_running_loop().create_future()))
    recorder = FrameList()
    conference.sink = recorder
    conference.sink_rate = 16000

    def feed(index: int) -> None:
        handlers[0](speaker.packet(index, wide_tone(6000, index)), ("", 0))
        handlers[1](listener.packet(index, np.zeros(960, np.int16)), ("", 0))

    run_ticks(batch, clock, feed, TICKS)
    one, six = levels(listener.heard()[960 * SETTLED :], 48000, 1000, 6000)
    assert min(one, six) > 0.3
    recording = np.concatenate(recorder.frames[SETTLED:])
    assert len(recording) == 320 * (TICKS - SETTLED)
    one, six = levels(recording, 16000, 1000, 6000)
    assert min(one, six) > 0.3


async def test_a_16_khz_sound_is_wideband_in_a_wideband_room_and_narrowed_in_an_8_khz_one() -> None:
    """One sound of 1 kHz + 6 kHz at 16 kHz into two rooms: the Opus member hears both
    tones, the PCMU room the 1 kHz and no 2 kHz alias of the 6 kHz."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    opus = OpusPeer(opus_stream(1))
    wide_room, wide_handlers = room(batch, opus.stream)
    phone = make_stream(2, "PCMU")
    narrow_room, narrow_handlers = room(batch, phone)
    t = np.arange(16000) / 16000
    both = np.rint(4000 * (np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 6000 * t)))
    loop = asyncio.get_running_loop()
    for conference in (wide_room, narrow_room):
        source = SampleSource(both.astype(np.int16), 16000)
        conference.sounds.append(RoomSound(source, loop.create_future(), 16000))

    def feed(index: int) -> None:
        wide_handlers[0](opus.packet(index, np.zeros(960, np.int16)), ("", 0))
        narrow_handlers[0](pcmu_packet(index, np.zeros(160, np.int16)), ("", 0))

    run_ticks(batch, clock, feed, TICKS)
    one, six = levels(opus.heard()[960 * SETTLED :], 48000, 1000, 6000)
    assert min(one, six) > 0.3
    narrow = ulaw_decode(np.frombuffer(b"".join(p[12:] for p in sent(phone)), np.uint8))
    one, alias = levels(narrow[160 * SETTLED :], 8000, 1000, 2000)
    assert one == 1.0
    assert alias < 0.01


def test_in_band_digits_of_an_opus_member_of_a_wideband_room_are_detected() -> None:
    """Goertzel runs at 8 kHz: the member's 16 kHz audio is narrowed for it."""
    clock = ManualClock()
    batch = BatchProcessor(clock)
    caller, other = OpusPeer(opus_stream(1)), OpusPeer(opus_stream(2))
    digits: list[str] = []
    caller.stream.digit_handler = lambda event: digits.append(event.digit)
    caller.stream.inband_detection = True
    conference, handlers = room(batch, caller.stream, other.stream)
    press = narrow_tone(dtmf_frequencies("5"), 48000 * 3 // 10, 8000.0, sample_rate=48000)
    audio = np.concatenate([np.zeros(960 * 10, np.int16), press, np.zeros(960 * 10, np.int16)])

    def feed(index: int) -> None:
        handlers[0](caller.packet(index, audio[960 * index : 960 * (index + 1)]), ("", 0))

    run_ticks(batch, clock, feed, len(audio) // 960)
    assert conference.sample_rate == 16000
    assert digits == ["5"]
