"""Audio codecs: PCM (int16 numpy arrays) <-> payload bytes. Nothing about RTP or I/O.

`new_encoder(name)` / `new_decoder(name)` build codec objects by name: "PCMU", "PCMA",
"opus" (case-insensitive), at the codec's own rate or at a `sample_rate` the codec can run at
(Opus: 8 to 48 kHz; G.711: 8 kHz only).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from audiocodecs.g711_codec import pcma_decoder, pcma_encoder, pcmu_decoder, pcmu_encoder
from audiocodecs.opus import SAMPLE_RATE as OPUS_RTP_RATE
from audiocodecs.opus import SAMPLE_RATES as OPUS_RATES
from audiocodecs.opus import OpusDecoder, OpusEncoder
from audiocodecs.pcm import Pcm16


class Encoder(Protocol):
    name: str
    sample_rate: int
    frame_samples: int

    def encode(self, pcm: Pcm16) -> bytes: ...


class Decoder(Protocol):
    name: str
    sample_rate: int

    def decode(self, payload: bytes) -> Pcm16: ...

    def conceal(self, samples: int) -> Pcm16: ...

    def recover(self, next_payload: bytes, samples: int) -> Pcm16:
        """A lost frame rebuilt from redundancy in the packet after it, where the codec
        carries any (Opus in-band FEC); else concealed."""
        ...


class UnknownCodecError(KeyError):
    """No codec of that name."""


class UnsupportedRateError(ValueError):
    """The codec cannot run at the sample rate asked for."""


@dataclass(frozen=True, slots=True)
class _Codec:
    rates: frozenset[int]
    default_rate: int
    encoder: Callable[[int, int | None, bool], Encoder]  # (sample rate, complexity, FEC)
    decoder: Callable[[int], Decoder]


def _g711(encoder: Callable[[], Encoder], decoder: Callable[[], Decoder]) -> _Codec:
    return _Codec(
        frozenset({8000}), 8000, lambda _rate, _complexity, _fec: encoder(), lambda _rate: decoder()
    )


def _opus_encoder(sample_rate: int, complexity: int | None, inband_fec: bool) -> Encoder:
    return OpusEncoder(sample_rate, complexity=complexity, inband_fec=inband_fec)


_CODECS = {
    "pcmu": _g711(pcmu_encoder, pcmu_decoder),
    "pcma": _g711(pcma_encoder, pcma_decoder),
    "opus": _Codec(OPUS_RATES, OPUS_RTP_RATE, _opus_encoder, OpusDecoder),
}


def new_encoder(
    name: str,
    sample_rate: int | None = None,
    *,
    complexity: int | None = None,
    inband_fec: bool = True,
) -> Encoder:
    """`complexity` (0-10) trades encoder CPU for quality, and `inband_fec` adds redundancy
    for a receiver that uses it, where the codec has these (Opus); G.711 ignores both."""
    codec = _codec(name, sample_rate)
    return codec.encoder(sample_rate or codec.default_rate, complexity, inband_fec)


def new_decoder(name: str, sample_rate: int | None = None) -> Decoder:
    codec = _codec(name, sample_rate)
    return codec.decoder(sample_rate or codec.default_rate)


def sample_rates(name: str) -> frozenset[int]:
    """The rates the codec encodes from and decodes to (raises UnknownCodecError)."""
    return _codec(name, None).rates


def _codec(name: str, sample_rate: int | None) -> _Codec:
    try:
        codec = _CODECS[name.lower()]
    except KeyError:
        raise UnknownCodecError(f"no codec {name!r}") from None
    if sample_rate is not None and sample_rate not in codec.rates:
        raise UnsupportedRateError(f"{name} runs at {sorted(codec.rates)} Hz, not {sample_rate}")
    return codec
