"""Requests per account over a sliding window: Plivo allows 300 requests per 5 seconds per
account and answers 429 beyond (plivo.md §4, Status codes)."""

from collections import deque
from dataclasses import dataclass

from mediaserver.clock import Clock

PLIVO_REQUESTS = 300
PLIVO_WINDOW_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class RateLimit:
    requests: int = PLIVO_REQUESTS
    window_seconds: float = PLIVO_WINDOW_SECONDS


class RateLimiter:
    """Admits a request when fewer than `requests` of the same account were admitted within
    the last `window_seconds`. Refused requests do not count, so a client that backs off is
    served again as soon as the window slides."""

    def __init__(self, limit: RateLimit, clock: Clock) -> None:
        self._limit = limit
        self._clock = clock
        self._admitted: dict[str, deque[float]] = {}
        self._refused = 0

    def admit(self, account: str) -> bool:
        now = self._clock.now()
        times = self._admitted.setdefault(account, deque())
        while times and times[0] <= now - self._limit.window_seconds:
            times.popleft()
        if len(times) >= self._limit.requests:
            self._refused += 1
            return False
        times.append(now)
        return True

    def statistics(self) -> dict[str, int]:
        return {"rate_limited": self._refused, "accounts_tracked": len(self._admitted)}
