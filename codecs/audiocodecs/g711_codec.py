"""G.711 as codec objects, one 20 ms frame at a time (the batch path uses g711.py directly)."""

from collections.abc import Callable

import numpy as np

from audiocodecs.g711 import Codes, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from audiocodecs.pcm import Pcm16

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160


class G711Encoder:
    sample_rate = SAMPLE_RATE
    frame_samples = FRAME_SAMPLES

    def __init__(self, name: str, encode: Callable[[Pcm16], Codes]) -> None:
        self.name = name
        self._encode = encode

    def encode(self, pcm: Pcm16) -> bytes:
        return self._encode(np.asarray(pcm, np.int16)).tobytes()


class G711Decoder:
    sample_rate = SAMPLE_RATE

    def __init__(self, name: str, decode: Callable[[Codes], Pcm16]) -> None:
        self.name = name
        self._decode = decode
        self._last = np.zeros(FRAME_SAMPLES, np.int16)
        self._concealed = 0

    def decode(self, payload: bytes) -> Pcm16:
        self._last = self._decode(np.frombuffer(payload, np.uint8))
        self._concealed = 0
        return self._last

    def conceal(self, samples: int) -> Pcm16:
        """G.711 Appendix I in spirit: repeat the last frame, fading out over 60 ms."""
        self._concealed += 1
        gain = max(0.0, 1.0 - 0.33 * self._concealed)
        repeated = np.resize(self._last, samples)
        return (repeated * gain).astype(np.int16)

    def recover(self, next_payload: bytes, samples: int) -> Pcm16:
        """G.711 carries no redundancy: a lost frame can only be concealed."""
        del next_payload
        return self.conceal(samples)


def pcmu_encoder() -> G711Encoder:
    return G711Encoder("PCMU", ulaw_encode)


def pcmu_decoder() -> G711Decoder:
    return G711Decoder("PCMU", ulaw_decode)


def pcma_encoder() -> G711Encoder:
    return G711Encoder("PCMA", alaw_encode)


def pcma_decoder() -> G711Decoder:
    return G711Decoder("PCMA", alaw_decode)
