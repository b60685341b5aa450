"""Opus (RFC 6716) through a thin ctypes binding of the system libopus (Debian libopus0).

Why ctypes rather than PyAV's libopus: PyAV exposes neither packet loss concealment nor
in-band FEC decoding (its decoder takes packets only), and each call goes through its frame
objects. It is also the faster of the two: one run of `make bench` (tools/bench/codecs.py) on
a 2-core machine gave, per 20 ms mono frame, 70 µs encode and 27 µs decode here against
135 µs and 40 µs through PyAV.

The RTP clock of Opus is always 48 kHz (RFC 7587 §4.1), but libopus encodes from and decodes
to any of 8, 12, 16, 24 or 48 kHz itself. A media engine that mixes at 8 kHz creates its
codecs at 8 kHz: no resampling of its own, and libopus does far less work (one run, per 20 ms
frame of a voice-like signal: encode 114 µs at 8 kHz against 169 µs at 48 kHz, decode 11 µs
against 28 µs; tools/bench/codecs.py prints the current figures).
"""

import ctypes
import ctypes.util

import numpy as np

from audiocodecs.pcm import Pcm16

SAMPLE_RATE = 48000
SAMPLE_RATES = frozenset({8000, 12000, 16000, 24000, 48000})  # what libopus accepts
FRAME_MS = 20
MAX_PACKET_BYTES = 1500
MAX_FRAME_SAMPLES = 5760  # 120 ms, the longest Opus packet

_APPLICATION_VOIP = 2048
_SET_BITRATE = 4002
_SET_COMPLEXITY = 4010
_SET_INBAND_FEC = 4012
_SET_PACKET_LOSS_PERC = 4014


class OpusError(Exception):
    """libopus reported an error (or is not installed)."""


def _load() -> ctypes.CDLL:
    name = ctypes.util.find_library("opus")
    if name is None:
        raise OpusError("libopus not found: install the Debian package libopus0")
    library = ctypes.CDLL(name)
    library.opus_encoder_create.restype = ctypes.c_void_p
    library.opus_decoder_create.restype = ctypes.c_void_p
    library.opus_encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int32,
    ]
    library.opus_decode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    library.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    library.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    library.opus_strerror.restype = ctypes.c_char_p
    return library


_library: ctypes.CDLL | None = None


def _opus() -> ctypes.CDLL:
    global _library
    if _library is None:
        _library = _load()
    return _library


def _check_rate(sample_rate: int) -> None:
    if sample_rate not in SAMPLE_RATES:
        raise OpusError(f"libopus runs at {sorted(SAMPLE_RATES)} Hz, not {sample_rate}")


def _check(result: int) -> int:
    if result < 0:
        raise OpusError(_opus().opus_strerror(result).decode())
    return result


class OpusEncoder:
    """Mono, 20 ms frames. `complexity` 0-10 trades encoder CPU for quality (libopus's own
    default when None); `inband_fec` is for a peer that decodes it (RFC 7587 §6.1)."""

    name = "opus"

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        *,
        bitrate: int = 32000,
        inband_fec: bool = True,
        expected_loss_percent: int = 5,
        complexity: int | None = None,
    ) -> None:
        _check_rate(sample_rate)
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate * FRAME_MS // 1000
        error = ctypes.c_int()
        self._state = _opus().opus_encoder_create(
            sample_rate, 1, _APPLICATION_VOIP, ctypes.byref(error)
        )
        _check(error.value)
        # In-band FEC is only produced when the encoder expects loss (RFC 6716 §2.1.7); it
        # re-encodes every frame at a lower rate, about a third more encoder CPU.
        settings = [
            (_SET_BITRATE, bitrate),
            (_SET_INBAND_FEC, int(inband_fec)),
            (_SET_PACKET_LOSS_PERC, expected_loss_percent if inband_fec else 0),
        ]
        if complexity is not None:
            settings.append((_SET_COMPLEXITY, complexity))
        for request, value in settings:
            _check(_opus().opus_encoder_ctl(ctypes.c_void_p(self._state), request, value))
        self._buffer = ctypes.create_string_buffer(MAX_PACKET_BYTES)

    def encode(self, pcm: Pcm16) -> bytes:
        samples = np.ascontiguousarray(pcm, dtype=np.int16)
        length = _check(
            _opus().opus_encode(
                self._state, samples.ctypes.data, len(samples), self._buffer, MAX_PACKET_BYTES
            )
        )
        return self._buffer.raw[:length]

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            _opus().opus_encoder_destroy(self._state)


class OpusDecoder:
    """Mono output; stereo packets are downmixed by libopus itself."""

    name = "opus"

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        _check_rate(sample_rate)
        self.sample_rate = sample_rate
        error = ctypes.c_int()
        self._state = _opus().opus_decoder_create(sample_rate, 1, ctypes.byref(error))
        _check(error.value)
        self._output = np.zeros(MAX_FRAME_SAMPLES, np.int16)

    def decode(self, payload: bytes) -> Pcm16:
        return self._decode(payload, MAX_FRAME_SAMPLES, fec=False)

    def conceal(self, samples: int) -> Pcm16:
        """Packet loss concealment: libopus extrapolates from its state."""
        return self._decode(None, samples, fec=False)

    def recover(self, next_payload: bytes, samples: int) -> Pcm16:
        """A lost frame rebuilt from the in-band FEC data of the packet after it."""
        return self._decode(next_payload, samples, fec=True)

    def _decode(self, payload: bytes | None, samples: int, *, fec: bool) -> Pcm16:
        count = _check(
            _opus().opus_decode(
                self._state,
                payload,
                0 if payload is None else len(payload),
                self._output.ctypes.data,
                samples,
                int(fec),
            )
        )
        return self._output[:count].copy()

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            _opus().opus_decoder_destroy(self._state)
