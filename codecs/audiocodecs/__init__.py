"""Audio codecs: PCM (int16 numpy arrays) <-> payload bytes. Nothing about RTP or I/O.

`new_encoder(name)` / `new_decoder(name)` build codec objects by name: "PCMU", "PCMA",
"opus" (case-insensitive).
"""

from collections.abc import Callable
from typing import Protocol

from audiocodecs.g711_codec import pcma_decoder, pcma_encoder, pcmu_decoder, pcmu_encoder
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


class UnknownCodecError(KeyError):
    """No codec of that name."""


_ENCODERS: dict[str, Callable[[], Encoder]] = {
    "pcmu": pcmu_encoder,
    "pcma": pcma_encoder,
    "opus": OpusEncoder,
}
_DECODERS: dict[str, Callable[[], Decoder]] = {
    "pcmu": pcmu_decoder,
    "pcma": pcma_decoder,
    "opus": OpusDecoder,
}


def new_encoder(name: str) -> Encoder:
    try:
        return _ENCODERS[name.lower()]()
    except KeyError:
        raise UnknownCodecError(f"no encoder for codec {name!r}") from None


def new_decoder(name: str) -> Decoder:
    try:
        return _DECODERS[name.lower()]()
    except KeyError:
        raise UnknownCodecError(f"no decoder for codec {name!r}") from None
