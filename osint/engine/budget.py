"""Rate budgets and API credits kept in the shared store: one budget per (source, server, egress address).

Workers that leave through the same egress address share one token bucket, so three workers on one
machine ask a server no faster than one would; another machine (another egress) has a budget of its
own. A source's `credits = N` ([sources.NAME] in osint.toml) is the team's budget of metered API
credits: every question sent spends what the source says it costs (one, unless the source has a
`credit_cost(query)`: Shodan's searches cost one, its host lookups none), counted in the store, and a
question that would go over is recorded as not sent, with why.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from ..store.shared import WorkTables
from ..transport.base import Query
from ..transport.limits import NotSent

# The question the current task is asking: the pipeline asks its bucket per server, credits go per question.
ASKING: ContextVar[Query | None] = ContextVar("osint_asking", default=None)

LONGEST_NAP = 2.0  # seconds: a bucket asked again at least this often, in case a 429 pause was lifted


def credit_budget(src: Any) -> int | None:
    settings = getattr(src, "settings", None)
    value = settings.get("credits") if settings is not None else None
    return None if value is None else int(value)


def credit_cost(src: Any, query: Query | None) -> int:
    cost = getattr(src, "credit_cost", None)
    if cost is None or query is None:
        return 1
    return int(cost(query))


class SharedBucket:
    """The pipeline's rate bucket for one (source, server), kept in the store for one egress address."""

    def __init__(self, work: WorkTables, src: Any, server: str, egress: str, pool: Any = None):
        self.work = work
        self.src = src
        self.server = server
        self.egress = egress
        self.pool = pool

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        budget = credit_budget(self.src)
        if budget is not None:
            cost = credit_cost(self.src, ASKING.get())
            if cost and not await loop.run_in_executor(self.pool, self.work.spend, self.src.name, cost, budget):
                raise NotSent(f"the team's budget of {budget} {self.src.name} credits is spent (counted in the "
                              f"shared store); raise [sources.{self.src.name}] credits to ask more")
        rate = self.src.rate_for(self.server)
        while True:
            wait = await loop.run_in_executor(self.pool, self.work.take_token, self.src.name, self.server,
                                              self.egress, rate, self.src.burst)
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, LONGEST_NAP))

    def pause(self, seconds: float) -> None:
        asyncio.get_running_loop().run_in_executor(self.pool, self.work.pause, self.src.name, self.server,
                                                   self.egress, seconds)
