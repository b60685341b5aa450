"""The engine's audio frame: 20 ms of mono int16, at 8 kHz unless a conference needs more.

Every port (players, recorders, detectors) and every bridged call speaks 8 kHz. A conference
room with a wideband member (Opus, which WebRTC uses too) mixes at WIDEBAND_RATE instead, so
that member's 4-7 kHz band reaches the others (mixer.py, room_rate). Codecs run at the rate of
the audio they meet: libopus encodes from and decodes to 8 or 16 kHz itself, whatever the
48 kHz RTP clock of Opus says (RFC 7587 §4.1); G.711 is 8 kHz and is resampled into a
wideband room (rate_converters.py).
"""

SAMPLE_RATE = 8000
WIDEBAND_RATE = 16000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000


def frame_samples(sample_rate: int) -> int:
    """The samples of one 20 ms frame at `sample_rate`."""
    return sample_rate * FRAME_MS // 1000
