"""Rate limits and the breaker: the scheduling rules users depend on to avoid bans."""

import asyncio

from osint.transport.limits import Breaker, TokenBucket, backoff
from osint.store import Outcome


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_token_bucket_spaces_requests_at_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=1, clock=clock)
    waits = []

    async def fake_sleep(seconds):
        waits.append(seconds)
        clock.t += seconds

    async def main():
        original = asyncio.sleep
        asyncio.sleep = fake_sleep
        try:
            for _ in range(5):
                await bucket.acquire()
        finally:
            asyncio.sleep = original

    asyncio.run(main())
    # one token up front, then one every 0.5 s: 4 more requests need 2 s of waiting
    assert abs(clock.t - 2.0) < 1e-9


def test_pause_holds_everyone_back():
    clock = FakeClock()
    bucket = TokenBucket(rate=100.0, burst=10, clock=clock)
    bucket.pause(30)
    assert bucket.paused_until == 30 and bucket.tokens == 0


def test_backoff_grows_and_is_capped():
    assert all(0 <= backoff(0) <= 0.5 for _ in range(50))
    assert max(backoff(10) for _ in range(200)) <= 30.0


def test_breaker_opens_after_consecutive_failures_only():
    b = Breaker(threshold=3)
    for outcome in (Outcome.TIMEOUT, Outcome.TIMEOUT, Outcome.ANSWERED, Outcome.TIMEOUT, Outcome.TIMEOUT):
        b.observe("s", outcome, "x")
    assert b.open_reason("s") is None
    b.observe("s", Outcome.UNREACHABLE, "no route")
    assert "failed 3 times" in b.open_reason("s")
    for _ in range(3):
        b.observe("r", Outcome.RATE_LIMITED, None)
    assert "429" in b.open_reason("r")
