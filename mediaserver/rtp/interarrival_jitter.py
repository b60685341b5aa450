"""RFC 3550 §A.8's interarrival jitter, computed for a run of packets at once.

A receiver updates J for every packet: J += (|D(i-1, i)| - J) / 16, D being the change in
transit time (arrival in timestamp units minus the RTP timestamp). Done per packet in Python
that is a chain of float operations, each allocating, on the relay fast path where the rest of
the work is a header rewrite. So the receive statistics only note each packet's arrival time
and timestamp, and this module runs the recurrence over a whole run with numpy.

J is a first-order linear recurrence with a = 15/16, so after k packets of a run that starts
at J0:

    J_k = a^k * (J0 + 1/16 * sum_{j <= k} a^-j |D_j|)

Every term of the sum is positive, so each prefix sum is exact to float64's relative
precision and so is J_k once scaled back by a^k; a^-k only has to stay finite, which it does
far beyond MAX_RUN ((16/15)^512 is about 10^14). MAX_RUN bounds what a stream holds between
runs: 512 packets, about 10 s of 20 ms packets and 36 kB.
"""

from dataclasses import dataclass

import numpy as np

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
