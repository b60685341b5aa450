"""ITU-T G.711 µ-law and A-law as numpy table lookups, over arrays of any shape.

The tables are built once, vectorised, from the classic segment algorithm (the one of the
Sun reference code that most implementations share), so `(streams, samples)` arrays encode
and decode in one indexing operation each.
"""

import numpy as np
import numpy.typing as npt

from audiocodecs.pcm import Pcm16

Codes = npt.NDArray[np.uint8]

# Segment end points: µ-law on 14-bit magnitudes, A-law on 13-bit ones (G.711 Tables 1-2).
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_ULAW_CLIP = 8159
_ULAW_BIAS = 0x21


def _ulaw_encode_table() -> Codes:
    value = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), _ULAW_CLIP) + _ULAW_BIAS
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude)
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)  # beyond the last segment: the maximum code
    return (code ^ mask).astype(np.uint8)


def _ulaw_decode_table() -> Pcm16:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return np.where(code & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def _alaw_encode_table() -> Codes:
    value = np.arange(-32768, 32768, dtype=np.int32) >> 3
    mask = np.where(value >= 0, 0xD5, 0x55)
    magnitude = np.where(value >= 0, value, -value - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude)
    shift = np.where(segment < 2, 1, segment)
    code = (np.minimum(segment, 7) << 4) | ((magnitude >> shift) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _alaw_decode_table() -> Pcm16:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    magnitude = ((code & 0x0F) << 4) + np.where(segment == 0, 8, 0x108)
    magnitude = np.where(segment > 1, magnitude << np.maximum(segment - 1, 0), magnitude)
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


_ULAW_ENCODE = _ulaw_encode_table()
_ULAW_DECODE = _ulaw_decode_table()
_ALAW_ENCODE = _alaw_encode_table()
_ALAW_DECODE = _alaw_decode_table()


def ulaw_encode(pcm: Pcm16) -> Codes:
    # Viewing int16 as uint16 maps -32768..32767 onto 32768..65535, 0..32767: one XOR
    # with 0x8000 turns it into the table's index without widening the array.
    codes: Codes = _ULAW_ENCODE[pcm.view(np.uint16) ^ 0x8000]
    return codes


def ulaw_decode(codes: Codes) -> Pcm16:
    return _ULAW_DECODE[codes]


def alaw_encode(pcm: Pcm16) -> Codes:
    codes: Codes = _ALAW_ENCODE[pcm.view(np.uint16) ^ 0x8000]
    return codes


def alaw_decode(codes: Codes) -> Pcm16:
    return _ALAW_DECODE[codes]
