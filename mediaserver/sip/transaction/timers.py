"""Timer values of RFC 3261 §17 and Table 4 (with RFC 6026's Timers L and M)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timers:
    t1: float = 0.5  # RTT estimate
    t2: float = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
    t4: float = 5.0  # maximum duration a message remains in the network

    @property
    def timer_b(self) -> float:
        """INVITE transaction timeout (also F, H, J, L, M: all 64*T1)."""
        return 64 * self.t1

    def timer_d(self, reliable: bool) -> float:
        """Wait time for response retransmissions: at least 32 s on unreliable transports."""
        return 0.0 if reliable else max(32.0, 64 * self.t1)

    def timer_i(self, reliable: bool) -> float:
        """Wait time for ACK retransmissions."""
        return 0.0 if reliable else self.t4

    def timer_k(self, reliable: bool) -> float:
        """Wait time for non-INVITE response retransmissions."""
        return 0.0 if reliable else self.t4

    def timer_j(self, reliable: bool) -> float:
        """Wait time for non-INVITE request retransmissions."""
        return 0.0 if reliable else 64 * self.t1


DEFAULT_TIMERS = Timers()
