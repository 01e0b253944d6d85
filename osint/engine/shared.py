"""A run shared by workers on several machines: the frontier kept in PostgreSQL, questions leased, not owned.

`osint enrich` on a PostgreSQL store opens a shared run (`SharedEnricher`): the run's sources, depth,
guards and the case file's text go into `run_work`, the case's indicators into `work_nodes`, their
questions into `work_questions`, all in one transaction. Any number of `Worker`s, in any process on
any machine pointed at the same store, then lease questions (SELECT ... FOR UPDATE SKIP LOCKED), take
each through the QuestionPipeline (cache, rate budget of their egress address, fetch, record, parse)
and complete it in one transaction that also counts down its node's open questions, adds its leads
and follow-ups, and, when the node's last question is done, expands the node (its leads become nodes
one depth further, within the same guards as the in-process engine). A question is in a run once
((run, source, query key) is unique), so two workers meeting the same lead enqueue it once. A lease
is renewed by its worker's heartbeat; one that expires (its worker was killed) is taken by another
worker, which first looks in the store for the answer the dead one may have recorded.

The run is complete when no question is queued or leased; whoever sees that first closes it. The
closing table is computed from the shared tables, so it is the same from any machine. SQLite keeps
the in-process engine (osint/engine/run.py), unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from ..config import Settings
from ..errors import ConfigError, StoreError
from ..facts import query_from_json, query_to_json, split_node_id
from ..sources import Source, SourceContext, registered_sources
from ..store import EvidenceStore
from ..store.shared import WorkTables
from ..transport.base import Outcome
from ..transport.pipeline import CACHED, NOT_ASKED, Answer, QuestionPipeline
from ..transport.policy import AddressPolicy
from .budget import ASKING, SharedBucket
from .run import MAX_FOLLOWUP_CHAIN, WORKERS_PER_SLOT, Enricher, RunReport, SourceStats, _pivots

log = logging.getLogger("osint.worker")

POLL_S = 0.5
LEASE_AHEAD_S = 1.0  # a worker leases what it can ask in about this long at the source's rate


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def shared_tables(store: EvidenceStore) -> WorkTables:
    if store.dialect != "postgresql":
        raise StoreError(f"{store.shown}: workers share a run through a PostgreSQL store; a SQLite file is "
                         "one process's (use `osint enrich`)")
    return WorkTables(store)


class Frontier:
    """Plans and expands nodes of one run inside the caller's transaction, with the in-process guards."""

    def __init__(self, work: WorkTables, run_id: str, sources: list[Source], params: dict[str, Any]):
        self.work = work
        self.run_id = run_id
        self.sources = sources
        self.depth = params["depth"]
        self.max_new = params["max_new_per_pivot"]
        self.threshold = params["shared_infra_threshold"]
        self.enrichable = set(params["enrichable"])

    def plan(self, conn: Any, node: str, depth: int, worklist: list[str]) -> None:
        """Put a node's questions in the queue (again, if it is now found nearer the case)."""
        if not self.work.place_node(conn, self.run_id, node, depth):
            return
        questions = []
        for pivot in _pivots(node):
            kind, _ = split_node_id(pivot)
            for src in self.sources:
                if kind in src.consumes:
                    questions += [(src.name, q.key, query_to_json(q), 0) for q in src.queries(pivot, depth)]
        added = self.work.add_questions(conn, self.run_id, node, questions)
        pending = self.work.settle(conn, self.run_id, node, sum(added.values()), [])[0]
        if pending == 0:
            worklist.append(node)

    def drain(self, conn: Any, worklist: list[str]) -> None:
        while worklist:
            self._expand(conn, worklist.pop())

    def _expand(self, conn: Any, pivot: str) -> None:
        """A node's questions are all answered: its leads become nodes one depth further, within the guards."""
        pending, depth, expanded, leads = self.work.settle(conn, self.run_id, pivot, 0, [])
        if pending or depth >= self.depth or (expanded is not None and expanded <= depth):
            return
        known = self.work.depths(conn, self.run_id, sorted(set(leads)))
        fresh = sorted({n for n in leads
                        if not (n in known and known[n] <= depth) and split_node_id(n)[0] in self.enrichable})
        if len(fresh) > self.threshold:
            # Shared infrastructure (a hosting IP, a big name server): record, don't expand.
            self.work.mark_expanded(conn, self.run_id, pivot, depth, len(fresh), True)
            return
        dropped = max(0, len(fresh) - self.max_new)
        fresh = fresh[: self.max_new]
        self.work.mark_expanded(conn, self.run_id, pivot, depth, dropped, False)
        worklist: list[str] = []
        for node in fresh:
            if known.get(node, depth + 2) > depth + 1:
                self.plan(conn, node, depth + 1, worklist)
        self.drain(conn, worklist)

    def complete(self, conn: Any, qid: int, owner: str, src: Source, answer: Answer) -> bool:
        """Record what became of a leased question, count down its node, expand the node if it was the last."""
        result = {"how": answer.how, "outcome": str(answer.outcome) if answer.outcome else None,
                  "error": answer.error, "parse_failed": answer.parse_error is not None}
        if answer.how == "asked" and answer.outcome not in (Outcome.ANSWERED, Outcome.NO_RECORD):
            result["error"] = answer.error or str(answer.outcome)
        got = self.work.finish(conn, qid, owner, result)
        if got is None:
            return False  # our lease ran out and another worker has the question now
        _, node, chain = got
        parsed = answer.parsed
        followups = []
        if parsed is not None and chain < MAX_FOLLOWUP_CHAIN:
            followups = [(src.name, f.key, query_to_json(f), chain + 1) for f in parsed.followups]
        added = self.work.add_questions(conn, self.run_id, node, followups)
        leads = list(parsed.leads) if parsed is not None else []
        pending = self.work.settle(conn, self.run_id, node, sum(added.values()) - 1, leads)[0]
        if pending == 0:
            self.drain(conn, [node])
        return True


