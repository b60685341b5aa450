"""Receive statistics of one RTP source (RFC 3550 §6.4.1 and Appendix A.1, A.3, A.8).

`update` is called for every packet a stream accepts, on the relay fast path too, so it takes
plain numbers (no parsed packet) and does only what must be decided then: A.1's sequence
validation (a packet that jumps far from the sequence is discarded unless the next one follows
it, so one stray packet cannot restart the counts, or the jitter buffer behind them), and a
note of the packet's arrival time and timestamp. A.8's jitter is computed from those notes in
runs of up to MAX_RUN packets, when a run is full or a figure is read: per packet that is two
list appends instead of a chain of float operations, each allocating, on the relay fast path
where the rest of the work is a header rewrite.

A.8: J += (|D(i-1, i)| - J) / 16, D being the change in transit time (arrival in timestamp
units minus the RTP timestamp). J is a first-order linear recurrence with a = 15/16, so after
k packets of a run that starts at J0:

    J_k = a^k * (J0 + 1/16 * sum_{j <= k} a^-j |D_j|)

and numpy computes a whole run at once. Every term of the sum is positive, so each prefix sum
is exact to float64's relative precision and so is J_k once scaled back by a^k; a^-k only has
to stay finite, which it does far beyond MAX_RUN ((16/15)^512 is about 10^14). MAX_RUN bounds
what a stream holds between runs: 512 packets, about 10 s of 20 ms packets and 36 kB.
"""

from dataclasses import dataclass, replace

import numpy as np

from mediaserver.rtp.rtcp import ReportBlock

MAX_RUN = 512  # packets per computation at most
_DECAY = (15 / 16) ** np.arange(1, MAX_RUN + 1)  # a^k
_GROWTH = 1 / _DECAY / 16  # a^-k, with A.8's 1/16 folded in


@dataclass(frozen=True, slots=True)
class JitterRun:
    """Where a run of packets leaves the estimate (all in timestamp units)."""

    jitter: float  # J after the last packet
    max_jitter: float  # the largest J reached in the run, or the previous maximum
    jitter_sum: float  # J after each packet, summed (for the mean over a stream)
    transit: float | None  # the last packet's transit, D's reference for the next run


def interarrival_jitter(
    arrivals: list[float],
    timestamps: list[int],
    clock_rate: int,
    previous: JitterRun,
) -> JitterRun:
    """Run A.8 over 1 to MAX_RUN packets, continuing from `previous`. A packet with no
    transit before it (`previous.transit` None: the source just started) leaves J as it was."""
    count = len(arrivals)
    # fromiter with a count: about half the time of np.array, which first discovers a dtype.
    transits = np.fromiter(arrivals, np.float64, count) * clock_rate - np.fromiter(
        timestamps, np.int64, count
    )
    if previous.transit is None:
        differences = np.abs(transits[1:] - transits[:-1])
    else:
        differences = np.abs(transits - np.concatenate(((previous.transit,), transits[:-1])))
    steps = len(differences)
    start = previous.jitter
    # A packet with no difference (a source's first) adds J as it was to the sum.
    jitter_sum = previous.jitter_sum + start * (count - steps)
    last_transit = float(transits[-1])
    if steps == 0:
        return JitterRun(start, previous.max_jitter, jitter_sum, last_transit)
    jitters = _DECAY[:steps] * ((_GROWTH[:steps] * differences).cumsum() + start)
    return JitterRun(
        float(jitters[-1]),
        max(previous.max_jitter, float(jitters.max())),
        jitter_sum + float(jitters.sum()),
        last_transit,
    )


_SEQUENCE_MOD = 1 << 16
_MAX_DROPOUT = 3000  # A.1: a jump this far ahead is still the same sequence
_MAX_MISORDER = 100
_NO_JITTER = JitterRun(jitter=0.0, max_jitter=0.0, jitter_sum=0.0, transit=None)


