"""What a measuring peer received on one RTP stream (a part: no run()): RFC 3550 loss and
interarrival jitter as tools/load/rtp_calls.c scores them, and, when kept, each packet's
payload and arrival time, so the audio can be rebuilt on the receiver's clock.
"""

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from audiocodecs import Decoder
from audiocodecs.pcm import Pcm16

SEQUENCE_MOD = 1 << 16
MAX_DROPOUT = 3000  # RFC 3550 A.1
TIMESTAMP_MOD = 1 << 32


@dataclass(frozen=True, slots=True)
class Timeline:
    """Received audio at `sample_rate`, placed by RTP timestamp; packet `i` fills the samples
    from starts[i] and arrived at arrivals[i] (seconds, time.monotonic)."""

    audio: Pcm16
    sample_rate: int
    starts: NDArray[np.int64]
    arrivals: NDArray[np.float64]

    def time_of(self, index: int) -> float | None:
        """When sample `index` arrived: its packet's arrival plus its place in the packet,
        as the sender's side counts a sample (the send time of its packet plus its place)."""
        packet = int(np.searchsorted(self.starts, index, side="right")) - 1
        if packet < 0:
            return None
        return float(self.arrivals[packet]) + (index - int(self.starts[packet])) / self.sample_rate


@dataclass
class ReceivedStream:
    clock_rate: int
    keep_payloads: bool = False
    received: int = 0
    jitter: float = 0.0  # RFC 3550 A.8, in timestamp units
    _base_sequence: int = 0
    _max_sequence: int = 0
    _cycles: int = 0
    _transit: float = 0.0
    _packets: list[tuple[float, int, bytes]] = field(default_factory=list)

    def add(self, arrival: float, sequence_number: int, timestamp: int, payload: bytes) -> None:
        if self.received == 0:
            self._base_sequence = self._max_sequence = sequence_number
        else:
            delta = (sequence_number - self._max_sequence) % SEQUENCE_MOD
            if delta < MAX_DROPOUT:
                if sequence_number < self._max_sequence:
                    self._cycles += SEQUENCE_MOD
                self._max_sequence = sequence_number
        transit = arrival * self.clock_rate - timestamp
        if self.received:
            difference = abs(transit - self._transit)
            if difference < self.clock_rate:  # a timestamp jump is not jitter (as rtp_calls.c)
                self.jitter += (difference - self.jitter) / 16
        self._transit = transit
        self.received += 1
        if self.keep_payloads:
            self._packets.append((arrival, timestamp, payload))

    @property
    def expected(self) -> int:
        if not self.received:
            return 0
        return self._cycles + self._max_sequence - self._base_sequence + 1

    @property
    def jitter_ms(self) -> float:
        return 1000 * self.jitter / self.clock_rate

    def timeline(self, decoder: Decoder) -> Timeline:
        """The kept payloads decoded at the decoder's rate, each where its timestamp puts it
        (a lost packet leaves silence, so later samples keep their place)."""
        if not self._packets:
            return Timeline(np.zeros(0, np.int16), decoder.sample_rate, np.zeros(0, np.int64),
                            np.zeros(0))  # fmt: skip
        first = self._packets[0][1]
        scale = decoder.sample_rate / self.clock_rate
        starts, arrivals, frames = [], [], []
        for arrival, timestamp, payload in self._packets:
            starts.append(round(((timestamp - first) % TIMESTAMP_MOD) * scale))
            arrivals.append(arrival)
            frames.append(decoder.decode(payload))
        audio = np.zeros(max(s + len(f) for s, f in zip(starts, frames, strict=True)), np.int16)
        for start, frame in zip(starts, frames, strict=True):
            audio[start : start + len(frame)] = frame
        order = np.argsort(starts, kind="stable")
        return Timeline(audio, decoder.sample_rate, np.asarray(starts, np.int64)[order],
                        np.asarray(arrivals)[order])  # fmt: skip
