"""The engine's audio frame: 20 ms of 8 kHz mono int16, the rate every port speaks.

Codecs at other rates (Opus: 48 kHz) are resampled at the stream's edge.
"""

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
