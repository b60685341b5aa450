from mediaserver.api.rest.rate_limit import RateLimit, RateLimiter
from mediaserver.clock import ManualClock


def test_plivo_rate_300_per_5_seconds_per_account() -> None:
    clock = ManualClock()
    limiter = RateLimiter(RateLimit(), clock)
    assert all(limiter.admit("MA1") for _ in range(300))
    assert not limiter.admit("MA1")
    assert limiter.admit("SA2"), "another account has its own window"
    clock.advance(4.9)
    assert not limiter.admit("MA1")
    clock.advance(0.2)
    assert limiter.admit("MA1")


def test_refused_requests_do_not_extend_the_wait() -> None:
    clock = ManualClock()
    limiter = RateLimiter(RateLimit(requests=2, window_seconds=1.0), clock)
    assert limiter.admit("MA1")
    clock.advance(0.5)
    assert limiter.admit("MA1")
    for _ in range(10):
        assert not limiter.admit("MA1")
    clock.advance(0.5)
    assert limiter.admit("MA1"), "the first request left the window"
