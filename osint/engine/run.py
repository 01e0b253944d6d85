"""Enrichment: ask every source about every indicator, follow what they find, store every answer."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from ..config import Settings
from ..errors import ConfigError, ExitStatus
from ..facts import split_node_id
from ..sources import Parsed, ParseError, Source, SourceContext, registered_sources
from ..store import EvidenceStore, Outcome
from ..store.evidence import StoreUnreachable
from ..transport.base import Fetched, Query
from ..transport.policy import AddressPolicy
from ..store.writer import BatchWriter, RowRefused
from .execute import fetch, observation_fields, parse_stored
from .limits import TRANSIENT, Breaker, TokenBucket, backoff

log = logging.getLogger("osint.enrich")

MAX_RETRY_WAIT = 60.0  # a Retry-After longer than this ends the question for this run
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

    def __init__(self, settings: Settings, case: Any, store: EvidenceStore, *, sources: list[str] | None = None,
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
        self.policy = AddressPolicy(allow_private=settings.enrich.allow_private)
        self.run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
        self.report = RunReport(self.run_id, {s.name: SourceStats() for s in self.sources}, skipped)
        self.breaker = Breaker()
        self._asked: set[tuple[str, str]] = set()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._cache: dict[str, dict[str, tuple[int, str]]] = {}

    # -- the frontier ------------------------------------------------------------------

    def seeds(self) -> list[str]:
        nodes = [i.node_id for i in self.case.indicators() if i.kind in ("ip", "domain", "email", "url")]
        nodes += [u.node_id for u in getattr(self.case, "seed_urls", [])]
        nodes += [f"company:{c.uscc}" for c in getattr(self.case, "companies", []) if getattr(c, "uscc", None)]
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
        for src in self.sources:
            if not self.refresh:
                self._cache[src.name] = self.store.latest_answers(src.name)
        workers = min(64, max(4, sum(min(s.concurrency, self.concurrency) for s in self.sources)))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="osint-fetch")
        self._sems = {s.name: asyncio.Semaphore(min(s.concurrency, self.concurrency)) for s in self.sources}
        self.writer = BatchWriter(self.store, asyncio.get_running_loop())
        try:
            seen: set[str] = set()
            level = self.seeds()
            for depth in range(self.depth + 1):
                level = [n for n in level if n not in seen]
                if not level:
                    break
                seen.update(level)
                self.report.depth_reached = depth
                leads_by_pivot = await self._enrich_level(level, depth)
                level = self._next_level(leads_by_pivot, seen) if depth < self.depth else []
            self.report.nodes = len(seen)
        finally:
            await self.writer.close()
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _enrich_level(self, nodes: list[str], depth: int) -> dict[str, list[str]]:
        # A queue of questions per source, asked by a few workers per source: a task per question, all
        # created at once, kept a suspended question (and, once fetched, its raw answer waiting for the
        # store) for every question of the level, so memory grew with the case.
        queues: dict[str, deque[tuple[str, Query]]] = {src.name: deque() for src in self.sources}
        for node in nodes:
            for pivot in _pivots(node):
                kind, _ = split_node_id(pivot)
                for src in self.sources:
                    if kind not in src.consumes:
                        continue
                    for q in src.queries(pivot, depth):
                        if (src.name, q.key) in self._asked:
                            continue
                        self._asked.add((src.name, q.key))
                        self.report.stats[src.name].planned += 1
                        queues[src.name].append((node, q))
        for name, st in self.report.stats.items():
            self.on_event({"type": "planned", "source": name, "total": st.planned})
        leads: dict[str, list[str]] = {}

        async def work(src: Source, queue: deque[tuple[str, Query]]) -> None:
            while queue:
                node, q = queue.popleft()
                leads.setdefault(node, []).extend(await self._ask(src, q, 0))

        # Twice the source's fetch slots: a worker waiting for the store or for a retry leaves its slot to another.
        await asyncio.gather(*(work(src, queues[src.name]) for src in self.sources
                               for _ in range(WORKERS_PER_SLOT * min(src.concurrency, self.concurrency))))
        return leads

    def _next_level(self, leads_by_pivot: dict[str, list[str]], seen: set[str]) -> list[str]:
        enrichable = {k for s in self.sources for k in s.consumes} | {"email"}
        nxt: list[str] = []
        guard = self.settings.enrich
        for pivot, found in sorted(leads_by_pivot.items()):
            fresh = sorted({n for n in found if n not in seen and split_node_id(n)[0] in enrichable})
            if len(fresh) > guard.shared_infra_threshold:
                # Shared infrastructure (a hosting IP, a big name server): record, don't expand.
                self.report.shared_infrastructure.append(pivot)
                self.report.leads_dropped += len(fresh)
                continue
            if len(fresh) > guard.max_new_per_pivot:
                self.report.leads_dropped += len(fresh) - guard.max_new_per_pivot
                fresh = fresh[: guard.max_new_per_pivot]
            nxt.extend(fresh)
        return sorted(dict.fromkeys(nxt))

    # -- one question ------------------------------------------------------------------

    async def _ask(self, src: Source, q: Query, chain: int) -> list[str]:
        stats = self.report.stats[src.name]
        parsed = None
        cached = None if self.refresh else self._cached(src, q)
        if cached is not None:
            obs_id, outcome = cached
            stats.cached += 1
            parsed = self._load_parse(src, q, obs_id)
            self._event(src, "cached")
        elif self.offline:
            stats.not_asked += 1
            self._event(src, "not_asked")
            return []
        else:
            fetched, obs_id = await self._fetch_with_retries(src, q)
            stats.asked += 1
            if fetched.outcome == Outcome.ANSWERED:
                stats.answered += 1
            elif fetched.outcome == Outcome.NO_RECORD:
                stats.no_record += 1
            else:
                stats.failed[str(fetched.outcome)] += 1
                stats.first_error.setdefault(str(fetched.outcome), fetched.error or str(fetched.outcome))
                log.info("%s %s: %s", src.name, q.key, fetched.error or fetched.outcome)
            self._event(src, str(fetched.outcome))
            if fetched.outcome.is_answer:
                try:
                    parsed = parse_stored(src, q, fetched.raw, fetched.meta)
                except ParseError as exc:
                    stats.parse_failed += 1
                    self.writer.parse(obs_id, src.parser_id(), {"error": str(exc)})
                    log.warning("%s", exc)
                else:
                    self.writer.parse(obs_id, src.parser_id(), parsed.to_json())
        if parsed is None:
            return []
        leads = list(parsed.leads)
        if chain < MAX_FOLLOWUP_CHAIN:
            follow = [f for f in parsed.followups if (f.source or src.name, f.key) not in self._asked]
            for f in follow:
                self._asked.add((src.name, f.key))
                stats.planned += 1
            for more in await asyncio.gather(*(self._ask(src, f, chain + 1) for f in follow)):
                leads.extend(more)
        return leads

    def _cached(self, src: Source, q: Query) -> tuple[int, str] | None:
        hit = self._cache.get(src.name, {}).get(q.key)
        if hit is None:
            return None
        obs_id, observed_at = hit
        if not self.offline and _age_s(observed_at) > src.cache_ttl:
            return None
        return obs_id, observed_at

    def _load_parse(self, src: Source, q: Query, obs_id: int) -> Parsed | None:
        stored = self.store.latest_parse(obs_id)
        if stored is not None and "error" not in stored:
            return Parsed.from_json(stored)
        # Killed between storing the answer and its parse, or an older parser failed: parse again.
        obs = self.store.get(obs_id)
        try:
            parsed = parse_stored(src, q, obs.raw, obs.meta)
        except ParseError as exc:
            self.report.stats[src.name].parse_failed += 1
            log.warning("%s", exc)
            return None
        self.writer.parse(obs_id, src.parser_id(), parsed.to_json())
        return parsed

    async def _fetch_with_retries(self, src: Source, q: Query) -> tuple[Fetched, int]:
        server = _server_of(q)
        bucket = self._bucket(src, server)
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            reason = self.breaker.open_reason(f"{src.name}|{server}")
            if reason is None:
                async with self._sems[src.name]:
                    # Checked again once our turn has come: the questions ahead of us may have opened it.
                    reason = self.breaker.open_reason(f"{src.name}|{server}")
                    if reason is None:
                        await bucket.acquire()
                        fetched = await loop.run_in_executor(self._pool, fetch, src, q, self.policy)
            if reason:
                fetched = Fetched(Outcome.RATE_LIMITED if "429" in reason else Outcome.UNREACHABLE,
                                  error=f"not sent: {reason}", meta={"sent": False}, endpoint=q.endpoint)
                return fetched, await self._store(src, q, fetched)
            # Count the outcome before waiting on the store, so that questions queued behind us see it.
            self.breaker.observe(f"{src.name}|{server}", fetched.outcome, fetched.error)
            obs_id = await self._store(src, q, fetched)
            if obs_id is None:
                return Fetched(Outcome.ERROR, error=fetched.error, meta=fetched.meta, endpoint=q.endpoint), None
            if fetched.outcome not in TRANSIENT or attempt >= src.retries:
                return fetched, obs_id
            wait = fetched.retry_after if fetched.retry_after is not None else backoff(attempt)
            if wait > MAX_RETRY_WAIT:
                return fetched, obs_id
            if fetched.outcome == Outcome.RATE_LIMITED:
                bucket.pause(wait)  # everyone asking this server waits, not just us
            attempt += 1
            self._event(src, "retry")
            await asyncio.sleep(wait)

    async def _store(self, src: Source, q: Query, fetched: Fetched) -> int | None:
        """The observation id of the stored answer; None (and the answer's error says why) if refused."""
        try:
            return await self.writer.observation(observation_fields(self.run_id, src, q, fetched))
        except RowRefused as exc:
            fetched.error = f"the evidence store refused the answer: {exc}"
            return None

    def _bucket(self, src: Source, server: str) -> TokenBucket:
        key = (src.name, server)
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(src.rate_for(server), src.burst)
        return self._buckets[key]

    def _event(self, src: Source, outcome: str) -> None:
        self.on_event({"type": "done", "source": src.name, "outcome": outcome})


def _pivots(node: str) -> list[str]:
    """A node and what it implies: an e-mail address is also a question about its domain."""
    kind, value = split_node_id(node)
    if kind == "email" and "@" in value:
        return [node, f"domain:{value.rsplit('@', 1)[1]}"]
    return [node]


def _server_of(q: Query) -> str:
    ep = q.endpoint
    if "://" in ep:
        from urllib.parse import urlsplit

        return urlsplit(ep).netloc or ep
    return ep


def _age_s(observed_at: str) -> float:
    t = datetime.fromisoformat(observed_at.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - t).total_seconds()
