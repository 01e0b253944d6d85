"""A worker: leases a shared run's questions from the store and takes each through the QuestionPipeline.

Any number of workers, in any process on any machine pointed at the same PostgreSQL store, work on the
open runs (osint/engine/shared.py keeps their frontier). Questions are leased with SELECT ... FOR UPDATE
SKIP LOCKED and renewed by the worker's heartbeat; a lease that expires (its worker was killed) is taken
by another worker, which first looks in the store for the answer the dead one may have recorded. Rate
budgets are kept in the store per egress address (osint/engine/budget.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ..config import Settings
from ..errors import ConfigError, StoreError
from ..facts import query_from_json
from ..sources import Source, SourceContext, registered_sources
from ..store import EvidenceStore
from ..transport.pipeline import QuestionPipeline
from ..transport.policy import AddressPolicy
from .budget import ASKING, SharedBucket
from .run import WORKERS_PER_SLOT
from .shared import Frontier, case_from_text, close_if_done, shared_tables

log = logging.getLogger("osint.worker")
enrich_log = logging.getLogger("osint.enrich")

POLL_S = 0.5
LEASE_AHEAD_S = 1.0  # a worker leases what it can ask in about this long at the source's rate


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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
        self.started = self.work.now()

    # -- any open run ------------------------------------------------------------------------

    def serve(self, *, run_id: str | None = None, stop_when_done: bool = False) -> int:
        """Work until interrupted; with `stop_when_done`, until no run is left open (once one was open while
        this worker ran: seen, or closed since it started, by others quicker than it).
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
                    close_if_done(self.work, rid, params)
                if run_id and not self.work.remaining(run_id):
                    return self.asked
                if stop_when_done and not self.work.open_runs() and (seen or self.work.closed_since(self.started)):
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
        case = case_from_text(params["case"], params.get("case_name") or "case.yaml")
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
                _log_answer(src, q, answer)
                if await loop.run_in_executor(self._db, self.work.transact,
                                              lambda conn: frontier.complete(conn, qid, self.name, src, answer)):
                    self.asked += 1
                held -= 1
                freed.set()

        await asyncio.gather(feed(), *(ask() for _ in range(n_askers)))


def _log_answer(src: Source, q: Any, answer: Any) -> None:
    """What the in-process engine logs of a question (`-v`): each failure with its question, each unreadable answer."""
    if answer.how == "asked" and answer.outcome is not None and not answer.outcome.is_answer:
        enrich_log.info("%s %s: %s", src.name, q.key, answer.error or answer.outcome)
    if answer.parse_error:
        enrich_log.warning("%s", answer.parse_error)
