"""The latency analysis of the WebRTC benchmark (tools/bench/chirps.py), on streams whose
delay is known: each chirp's latency is found through real codecs, a frame the far end's
jitter buffer dropped moves the train without breaking the match, and a lost chirp is left
out rather than measured on noise."""

import numpy as np
import pytest

from audiocodecs import new_decoder, new_encoder
from tools.bench.chirps import ANALYSIS_RATE, ChirpTrain, SendLog, latencies
from tools.bench.received_stream import ReceivedStream

DELAY = 0.050
SENT_AT = 100.0
OPUS_LOOKAHEAD = 0.0065  # libopus's encoder delay at 48 kHz (312 samples)


def received(
    name: str, train: ChirpTrain, skip: set[int], dropped: int | None = None
) -> ReceivedStream:
    """The train encoded by `name`, each 20 ms frame arriving DELAY after it was sent; frames
    in `skip` lost on the way (a gap in the timestamps), frame `dropped` taken out by the far
    end's jitter buffer (the timestamps after it one frame earlier)."""
    encoder = new_encoder(name)
    clock_rate = 8000 if name == "PCMU" else 48000
    stream = ReceivedStream(clock_rate, keep_payloads=True)
    signal, samples = train.signal(encoder.sample_rate), encoder.frame_samples
    for frame in range(len(signal) // samples):
        payload = encoder.encode(signal[frame * samples : (frame + 1) * samples])
        if frame in skip or frame == dropped:
            continue
        place = frame - 1 if dropped is not None and frame > dropped else frame
        arrival = SENT_AT + frame * 0.020 + DELAY
        stream.add(arrival, place & 0xFFFF, place * clock_rate // 50, payload)
    return stream


def sent_log(train: ChirpTrain) -> SendLog:
    return SendLog(sent_at=[SENT_AT + frame * 0.020 for frame in range(int(train.seconds / 0.02))])


@pytest.mark.parametrize(("name", "codec_delay"), [("PCMU", 0.0), ("opus", OPUS_LOOKAHEAD)])
def test_every_chirp_is_found_at_the_known_delay(name: str, codec_delay: float) -> None:
    train = ChirpTrain.random(6.0)
    timeline = received(name, train, set()).timeline(new_decoder(name, ANALYSIS_RATE))
    found = latencies(train, sent_log(train).time_of, timeline)
    assert len(found) == len(train.onsets)
    assert np.allclose(found, DELAY + codec_delay, atol=0.001)


def test_a_lost_chirp_is_left_out_and_the_rest_still_match() -> None:
    train = ChirpTrain.random(6.0)
    lost = int(train.onsets[3] / 0.020)
    stream = received("PCMU", train, {lost, lost + 1})
    found = latencies(train, sent_log(train).time_of, stream.timeline(new_decoder("PCMU")))
    assert len(found) == len(train.onsets) - 1
    assert np.allclose(found, DELAY, atol=0.001)
    assert stream.expected - stream.received == 2


def test_send_lateness_is_measured_against_the_first_frame() -> None:
    log = SendLog(sent_at=[0.0, 0.020, 0.045, 0.060])
    assert log.late_ms_p99() == pytest.approx(5.0, abs=0.2)


def test_a_frame_dropped_by_a_jitter_buffer_moves_the_train_without_breaking_the_match() -> None:
    train = ChirpTrain.random(6.0)
    dropped = int((train.onsets[2] + train.onsets[3]) / 2 / 0.020)
    stream = received("PCMU", train, set(), dropped)
    found = latencies(train, sent_log(train).time_of, stream.timeline(new_decoder("PCMU")))
    assert len(found) == len(train.onsets)
    assert np.allclose(found, DELAY, atol=0.001)
