"""A run shared by workers on several machines: its frontier kept in PostgreSQL, and its closing table.

`osint enrich` on a PostgreSQL store opens a shared run (osint/engine/team.py): the run's sources, depth,
guards and the case file's text go into `run_work`, the case's indicators into `work_nodes`, their
questions into `work_questions`, all in one transaction. Any number of workers (osint/engine/worker.py),
in any process on any machine pointed at the same store, then lease questions and complete each in one
transaction that also follows its leads (`Frontier`: the new ones become nodes one depth further, within
the same per-pivot guards as the in-process engine) and queues its follow-up questions. A question is in
a run once ((run, source, query key) is unique), so two workers meeting the same lead enqueue it once.

The run is complete when no question is queued or leased; whoever sees that first closes it. The
closing table is computed from the shared tables, so it is the same from any machine. SQLite keeps
the in-process engine (osint/engine/run.py), unchanged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..facts import query_to_json
from ..vocabulary import split_node_id
from ..sources import Source
from ..store import EvidenceStore
from ..store.shared import WorkTables
from ..transport.base import Outcome
from ..transport.pipeline import CACHED, NOT_ASKED, Answer
from .run import MAX_FOLLOWUP_CHAIN, Enricher, RunReport, SourceStats, _pivots


def not_shared(shown: str) -> StoreError:
    return StoreError(f"{shown}: workers share a run through a PostgreSQL store; a SQLite file is "
                      "one process's (use `osint enrich`)")


def shared_tables(store: EvidenceStore) -> WorkTables:
    if store.dialect != "postgresql":
        raise not_shared(store.shown)
    return WorkTables(store)


class Frontier:
    """Plans nodes and follows answers' leads for one run inside the caller's transaction, with the guards
    of the in-process engine (osint/engine/run.py): an answer's leads become nodes one depth further as soon
    as it is done; per pivot, past `max_new_per_pivot` new nodes the rest are dropped, and past
    `shared_infra_threshold` the pivot is shared infrastructure and nothing more is followed from it."""

    def __init__(self, work: WorkTables, run_id: str, sources: list[Source], params: dict[str, Any]):
        self.work = work
        self.run_id = run_id
        self.sources = sources
        self.depth = params["depth"]
        self.max_new = params["max_new_per_pivot"]
        self.threshold = params["shared_infra_threshold"]
        self.enrichable = set(params["enrichable"])

    def plan(self, conn: Any, node: str, depth: int) -> None:
        """Put a node's questions in the queue (again, if it is now found nearer the case)."""
        if not self.work.place_node(conn, self.run_id, node, depth):
            return
        questions = []
        for pivot in _pivots(node):
            kind, _ = split_node_id(pivot)
            for src in self.sources:
                if kind in src.consumes:
                    questions += [(src.name, q.key, query_to_json(q), 0) for q in src.queries(pivot, depth)]
        self.work.add_questions(conn, self.run_id, node, questions)

    def follow(self, conn: Any, pivot: str, leads: list[str]) -> None:
        """One answer about `pivot` named `leads`: the new ones become nodes one depth further, within the guards."""
        if not leads:
            return
        depth, fresh, followed, shared = self.work.pivot(conn, self.run_id, pivot)
        if depth >= self.depth or shared:
            return
        known = self.work.depths(conn, self.run_id, sorted(set(leads)))
        seen = set(fresh)
        new = sorted({n for n in leads if n not in seen and split_node_id(n)[0] in self.enrichable
                      and not (n in known and known[n] <= depth)})
        fresh = fresh + new
        if len(fresh) > self.threshold:
            # Shared infrastructure (a hosting IP, a big name server): record, don't expand.
            self.work.set_pivot(conn, self.run_id, pivot, fresh, followed, True)
            return
        chosen = new[: max(0, self.max_new - followed)]
        self.work.set_pivot(conn, self.run_id, pivot, fresh, followed + len(chosen), False)
        for node in chosen:
            if known.get(node, depth + 2) > depth + 1:
                self.plan(conn, node, depth + 1)

    def complete(self, conn: Any, qid: int, owner: str, src: Source, answer: Answer) -> bool:
        """Record what became of a leased question, follow its leads, queue its follow-up questions."""
        result = {"how": answer.how, "outcome": str(answer.outcome) if answer.outcome else None,
                  "error": answer.error, "parse_failed": answer.parse_error is not None}
        if answer.how == "asked" and answer.outcome not in (Outcome.ANSWERED, Outcome.NO_RECORD):
            result["error"] = answer.error or str(answer.outcome)
        got = self.work.finish(conn, qid, owner, result)
        if got is None:
            return False  # our lease ran out and another worker has the question now
        _, node, chain = got
        parsed = answer.parsed
        if parsed is None:
            return True
        self.follow(conn, node, list(parsed.leads))
        if chain < MAX_FOLLOWUP_CHAIN:
            self.work.add_questions(conn, self.run_id, node,
                                    [(src.name, f.key, query_to_json(f), chain + 1) for f in parsed.followups])
        return True


def run_params(enricher: Enricher, case_text: str) -> dict[str, Any]:
    guard = enricher.settings.enrich
    return {"sources": [s.name for s in enricher.sources], "depth": enricher.depth, "refresh": enricher.refresh,
            "offline": enricher.offline, "concurrency": enricher.concurrency,
            "max_new_per_pivot": guard.max_new_per_pivot, "shared_infra_threshold": guard.shared_infra_threshold,
            "enrichable": sorted(enricher._enrichable), "skipped": enricher.report.skipped_sources,
            "case": case_text, "case_name": Path(enricher.case.path).name}


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


def close_if_done(work: WorkTables, run_id: str, params: dict[str, Any]) -> RunReport | None:
    """The run's report once no question is queued or leased (closing the run if nobody has); else None."""
    if work.remaining(run_id):
        return None
    report = shared_report(work, run_id, params, work.age(run_id))
    work.close_run(run_id, "complete" if report.complete else "partial", report.as_dict())
    return report


def case_from_text(text: str, name: str) -> Any:
    """The run's case, as the machine that opened the run read it (workers elsewhere have no case file)."""
    from ..case import load_case

    with tempfile.TemporaryDirectory(prefix="osint-case-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return load_case(path)
