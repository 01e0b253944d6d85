"""`osint enrich` on PostgreSQL: opens a shared run, works on it as one worker among any others, reports from the store."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import StoreError
from ..store.shared import WorkTables
from .run import Enricher, RunReport
from .shared import Frontier, run_params, shared_report, shared_tables
from .worker import POLL_S, Worker


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
            for node in self.seeds():
                frontier.plan(conn, node, 0)

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


