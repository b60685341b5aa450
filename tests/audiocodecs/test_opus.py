import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from audiocodecs import UnknownCodecError, new_decoder, new_encoder
from audiocodecs.opus import OpusDecoder, OpusEncoder

RATE = 48000


def sine(frequency: float, seconds: float, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return np.rint(amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def peak_hz(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms_db(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples.astype(float) ** 2))))


def test_tone_keeps_frequency_and_level() -> None:
    encoder, decoder = new_encoder("opus"), new_decoder("opus")
    tone = sine(1000, 1.0)
    out = np.concatenate(
        [decoder.decode(encoder.encode(tone[i : i + 960])) for i in range(0, RATE, 960)]
    )
    steady = out[4800:]
    assert abs(peak_hz(steady) - 1000) < 5
    assert abs(rms_db(steady) - rms_db(tone)) < 1.0


def test_concealment_fills_a_lost_packet_with_the_tone() -> None:
    encoder, decoder = OpusEncoder(), OpusDecoder()
    tone = sine(1000, 0.5)
    packets = [encoder.encode(tone[i : i + 960]) for i in range(0, len(tone), 960)]
    for packet in packets[:10]:
        decoder.decode(packet)
    concealed = decoder.conceal(960)
    assert len(concealed) == 960
    assert abs(peak_hz(concealed) - 1000) < 60
    assert rms_db(concealed) < rms_db(tone) + 1


def test_fec_recovers_a_lost_packet_from_the_next() -> None:
    encoder, decoder = OpusEncoder(bitrate=32000, expected_loss_percent=20), OpusDecoder()
    tone = sine(800, 1.0)
    packets = [encoder.encode(tone[i : i + 960]) for i in range(0, len(tone), 960)]
    for packet in packets[:20]:
        decoder.decode(packet)
    recovered = decoder.recover(packets[21], 960)  # packet 20 lost
    assert len(recovered) == 960
    assert abs(peak_hz(recovered) - 800) < 60


def test_decodes_opus_from_an_independent_encoder(tmp_path: Path) -> None:
    ogg = tmp_path / "tone.ogg"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:duration=1",
            "-ar",
            "48000",
            "-ac",
            "1",
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            str(ogg),
        ],
        check=True,
    )
    decoder = OpusDecoder()
    with av.open(str(ogg)) as container:
        out = np.concatenate([decoder.decode(bytes(p)) for p in container.demux(audio=0) if p.size])
    assert abs(peak_hz(out[4800:]) - 1000) < 5


def test_unknown_codec_is_a_clear_error() -> None:
    with pytest.raises(UnknownCodecError, match="G729"):
        new_encoder("G729")