def run_params(enricher: Enricher, case_text: str) -> dict[str, Any]:
    guard = enricher.settings.enrich
    return {"sources": [s.name for s in enricher.sources], "depth": enricher.depth, "refresh": enricher.refresh,
            "offline": enricher.offline, "concurrency": enricher.concurrency,
            "max_new_per_pivot": guard.max_new_per_pivot, "shared_infra_threshold": guard.shared_infra_threshold,
            "enrichable": sorted(enricher._enrichable), "skipped": enricher.report.skipped_sources,
            "case": case_text, "case_name": Path(str(getattr(enricher.case, "path", "case.yaml"))).name}


def shared_report(work: WorkTables, run_id: str, params: dict[str, Any], duration_s: float) -> RunReport:
    """The run's closing table from the shared tables: the same whichever machine asks."""
    report = RunReport(run_id, {name: SourceStats() for name in params["sources"]}, dict(params.get("skipped", {})))
    for source, (planned, _) in work.progress(run_id).items():
        report.stats.setdefault(source, SourceStats()).planned = planned
    for source, how, outcome, parse_failed, n, first_error in work.question_counts(run_id):
        st = report.stats.setdefault(source, SourceStats())
        if how == CACHED:
            st.cached += n
        elif how == NOT_ASKED:
            st.not_asked += n
        else:
            st.asked += n
            if outcome == Outcome.ANSWERED:
                st.answered += n
            elif outcome == Outcome.NO_RECORD:
                st.no_record += n
            else:
                st.failed[outcome] += n
                st.first_error.setdefault(outcome, first_error or outcome)
        if parse_failed:
            st.parse_failed += n
    report.nodes, report.depth_reached, report.leads_dropped, report.shared_infrastructure = work.node_counts(run_id)
    report.duration_s = duration_s
    return report


def close_if_done(work: WorkTables, run_id: str, params: dict[str, Any], duration_s: float) -> RunReport | None:
    """The run's report once no question is queued or leased (closing the run if nobody has); else None."""
    if work.remaining(run_id):
        return None
    report = shared_report(work, run_id, params, duration_s)
    work.close_run(run_id, "complete" if report.complete else "partial", report.as_dict())
    return report


