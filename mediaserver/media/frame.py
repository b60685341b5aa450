"""The engine's audio frame: 20 ms of 8 kHz mono int16, the rate every port speaks.

Codecs run at this rate too: libopus encodes from and decodes to 8 kHz itself, whatever the
48 kHz RTP clock of Opus says (RFC 7587 §4.1).
"""

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
