"""Rate limits (token bucket per server), backoff with jitter, and a breaker for servers that keep failing."""

from __future__ import annotations

import asyncio
import random
import time

from .base import Outcome

# Outcomes worth another try: the server may answer next time. The rest are final.
TRANSIENT = {Outcome.TIMEOUT, Outcome.RESET, Outcome.SERVER_ERROR, Outcome.RATE_LIMITED}
# Outcomes that say the server cannot be reached at all; after a few, stop sending to it.
DEAD = {Outcome.UNREACHABLE, Outcome.REFUSED, Outcome.TIMEOUT}


class NotSent(Exception):
    """A budget said no (the team's API credits are spent): the question is recorded as not sent, with why."""

    outcome = Outcome.BLOCKED  # our own policy kept it off the wire


class TokenBucket:
    """`rate` requests a second on average, `burst` at once; can be paused (Retry-After)."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate = max(rate, 1e-6)
        self.capacity = max(1, burst)
        self.tokens = float(self.capacity)
        self.clock = clock
        self.updated = clock()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                if now < self.paused_until:
                    await asyncio.sleep(self.paused_until - now)
                    continue
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)
        self.tokens = 0.0


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter: attempt 0 waits up to `base`, then doubles."""
    return random.uniform(0, min(cap, base * (2 ** attempt)))


class Breaker:
    """Counts consecutive failures per server; opens after `threshold`, so we stop hammering it."""

    def __init__(self, threshold: int = 4, rate_limit_threshold: int = 3):
        self.threshold = threshold
        self.rate_limit_threshold = rate_limit_threshold
        self.dead: dict[str, int] = {}
        self.limited: dict[str, int] = {}
        self.reasons: dict[str, str] = {}

    def observe(self, server: str, outcome: Outcome, error: str | None) -> None:
        if outcome in DEAD:
            self.dead[server] = self.dead.get(server, 0) + 1
            if self.dead[server] >= self.threshold:
                self.reasons.setdefault(server, f"{server} failed {self.threshold} times in a row ({error})")
        elif outcome == Outcome.RATE_LIMITED:
            self.limited[server] = self.limited.get(server, 0) + 1
            if self.limited[server] >= self.rate_limit_threshold:
                self.reasons.setdefault(server, f"{server} kept answering 429; paused for this run")
        else:
            self.dead[server] = 0
            self.limited[server] = 0

    def open_reason(self, server: str) -> str | None:
        return self.reasons.get(server)
