"""Timer values of RFC 3261 §17 and Table 4 (A) with RFC 6026's Timers L and M.

Timers A, E and G start at T1 and double (E and G up to T2); they are the transactions' own
arithmetic. This module holds the durations that only depend on T1, T2, T4 and the transport.
"""

from dataclasses import dataclass

# §17.2.1: the INVITE server transaction sends a 100 (Trying) unless the TU answers within
# 200 ms. RFC 3261 gives this delay no timer letter.
TRYING_DELAY = 0.2


@dataclass(frozen=True, slots=True)
class Timers:
    t1: float = 0.5  # RTT estimate (§17.1.1.1)
    t2: float = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
    t4: float = 5.0  # maximum duration a message remains in the network

    @property
    def timer_b(self) -> float:
        """INVITE transaction timeout (§17.1.1.2)."""
        return 64 * self.t1

    @property
    def timer_f(self) -> float:
        """Non-INVITE transaction timeout (§17.1.2.2)."""
        return 64 * self.t1

    @property
    def timer_h(self) -> float:
        """Wait time for the ACK of a non-2xx final response (§17.2.1)."""
        return 64 * self.t1

    @property
    def timer_l(self) -> float:
        """Wait time for INVITE retransmissions after a 2xx (RFC 6026 §7.1)."""
        return 64 * self.t1

    @property
    def timer_m(self) -> float:
        """Wait time for 2xx retransmissions and other forks' 2xx (RFC 6026 §7.2)."""
        return 64 * self.t1

    def timer_d(self, reliable: bool) -> float:
        """Wait time for response retransmissions: above 32 s on unreliable transports."""
        return 0.0 if reliable else max(32.0, 64 * self.t1)

    def timer_i(self, reliable: bool) -> float:
        """Wait time for ACK retransmissions."""
        return 0.0 if reliable else self.t4

    def timer_j(self, reliable: bool) -> float:
        """Wait time for non-INVITE request retransmissions."""
        return 0.0 if reliable else 64 * self.t1

    def timer_k(self, reliable: bool) -> float:
        """Wait time for non-INVITE response retransmissions."""
        return 0.0 if reliable else self.t4


DEFAULT_TIMERS = Timers()