class Worker:
    """Asks a shared run's questions. `serve()` works on every open run; `work_run(id)` on one.

    `on_event` receives {"type": "run", "run_id", "state"} when the worker starts or ends a run's work.
    """

    def __init__(self, settings: Settings, store: EvidenceStore, *, egress: str | None = None,
                 lease_s: float | None = None, poll_s: float = POLL_S, concurrency: int | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None):
        self.settings = settings
        self.store = store
        self.work = shared_tables(store)
        self.egress = egress if egress is not None else settings.enrich.egress
        self.lease_s = lease_s or settings.enrich.lease
        self.poll_s = poll_s
        self.concurrency = concurrency
        self.on_event = on_event or (lambda e: None)
        self.name = worker_name()
        self.asked = 0  # questions this worker completed, over all runs
        self._db = ThreadPoolExecutor(max_workers=8, thread_name_prefix="osint-work")

    # -- any open run ------------------------------------------------------------------------

    def serve(self, *, run_id: str | None = None, stop_when_done: bool = False) -> int:
        """Work until interrupted; with `stop_when_done`, until no run is left open (after one was seen).
        With `run_id`, only that run, until it is complete. Returns how many questions this worker did."""
        seen = False
        try:
            while True:
                runs = [run_id] if run_id else self.work.open_runs()
                seen = seen or bool(runs)
                for rid in runs:
                    params = self.work.params(rid)
                    if params is None:
                        raise StoreError(f"{self.store.shown}: no shared run {rid}")
                    if self.work.remaining(rid):
                        asyncio.run(self.work_run(rid))
                    close_if_done(self.work, rid, params, 0.0)
                if run_id and not self.work.remaining(run_id):
                    return self.asked
                if stop_when_done and seen and not self.work.open_runs():
                    return self.asked
                time.sleep(self.poll_s)
        finally:
            self._db.shutdown(wait=False)

    # -- one run -----------------------------------------------------------------------------

    async def work_run(self, run_id: str) -> None:
        loop = asyncio.get_running_loop()
        params = await loop.run_in_executor(self._db, self.work.params, run_id)
        plan_sources, ask_sources = self._sources(params)
        frontier = Frontier(self.work, run_id, plan_sources, params)
        buckets: dict[tuple[str, str], SharedBucket] = {}

        def limiter(src: Any, server: str) -> SharedBucket:
            key = (src.name, server)
            if key not in buckets:
                buckets[key] = SharedBucket(self.work, src, server, self.egress or "", self._db)
            return buckets[key]

        policy = AddressPolicy(allow_private=self.settings.enrich.allow_private, egress=self.egress)
        pipeline = QuestionPipeline(self.store, run_id, policy=policy,
                                    concurrency=self.concurrency or params["concurrency"],
                                    refresh=params["refresh"], offline=params["offline"], limiter=limiter)
        self.on_event({"type": "run", "run_id": run_id, "state": "working"})
        async with pipeline.open(ask_sources) as pipe:
            done = asyncio.Event()
            beat = asyncio.create_task(self._heartbeat(run_id, done))
            try:
                await asyncio.gather(*(self._serve_source(run_id, pipe, frontier, src, params, done)
                                       for src in ask_sources))
            finally:
                done.set()
                await beat
        self.on_event({"type": "run", "run_id": run_id, "state": "done"})

    def _sources(self, params: dict[str, Any]) -> tuple[list[Source], list[Source]]:
        """The run's sources from this worker's settings: all of them plan; those ready here also ask."""
        case = _case_from_text(params["case"], params.get("case_name") or "case.yaml")
        context = SourceContext(case=case, enrich=self.settings.enrich)
        available = registered_sources()
        missing = [n for n in params["sources"] if n not in available]
        if missing:
            raise ConfigError(f"this osint does not know the run's source(s) {', '.join(missing)}; upgrade it")
        plan = [available[n](self.settings.source(n), context) for n in params["sources"]]
        ask = [s for s in plan if self.settings.source(s.name).enabled and s.ready() is None]
        for s in plan:
            if s not in ask:
                log.warning("%s: not asked by this worker (%s); other workers may", s.name,
                            s.ready() or "disabled in the configuration")
        return plan, ask

    async def _heartbeat(self, run_id: str, done: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            try:
                await loop.run_in_executor(self._db, self.work.heartbeat, run_id, self.name, self.lease_s)
            except StoreError as exc:  # said once here; the questions' own writes decide whether the run stops
                log.warning("heartbeat: %s", exc)
            try:
                await asyncio.wait_for(done.wait(), timeout=self.lease_s / 3)
            except asyncio.TimeoutError:
                pass

    async def _serve_source(self, run_id: str, pipe: QuestionPipeline, frontier: Frontier, src: Source,
                            params: dict[str, Any], done: asyncio.Event) -> None:
        """A feeder leases the source's questions a few at a time; 2 x its fetch slots ask them.

        A worker holds no more leases than it can ask within about a second at the source's rate (and
        than its askers can take): questions waiting behind a rate budget are left to other workers."""
        loop = asyncio.get_running_loop()
        n_askers = WORKERS_PER_SLOT * pipe.slots(src)
        limit = max(1, min(n_askers, math.ceil(src.rate * LEASE_AHEAD_S)))
        queue: asyncio.Queue = asyncio.Queue()
        freed = asyncio.Event()
        held = 0

        async def feed() -> None:
            nonlocal held
            while True:
                got = []
                if held < limit:
                    got = await loop.run_in_executor(self._db, self.work.claim, run_id, src.name, self.name,
                                                     limit - held, self.lease_s)
                    held += len(got)
                    for item in got:
                        queue.put_nowait(item)
                    if not got and not await loop.run_in_executor(self._db, self.work.remaining, run_id):
                        break
                if got:
                    continue
                freed.clear()
                try:  # until an asker is free again, or a while for other workers' follow-ups
                    await asyncio.wait_for(freed.wait(), timeout=self.poll_s)
                except asyncio.TimeoutError:
                    pass
            for _ in range(n_askers):
                queue.put_nowait(None)

        async def ask() -> None:
            nonlocal held
            while (item := await queue.get()) is not None:
                qid, _node, qjson, attempts = item
                q = query_from_json(qjson)
                if not params["refresh"]:
                    # Answered since this worker opened the run: by a dead worker before it died, or by
                    # another run asking the same question at the same time. The cache decides if fresh.
                    stored = await loop.run_in_executor(self._db, self.work.newest_answer, src.name, q.key)
                    if stored is not None:
                        pipe.remember(src, q.key, *stored)
                ASKING.set(q)
                answer = await pipe.ask(src, q)
                if await loop.run_in_executor(self._db, self.work.transact,
                                              lambda conn: frontier.complete(conn, qid, self.name, src, answer)):
                    self.asked += 1
                held -= 1
                freed.set()

        await asyncio.gather(feed(), *(ask() for _ in range(n_askers)))


class SharedEnricher(Enricher):
    """`osint enrich` on PostgreSQL: opens a shared run, works on it as one worker among any others, and
    reports from the shared tables. `on_event` gets the same progress events as the in-process engine."""

    def __init__(self, *args: Any, egress: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.work = shared_tables(self.store)
        self.egress = egress

    def run(self) -> RunReport:
        start = time.monotonic()
        case_text = Path(self.case.path).read_text(encoding="utf-8")
        params = run_params(self, case_text)
        self.store.start_run(self.run_id, self.command)
        frontier = Frontier(self.work, self.run_id, self.sources, params)

        def open_and_plan(conn: Any) -> None:
            # One transaction: no worker sees the run before its seeds' questions are queued.
            self.work.open_run(self.run_id, params, conn)
            worklist: list[str] = []
            for node in self.seeds():
                frontier.plan(conn, node, 0, worklist)
            frontier.drain(conn, worklist)

        self.work.transact(open_and_plan)
        worker = Worker(self.settings, self.store, egress=self.egress, concurrency=self.concurrency)
        watch = _Watch(self.work, self.run_id, self.on_event)
        watch.start()
        try:
            worker.serve(run_id=self.run_id)
        finally:
            watch.stop()
        report = shared_report(self.work, self.run_id, params, time.monotonic() - start)
        self.work.close_run(self.run_id, "complete" if report.complete else "partial", report.as_dict())
        self.report = report
        return report


class _Watch:
    """Progress from the shared tables (every worker's answers, not only ours), as the engine's events."""

    def __init__(self, work: WorkTables, run_id: str, on_event: Callable[[dict[str, Any]], None]):
        import threading

        self.work, self.run_id, self.on_event = work, run_id, on_event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="osint-progress", daemon=True)
        self._seen: dict[str, tuple[int, int]] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._poll()
        except StoreError:
            pass  # the work's own error is the one to report

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self._poll()
            except StoreError:
                pass  # progress is a courtesy; the work itself reports a lost store

    def _poll(self) -> None:
        for source, (planned, done) in sorted(self.work.progress(self.run_id).items()):
            was_planned, was_done = self._seen.get(source, (0, 0))
            if planned != was_planned:
                self.on_event({"type": "planned", "source": source, "total": planned})
            for _ in range(done - was_done):
                self.on_event({"type": "done", "source": source, "outcome": "done"})
            self._seen[source] = (planned, done)


def _case_from_text(text: str, name: str) -> Any:
    """The run's case, as the machine that opened the run read it (workers elsewhere have no case file)."""
    from ..case import load_case

    with tempfile.TemporaryDirectory(prefix="osint-case-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return load_case(path)
