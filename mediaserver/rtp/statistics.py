"""Receive statistics of one RTP source (RFC 3550 §6.4.1 and Appendix A.1, A.3, A.8)."""

from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.rtcp import ReportBlock

_SEQUENCE_MOD = 1 << 16
_MAX_DROPOUT = 3000  # A.1: a jump this far ahead is still the same sequence
_MAX_MISORDER = 100


class ReceiveStatistics:
    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.packets_received = 0
        self.octets_received = 0
        self._base_sequence: int | None = None
        self._max_sequence = 0
        self._cycles = 0
        self._transit: float | None = None
        self.jitter = 0.0  # timestamp units, A.8
        self.max_jitter = 0.0
        self._jitter_sum = 0.0
        self._expected_prior = 0
        self._received_prior = 0

    @property
    def extended_highest_sequence(self) -> int:
        return self._cycles + self._max_sequence

    @property
    def expected(self) -> int:
        """A.3: packets expected from the first sequence number to the highest seen."""
        if self._base_sequence is None:
            return 0
        return self.extended_highest_sequence - self._base_sequence + 1

    @property
    def cumulative_lost(self) -> int:
        """A.3: negative when duplicates arrived."""
        return self.expected - self.packets_received

    @property
    def mean_jitter(self) -> float:
        return self._jitter_sum / self.packets_received if self.packets_received else 0.0

    def update(self, packet: RtpPacket, arrival_seconds: float) -> None:
        self._update_sequence(packet.sequence_number)
        self.packets_received += 1
        self.octets_received += len(packet.payload)
        self._update_jitter(packet.timestamp, arrival_seconds)

    def report_block(
        self, ssrc: int, last_sr: int = 0, delay_since_last_sr: int = 0
    ) -> ReportBlock:
        """§6.4.1: fraction lost since the previous report, then the running totals."""
        expected_interval = self.expected - self._expected_prior
        received_interval = self.packets_received - self._received_prior
        self._expected_prior, self._received_prior = self.expected, self.packets_received
        lost_interval = expected_interval - received_interval
        fraction = (lost_interval << 8) // expected_interval if lost_interval > 0 else 0
        lost = max(-(1 << 23), min(self.cumulative_lost, (1 << 23) - 1))
        return ReportBlock(
            ssrc,
            fraction,
            lost,
            self.extended_highest_sequence & 0xFFFFFFFF,
            int(self.jitter),
            last_sr,
            delay_since_last_sr,
        )

    def _update_sequence(self, sequence_number: int) -> None:
        if self._base_sequence is None:
            self._base_sequence = self._max_sequence = sequence_number
            return
        delta = (sequence_number - self._max_sequence) % _SEQUENCE_MOD
        if delta < _MAX_DROPOUT:
            if sequence_number < self._max_sequence:
                self._cycles += _SEQUENCE_MOD  # wrapped
            self._max_sequence = sequence_number
        elif delta <= _SEQUENCE_MOD - _MAX_MISORDER:
            # A.1: a large jump; restart counting from here (the source restarted).
            self._base_sequence = self._max_sequence = sequence_number
            self._cycles = 0
            self.packets_received = 0
        # else: a duplicate or reordered packet: counted as received, sequence unchanged.

    def _update_jitter(self, rtp_timestamp: int, arrival_seconds: float) -> None:
        """A.8: J += (|D(i-1, i)| - J) / 16, in timestamp units."""
        transit = arrival_seconds * self.clock_rate - rtp_timestamp
        if self._transit is not None:
            difference = abs(transit - self._transit)
            self.jitter += (difference - self.jitter) / 16
            self.max_jitter = max(self.max_jitter, self.jitter)
        self._transit = transit
        self._jitter_sum += self.jitter