class ReceiveStatistics:
    __slots__ = (
        "_arrivals",
        "_bad_sequence",
        "_base_sequence",
        "_cycles",
        "_expected_prior",
        "_jitter_run",
        "_lost_before_run",
        "_packets_in_runs",
        "_received_before_run",
        "_received_prior",
        "_timestamps",
        "clock_rate",
        "max_sequence",
        "ssrc",
    )

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self._packets_in_runs = 0  # accepted packets whose jitter has been run
        self._base_sequence = 0
        self.max_sequence = 0  # A.1 max_seq: the highest sequence number seen
        self._cycles = 0
        self._bad_sequence = -1  # A.1 bad_seq: the number that would confirm a jump
        self._received_before_run = 0  # packets_received when the current run began
        self._lost_before_run = 0
        self._arrivals: list[float] = []  # accepted packets not yet in a jitter run
        self._timestamps: list[int] = []
        self._jitter_run = _NO_JITTER
        self._expected_prior = 0
        self._received_prior = 0

    @property
    def packets_received(self) -> int:
        """Every packet accepted, across restarts."""
        return self._packets_in_runs + len(self._arrivals)

    @property
    def jitter(self) -> float:
        """A.8's estimate after the latest packet, in timestamp units."""
        return self._run_jitter().jitter

    @property
    def max_jitter(self) -> float:
        return self._run_jitter().max_jitter

    @property
    def extended_highest_sequence(self) -> int:
        return self._cycles + self.max_sequence

    @property
    def expected(self) -> int:
        """A.3: packets expected from the first sequence number to the highest seen."""
        if self.ssrc is None:
            return 0
        return self.extended_highest_sequence - self._base_sequence + 1

    @property
    def cumulative_lost(self) -> int:
        """A.3, since the source last (re)started: negative when duplicates arrived."""
        return self.expected - (self.packets_received - self._received_before_run)

    @property
    def packets_lost(self) -> int:
        """cumulative_lost summed over every restart of the source (a new SSRC, a jump)."""
        return self._lost_before_run + self.cumulative_lost

    @property
    def mean_jitter(self) -> float:
        jitter_sum = self._run_jitter().jitter_sum
        return jitter_sum / self._packets_in_runs if self._packets_in_runs else 0.0

    def set_clock_rate(self, clock_rate: int) -> None:
        """Another codec on the stream (a re-INVITE): timestamps count in other units, so the
        next packet starts the jitter estimate's transit afresh."""
        if clock_rate != self.clock_rate:
            run = self._run_jitter()
            self.clock_rate = clock_rate
            self._jitter_run = replace(run, transit=None)

    def update(self, sequence_number: int, timestamp: int, ssrc: int, arrival: float) -> bool:
        """Count one packet; False when A.1 says to discard it (nothing is counted then).
        The common case, the next packet in order, is a few integer operations and two
        appends; A.8 waits until MAX_RUN packets are noted or a figure is read."""
        max_sequence = self.max_sequence
        if ssrc != self.ssrc:
            self._restart(sequence_number, ssrc)
        elif (sequence_number - max_sequence) & 0xFFFF < _MAX_DROPOUT:
            if sequence_number < max_sequence:
                self._cycles += _SEQUENCE_MOD  # wrapped
            self.max_sequence = sequence_number
        elif not self._out_of_order(sequence_number, ssrc):
            return False
        arrivals = self._arrivals
        arrivals.append(arrival)
        self._timestamps.append(timestamp)
        if len(arrivals) == MAX_RUN:
            self._run_jitter()
        return True

    def report_block(
        self, ssrc: int, last_sr: int = 0, delay_since_last_sr: int = 0
    ) -> ReportBlock:
        """§6.4.1: fraction lost since the previous report, then the running totals."""
        received = self.packets_received - self._received_before_run
        expected_interval = self.expected - self._expected_prior
        received_interval = received - self._received_prior
        self._expected_prior, self._received_prior = self.expected, received
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

    def _out_of_order(self, sequence_number: int, ssrc: int) -> bool:
        """A.1 outside the in-order window: a late or duplicate packet counts; a jump is
        dropped unless it follows the jump before it (then the source restarted)."""
        if (sequence_number - self.max_sequence) & 0xFFFF > _SEQUENCE_MOD - _MAX_MISORDER:
            return True
        if sequence_number != self._bad_sequence:
            self._bad_sequence = (sequence_number + 1) & 0xFFFF
            return False
        self._restart(sequence_number, ssrc)
        return True

    def _run_jitter(self) -> JitterRun:
        """A.8 over the packets noted since the last run."""
        if self._arrivals:
            self._jitter_run = interarrival_jitter(
                self._arrivals, self._timestamps, self.clock_rate, self._jitter_run
            )
            self._packets_in_runs += len(self._arrivals)
            self._arrivals.clear()
            self._timestamps.clear()
        return self._jitter_run

    def _restart(self, sequence_number: int, ssrc: int) -> None:
        """A.1 init_seq: a new source, or the same one starting over; the loss so far is kept.
        D spans no restart: the first packet of the new run has no transit to differ from."""
        self._jitter_run = replace(self._run_jitter(), transit=None)
        if self.ssrc is not None:
            self._lost_before_run = self.packets_lost
        self.ssrc = ssrc
        self._received_before_run = self.packets_received
        self._base_sequence = self.max_sequence = sequence_number
        self._cycles = 0
        self._bad_sequence = -1
        self._expected_prior = self._received_prior = 0
