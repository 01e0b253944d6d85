"""Enrichment: ask every source about every indicator, follow what they find, store every answer."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from ..case import Case
from ..config import Settings
from ..errors import ConfigError, ExitStatus
from ..vocabulary import company_id, domain_id, split_node_id
from ..sources import Source, SourceContext, registered_sources
from ..store import EvidenceStore
from ..store.evidence import StoreUnreachable
from ..transport.base import Outcome, Query
from ..transport.pipeline import CACHED, NOT_ASKED, QuestionPipeline
from ..transport.policy import AddressPolicy

log = logging.getLogger("osint.enrich")

MAX_FOLLOWUP_CHAIN = 5
WORKERS_PER_SLOT = 2  # workers per fetch slot of a source


@dataclass
class SourceStats:
    asked: int = 0  # questions sent over the network (retries count once)
    answered: int = 0
    cached: int = 0
    no_record: int = 0
    parse_failed: int = 0
    not_asked: int = 0  # offline run without a stored answer
    failed: Counter = field(default_factory=Counter)  # outcome -> count
    first_error: dict = field(default_factory=dict)  # outcome -> the first message of that kind
    planned: int = 0

    @property
    def done(self) -> int:
        return self.answered + self.cached + self.no_record + self.not_asked + sum(self.failed.values())

    def as_dict(self) -> dict[str, Any]:
        return {"asked": self.asked, "answered": self.answered, "cached": self.cached,
                "no_record": self.no_record, "parse_failed": self.parse_failed, "not_asked": self.not_asked,
                "failed": dict(sorted(self.failed.items()))}


@dataclass
class RunReport:
    run_id: str
    stats: dict[str, SourceStats]
    skipped_sources: dict[str, str]
    nodes: int = 0
    depth_reached: int = 0
    leads_dropped: int = 0
    shared_infrastructure: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def complete(self) -> bool:
        return all(not s.failed and not s.parse_failed and not s.not_asked for s in self.stats.values())

    @property
    def exit_status(self) -> ExitStatus:
        return ExitStatus.SUCCESS if self.complete else ExitStatus.PARTIAL

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "complete": self.complete, "nodes": self.nodes,
                "depth_reached": self.depth_reached, "leads_dropped": self.leads_dropped,
                "shared_infrastructure": self.shared_infrastructure,
                "skipped_sources": self.skipped_sources, "duration_s": round(self.duration_s, 3),
                "sources": {k: v.as_dict() for k, v in self.stats.items()}}


def select_sources(settings: Settings, context: SourceContext, names: list[str] | None) -> tuple[list[Source], dict[str, str]]:
    """Instantiate the sources to run; return them and the ones skipped, with why."""
    available = registered_sources()
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ConfigError(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(available)}")
    chosen, skipped = [], {}
    for name, cls in available.items():
        if names and name not in names:
            continue
        conf = settings.source(name)
        if not conf.enabled:
            skipped[name] = "disabled in the configuration"
            continue
        src = cls(conf, context)
        reason = src.ready()
        if reason:
            skipped[name] = reason
            continue
        chosen.append(src)
    return chosen, skipped


class Enricher:
    """One enrichment run. Use `run()`; `on_event` receives progress events (dicts)."""

    def __init__(self, settings: Settings, case: Case, store: EvidenceStore, *, sources: list[str] | None = None,
                 depth: int | None = None, refresh: bool = False, offline: bool = False,
                 concurrency: int | None = None, on_event: Callable[[dict[str, Any]], None] | None = None,
                 command: str = "enrich"):
        if refresh and offline:
            raise ConfigError("--refresh and --offline contradict each other; choose one")
        self.settings = settings
        self.case = case
        self.store = store
        self.depth = settings.enrich.depth if depth is None else depth
        if self.depth < 0:
            raise ConfigError("--depth must be 0 or more")
        self.refresh = refresh
        self.offline = offline
        self.concurrency = concurrency or settings.enrich.concurrency
        if self.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        self.on_event = on_event or (lambda e: None)
        self.command = command
        context = SourceContext(case=case, enrich=settings.enrich)
        self.sources, skipped = select_sources(settings, context, sources)
        self.policy = AddressPolicy(allow_private=settings.enrich.allow_private, egress=settings.enrich.egress)
        self.run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
        self.report = RunReport(self.run_id, {s.name: SourceStats() for s in self.sources}, skipped)
        self._asked: set[tuple[str, str]] = set()
        self._enrichable = {k for s in self.sources for k in s.consumes} | {"email"}

    # -- the run -----------------------------------------------------------------------

    def seeds(self) -> list[str]:
        nodes = [i.node_id for i in self.case.indicators() if i.kind in ("ip", "domain", "email", "url")]
        nodes += [u.node_id for u in self.case.seed_urls]
        nodes += [company_id(c.uscc) for c in self.case.companies if c.uscc]
        # Accounts: only the sources that read a platform (telegram, google-play, youtube) ask about them.
        nodes += [i.node_id for i in self.case.indicators() if i.kind == "account"]
        return sorted(dict.fromkeys(nodes))

    def run(self) -> RunReport:
        start = time.monotonic()
        self.store.start_run(self.run_id, self.command)
        try:
            asyncio.run(self._run())
        except StoreUnreachable:
            raise  # nothing more can be written; the run stays open and is resumed by running it again
        except BaseException:
            self._close_quietly("interrupted")
            raise
        finally:
            self.report.duration_s = time.monotonic() - start
        self.store.finish_run(self.run_id, "complete" if self.report.complete else "partial", self.report.as_dict())
        return self.report

    def _close_quietly(self, status: str) -> None:
        try:
            self.store.finish_run(self.run_id, status, self.report.as_dict())
        except Exception:  # noqa: BLE001 - the first error is the one to report
            log.debug("could not record the run as %s", status, exc_info=True)

    async def _run(self) -> None:
        pipeline = QuestionPipeline(self.store, self.run_id, policy=self.policy, concurrency=self.concurrency,
                                    refresh=self.refresh, offline=self.offline,
                                    on_retry=lambda src: self._event(src, "retry"))
        async with pipeline.open(self.sources) as self.pipeline:
            await self._frontier()

    # -- the frontier ------------------------------------------------------------------
    #
    # A node's questions go to its sources' queues as soon as the node is found, and an answer's leads become
    # nodes one depth further as soon as that answer is parsed: a follow-up never waits for the slowest source's
    # tail on other nodes of the same depth (there is no level barrier). The guards count per pivot, over all
    # of its answers: past `max_new_per_pivot` new nodes the rest are dropped (the first answered are
    # followed; within one answer, in sorted order), and past `shared_infra_threshold` the pivot is recorded
    # as shared infrastructure and nothing more is followed from it.

    async def _frontier(self) -> None:
        self._queues: dict[str, asyncio.Queue] = {src.name: asyncio.Queue() for src in self.sources}
        self._depth_of: dict[str, int] = {}
        self._fresh: dict[str, set[str]] = {}  # pivot -> the new nodes its answers named
        self._followed: Counter = Counter()  # pivot -> how many of them became nodes
        self._outstanding = 0
        for node in self.seeds():
            self._plan(node, 0)
        self._finish_if_done()

        async def work(src: Source) -> None:
            queue = self._queues[src.name]
            while (item := await queue.get()) is not None:
                node, q = item
                await self._ask(src, q, node, 0)
                self._outstanding -= 1
                self._finish_if_done()

        # Twice the source's fetch slots: a worker waiting for the store or for a retry leaves its slot to another.
        await asyncio.gather(*(work(src) for src in self.sources
                               for _ in range(WORKERS_PER_SLOT * self.pipeline.slots(src))))
        self.report.nodes = len(self._depth_of)
        self.report.leads_dropped = sum(len(f) - self._followed[p] for p, f in self._fresh.items())

    def _plan(self, node: str, depth: int) -> None:
        """Put a node's questions in its sources' queues (again, if it is now found nearer the case)."""
        self._depth_of[node] = depth
        self.report.depth_reached = max(self.report.depth_reached, depth)
        planned = Counter()
        for pivot in _pivots(node):
            kind, _ = split_node_id(pivot)
            for src in self.sources:
                if kind not in src.consumes:
                    continue
                for q in src.queries(pivot, depth):
                    if (src.name, q.key) in self._asked:
                        continue
                    self._asked.add((src.name, q.key))
                    planned[src.name] += 1
                    self._queues[src.name].put_nowait((node, q))
        for name, n in planned.items():
            self.report.stats[name].planned += n
            self.on_event({"type": "planned", "source": name, "total": self.report.stats[name].planned})
        self._outstanding += sum(planned.values())

    def _follow(self, pivot: str, leads: list[str]) -> None:
        """One answer about `pivot` named `leads`: the new ones become nodes one depth further, within the guards."""
        depth = self._depth_of[pivot]
        if depth >= self.depth or pivot in self.report.shared_infrastructure:
            return
        known = self._depth_of
        fresh = self._fresh.setdefault(pivot, set())
        new = sorted({n for n in leads if n not in fresh and split_node_id(n)[0] in self._enrichable
                      and not (n in known and known[n] <= depth)})
        fresh.update(new)
        guard = self.settings.enrich
        if len(fresh) > guard.shared_infra_threshold:
            # Shared infrastructure (a hosting IP, a big name server): record, don't expand.
            self.report.shared_infrastructure.append(pivot)
            return
        for node in new[: max(0, guard.max_new_per_pivot - self._followed[pivot])]:
            self._followed[pivot] += 1
            if known.get(node, depth + 2) > depth + 1:
                self._plan(node, depth + 1)

    def _finish_if_done(self) -> None:
        if self._outstanding == 0:
            for src in self.sources:
                for _ in range(WORKERS_PER_SLOT * self.pipeline.slots(src)):
                    self._queues[src.name].put_nowait(None)

    # -- one question and its follow-ups -------------------------------------------------

    async def _ask(self, src: Source, q: Query, node: str, chain: int) -> None:
        stats = self.report.stats[src.name]
        answer = await self.pipeline.ask(src, q)
        if answer.how == NOT_ASKED:
            stats.not_asked += 1
            self._event(src, "not_asked")
            return
        if answer.how == CACHED:
            stats.cached += 1
            self._event(src, "cached")
        else:
            stats.asked += 1
            if answer.outcome == Outcome.ANSWERED:
                stats.answered += 1
            elif answer.outcome == Outcome.NO_RECORD:
                stats.no_record += 1
            else:
                stats.failed[str(answer.outcome)] += 1
                stats.first_error.setdefault(str(answer.outcome), answer.error or str(answer.outcome))
                log.info("%s %s: %s", src.name, q.key, answer.error or answer.outcome)
            self._event(src, str(answer.outcome))
        if answer.parse_error:
            stats.parse_failed += 1
            log.warning("%s", answer.parse_error)
        if answer.parsed is None:
            return
        self._follow(node, answer.parsed.leads)
        if chain < MAX_FOLLOWUP_CHAIN:
            follow = [f for f in answer.parsed.followups if (f.source or src.name, f.key) not in self._asked]
            for f in follow:
                self._asked.add((src.name, f.key))
                stats.planned += 1
            await asyncio.gather(*(self._ask(src, f, node, chain + 1) for f in follow))

    def _event(self, src: Source, outcome: str) -> None:
        self.on_event({"type": "done", "source": src.name, "outcome": outcome})


def _pivots(node: str) -> list[str]:
    """A node and what it implies: an e-mail address is also a question about its domain."""
    kind, value = split_node_id(node)
    if kind == "email" and "@" in value:
        return [node, domain_id(value.rsplit("@", 1)[1])]
    return [node]
