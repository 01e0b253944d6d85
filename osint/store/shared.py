"""The shared work tables on PostgreSQL (migration 0003): leases, the frontier's rows, rate tokens, credits.

Only the SQL lives here; what to ask and when to expand a node is the engine's (osint/engine/shared.py).
Every time is the database's clock, so machines whose clocks disagree still agree on leases and budgets.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import sqlalchemy as sa

from .evidence import EvidenceStore
from .types import clean_json, iso_utc

# PostgreSQL's "deadlock detected" and "could not serialize": the transaction is simply run again.
_RETRY_STATES = ("40P01", "40001")


def _json(value: Any) -> str:
    return json.dumps(clean_json(value), ensure_ascii=False)


class WorkTables:
    """The shared work of runs in one PostgreSQL store. Raises StoreError if the store is not PostgreSQL."""

    def __init__(self, store: EvidenceStore):
        self.store = store
        self.engine = store.engine

    # -- transactions ----------------------------------------------------------------------

    def transact(self, fn: Callable[[sa.Connection], Any]) -> Any:
        """Run fn(conn) in one transaction; again if PostgreSQL chose it as a deadlock's victim."""
        def attempt() -> Any:
            for n in range(20):
                try:
                    with self.engine.begin() as conn:
                        return fn(conn)
                except sa.exc.DBAPIError as exc:
                    if getattr(exc.orig, "sqlstate", None) not in _RETRY_STATES or n == 19:
                        raise
                    time.sleep(0.01 * (n + 1))
        return self.store._retrying(attempt)

    def _one(self, sql: str, **params: Any) -> Any:
        return self.transact(lambda conn: conn.execute(sa.text(sql), params).all())

    # -- runs ------------------------------------------------------------------------------

    @staticmethod
    def open_run(run_id: str, params: dict[str, Any], conn: sa.Connection) -> None:
        """Make a run visible to workers (in the transaction that queues its first questions)."""
        conn.execute(sa.text("INSERT INTO run_work (run_id, params, heartbeat_at) VALUES (:r, CAST(:p AS jsonb), now())"),
                     {"r": run_id, "p": _json(params)})

    def params(self, run_id: str) -> dict[str, Any] | None:
        rows = self._one("SELECT params FROM run_work WHERE run_id = :r", r=run_id)
        return rows[0][0] if rows else None

    def open_runs(self) -> list[str]:
        """Shared runs not yet closed, oldest first."""
        rows = self._one("SELECT w.run_id FROM run_work w JOIN runs r USING (run_id) WHERE r.status IS NULL "
                         "ORDER BY r.started_at, w.run_id")
        return [r[0] for r in rows]

    def heartbeat(self, run_id: str, owner: str, lease_s: float) -> None:
        """The run is alive, and so are this worker's leases."""
        def beat(conn: sa.Connection) -> None:
            conn.execute(sa.text("UPDATE run_work SET heartbeat_at = now() WHERE run_id = :r"), {"r": run_id})
            conn.execute(sa.text("UPDATE work_questions SET lease_until = now() + make_interval(secs => :l) "
                                 "WHERE run_id = :r AND lease_owner = :o AND state = 'leased'"),
                         {"r": run_id, "o": owner, "l": lease_s})
        self.transact(beat)

    def now(self) -> float:
        """The database's clock, in seconds since the epoch."""
        return float(self._one("SELECT extract(epoch FROM now())")[0][0])

    def closed_since(self, when: float) -> int:
        """Shared runs closed at or after `when` (the database's clock)."""
        return self._one("SELECT count(*) FROM run_work JOIN runs USING (run_id) WHERE runs.finished_at >= "
                         "to_timestamp(:t)", t=when)[0][0]

    def age(self, run_id: str) -> float:
        """Seconds since the run started."""
        return float(self._one("SELECT extract(epoch FROM now() - started_at) FROM runs WHERE run_id = :r",
                               r=run_id)[0][0])

    def remaining(self, run_id: str) -> int:
        """Questions queued or leased: the run is complete when there are none."""
        return self._one("SELECT count(*) FROM work_questions WHERE run_id = :r AND state <> 'done'", r=run_id)[0][0]

    def progress(self, run_id: str) -> dict[str, tuple[int, int]]:
        """source -> (questions planned, questions done)."""
        rows = self._one("SELECT source, count(*), count(*) FILTER (WHERE state = 'done') FROM work_questions "
                         "WHERE run_id = :r GROUP BY source", r=run_id)
        return {s: (planned, done) for s, planned, done in rows}

    def question_counts(self, run_id: str) -> list[tuple[str, str | None, str | None, bool, int, str | None]]:
        """(source, how, outcome, parse failed, count, first error) over the run's finished questions."""
        rows = self._one(
            "SELECT source, how, outcome, parse_failed, count(*), "
            "(array_agg(error ORDER BY id) FILTER (WHERE error IS NOT NULL))[1] "
            "FROM work_questions WHERE run_id = :r AND state = 'done' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
            r=run_id)
        return [tuple(r) for r in rows]

    def node_counts(self, run_id: str) -> tuple[int, int, int, list[str]]:
        """(nodes, deepest depth, leads dropped by the guards, shared infrastructure nodes)."""
        n, deepest, dropped = self._one(
            "SELECT count(*), coalesce(max(depth), 0), coalesce(sum(jsonb_array_length(fresh) - followed), 0) "
            "FROM work_nodes WHERE run_id = :r", r=run_id)[0]
        shared = [r[0] for r in self._one("SELECT node FROM work_nodes WHERE run_id = :r AND shared ORDER BY node",
                                          r=run_id)]
        return n, deepest, int(dropped), shared

    def close_run(self, run_id: str, status: str, summary: dict[str, Any]) -> bool:
        """Close the run once, whoever sees it finished first; False if someone already had."""
        rows = self._one("UPDATE runs SET finished_at = now(), status = :s, summary = CAST(:m AS jsonb) "
                         "WHERE run_id = :r AND status IS NULL RETURNING run_id", r=run_id, s=status, m=_json(summary))
        return bool(rows)

    def run_states(self, stale_s: float) -> list[dict[str, Any]]:
        """Every run, newest first, with its state: a shared run whose heartbeat is older than `stale_s`
        and that nobody closed is crashed; an unshared one without an end is "open" (no heartbeat kept)."""
        rows = self._one(
            "SELECT r.run_id, r.started_at, r.finished_at, r.status, r.command, r.db_user, r.client_host, "
            "w.heartbeat_at, extract(epoch FROM now() - w.heartbeat_at), "
            "(SELECT count(*) FROM work_questions q WHERE q.run_id = r.run_id AND q.state <> 'done') "
            "FROM runs r LEFT JOIN run_work w USING (run_id) ORDER BY r.started_at DESC")
        out = []
        for run_id, started, finished, status, command, user, host, beat, age, left in rows:
            if status:
                state = status
            elif beat is None:
                state = "open"
            else:
                state = "crashed" if age is not None and age > stale_s else "running"
            out.append({"run_id": run_id, "started_at": started, "finished_at": finished, "state": state,
                        "command": command, "db_user": user, "client_host": host, "remaining": left})
        return out

    # -- the frontier (inside a transaction: `conn`) -------------------------------------------

    @staticmethod
    def place_node(conn: sa.Connection, run_id: str, node: str, depth: int) -> bool:
        """Add a node at `depth`, or move it nearer the case; False when it is already as near."""
        row = conn.execute(sa.text(
            "INSERT INTO work_nodes (run_id, node, depth, fresh) VALUES (:r, :n, :d, '[]'::jsonb) "
            "ON CONFLICT (run_id, node) DO UPDATE SET depth = EXCLUDED.depth WHERE work_nodes.depth > EXCLUDED.depth "
            "RETURNING node"), {"r": run_id, "n": node, "d": depth}).first()
        return row is not None

    @staticmethod
    def add_questions(conn: sa.Connection, run_id: str, node: str, questions: list[tuple[str, str, dict, int]]) -> int:
        """Enqueue (source, key, query, chain) for a node; a question already in the run is not added again.
        Returns how many were added."""
        added = 0
        for source, key, query, chain in questions:
            row = conn.execute(sa.text(
                "INSERT INTO work_questions (run_id, node, source, query_key, query, chain) "
                "VALUES (:r, :n, :s, :k, CAST(:q AS jsonb), :c) ON CONFLICT ON CONSTRAINT uq_work_question DO NOTHING "
                "RETURNING id"), {"r": run_id, "n": node, "s": source, "k": key, "q": _json(query), "c": chain}).first()
            added += row is not None
        return added

    @staticmethod
    def pivot(conn: sa.Connection, run_id: str, node: str) -> tuple[int, list[str], int, bool]:
        """(depth, fresh, followed, shared) of a node, locked until the transaction ends."""
        return tuple(conn.execute(sa.text(
            "SELECT depth, fresh, followed, shared FROM work_nodes WHERE run_id = :r AND node = :n FOR UPDATE"),
            {"r": run_id, "n": node}).one())

    @staticmethod
    def set_pivot(conn: sa.Connection, run_id: str, node: str, fresh: list[str], followed: int, shared: bool) -> None:
        conn.execute(sa.text("UPDATE work_nodes SET fresh = CAST(:f AS jsonb), followed = :x, shared = :s "
                             "WHERE run_id = :r AND node = :n"),
                     {"r": run_id, "n": node, "f": _json(fresh), "x": followed, "s": shared})

    @staticmethod
    def depths(conn: sa.Connection, run_id: str, nodes: list[str]) -> dict[str, int]:
        if not nodes:
            return {}
        rows = conn.execute(sa.text("SELECT node, depth FROM work_nodes WHERE run_id = :r AND node = ANY(:n)"),
                            {"r": run_id, "n": nodes})
        return dict(rows.all())

    @staticmethod
    def finish(conn: sa.Connection, qid: int, owner: str, result: dict[str, Any]) -> tuple[str, str, int] | None:
        """Mark a leased question done; (run, node, chain), or None when the lease was lost to another worker."""
        row = conn.execute(sa.text(
            "UPDATE work_questions SET state = 'done', how = :how, outcome = :outcome, error = :error, "
            "parse_failed = :pf, done_by = :o, lease_until = NULL "
            "WHERE id = :id AND state = 'leased' AND lease_owner = :o RETURNING run_id, node, chain"),
            {"id": qid, "o": owner, "how": result["how"], "outcome": result.get("outcome"),
             "error": result.get("error"), "pf": bool(result.get("parse_failed"))}).first()
        return tuple(row) if row else None

    # -- leases ----------------------------------------------------------------------------

    def claim(self, run_id: str, source: str, owner: str, n: int, lease_s: float) -> list[tuple[int, str, dict, int]]:
        """Lease up to n of a source's questions, queued ones first, then expired leases (a dead worker's).
        Returns (id, node, query, attempts before this one)."""
        rows = self._one(
            "UPDATE work_questions q SET state = 'leased', lease_owner = :o, attempts = q.attempts + 1, "
            "lease_until = now() + make_interval(secs => :l) "
            "FROM (SELECT id FROM work_questions WHERE run_id = :r AND source = :s AND "
            "(state = 'queued' OR (state = 'leased' AND lease_until < now())) "
            "ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED) pick WHERE q.id = pick.id "
            "RETURNING q.id, q.node, q.query, q.attempts - 1", r=run_id, s=source, o=owner, n=n, l=lease_s)
        return sorted((tuple(r) for r in rows), key=lambda r: r[0])

    def newest_answer(self, source: str, query_key: str) -> tuple[int, str] | None:
        """(id, observed time) of the newest stored answer to a question, without its bytes."""
        rows = self._one("SELECT id, observed_at FROM observations WHERE source = :s AND query_key = :k AND "
                         "outcome IN ('answered', 'no_record') ORDER BY observed_at DESC, id DESC LIMIT 1",
                         s=source, k=query_key)
        if not rows:
            return None
        oid, at = rows[0]
        return oid, iso_utc(at)

    # -- budgets ---------------------------------------------------------------------------

    def take_token(self, source: str, server: str, egress: str, rate: float, burst: int,
                   now: float | None = None) -> float:
        """0 when a token of (source, server, egress) was taken; else the seconds to wait before trying again."""
        return float(self._one("SELECT osint_take_token(CAST(:s AS text), CAST(:v AS text), CAST(:e AS text), "
                               "CAST(:rate AS float8), CAST(:burst AS float8), CAST(:now AS float8))", s=source, v=server,
                               e=egress, rate=max(rate, 1e-6), burst=max(1, burst), now=now)[0][0])

    def pause(self, source: str, server: str, egress: str, seconds: float) -> None:
        """A 429: nobody leaving through this egress asks this server for `seconds`."""
        self._one("UPDATE rate_buckets SET tokens = 0, paused_until = greatest(paused_until, "
                  "extract(epoch FROM clock_timestamp()) + :w) WHERE source = :s AND server = :v AND egress = :e "
                  "RETURNING source", s=source, v=server, e=egress, w=seconds)

    def tokens_taken(self) -> dict[tuple[str, str, str], int]:
        return {(s, v, e): n for s, v, e, n in self._one("SELECT source, server, egress, taken FROM rate_buckets")}

    def spend(self, source: str, cost: int, budget: int) -> bool:
        """Spend `cost` credits of the team's `budget` for a source; False (nothing spent) when it would go over."""
        def go(conn: sa.Connection) -> bool:
            conn.execute(sa.text("INSERT INTO credits (source, spent) VALUES (:s, 0) ON CONFLICT DO NOTHING"),
                         {"s": source})
            return conn.execute(sa.text("UPDATE credits SET spent = spent + :c WHERE source = :s AND "
                                        "spent + :c <= :b RETURNING spent"),
                                {"s": source, "c": cost, "b": budget}).first() is not None
        return self.transact(go)

    def spent(self, source: str) -> int:
        rows = self._one("SELECT spent FROM credits WHERE source = :s", s=source)
        return int(rows[0][0]) if rows else 0


def run_states(store: EvidenceStore, stale_s: float) -> list[dict[str, Any]]:
    """Every run with its state (see WorkTables.run_states); a SQLite store keeps no heartbeat: "open"."""
    if store.dialect == "postgresql":
        return WorkTables(store).run_states(stale_s)
    from .evidence import runs

    rows = store._rows(sa.select(runs).order_by(runs.c.started_at.desc()))
    return [{"run_id": r.run_id, "started_at": r.started_at, "finished_at": r.finished_at,
             "state": r.status or "open", "command": r.command, "db_user": r.db_user,
             "client_host": r.client_host, "remaining": None} for r in rows]
