"""Append-only evidence store behind one narrow interface (SQLAlchemy Core; SQLite by default)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import StoreError


# A hostile JSON answer's "\ud800" escapes decode to lone surrogates, which UTF-8 (and so the
# database) cannot hold: one such string would fail the whole batch of observations it is written with.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8_text(text: str | None) -> str | None:
    """The text with every lone surrogate replaced by U+FFFD; the raw bytes keep the original."""
    return _LONE_SURROGATE.sub("\ufffd", text) if text else text


def _json_text(value: Any) -> str:
    return _utf8_text(json.dumps(value, sort_keys=True, ensure_ascii=False))


class Outcome(StrEnum):
    """What became of one question. Only ANSWERED and NO_RECORD are answers; the rest are failures."""

    ANSWERED = "answered"
    NO_RECORD = "no_record"  # NXDOMAIN, 404, "No match": a fact, not a failure
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    REFUSED = "refused"  # the server refused: connection refused, DNS REFUSED, 401/403
    RESET = "reset"  # the connection broke mid-answer
    UNREACHABLE = "unreachable"  # no route, name of the server unknown, proxy down
    SERVER_ERROR = "server_error"  # 5xx, SERVFAIL
    BAD_ANSWER = "bad_answer"  # garbage, malformed JSON, wrong content type
    TOO_LARGE = "too_large"  # over the size cap
    BLOCKED = "blocked"  # our own policy refused to send it (private address, redirect loop)
    ERROR = "error"  # anything else, with its message

    @property
    def is_answer(self) -> bool:
        return self in (Outcome.ANSWERED, Outcome.NO_RECORD)


metadata = sa.MetaData()

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("query_key", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("request", sa.Text, nullable=False),  # JSON, credentials removed
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("observed_at", sa.String(40), nullable=False),  # UTC ISO 8601
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("raw", sa.LargeBinary),
    sa.Column("raw_size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("meta", sa.Text),  # JSON: HTTP status and headers, redirects, resolver used
    sa.Column("tool_version", sa.String(32), nullable=False),
    sa.Index("ix_obs_query", "source", "query_key", "id"),
    sa.Index("ix_obs_subject", "subject"),
)

parses = sa.Table(
    "parses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("observation_id", sa.Integer, sa.ForeignKey("observations.id"), nullable=False),
    sa.Column("parser", sa.String(128), nullable=False),  # source@version + library versions
    sa.Column("parsed", sa.Text, nullable=False),  # JSON: {"facts": [...], "nodes": {...}, "leads": [...]}
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Index("ix_parses_obs", "observation_id", "id"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("status", sa.String(32)),
    sa.Column("summary", sa.Text),
)
_INSERT_OBSERVATION = observations.insert()
_INSERT_PARSE = parses.insert()


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sha256_hex(data: bytes | None) -> str:
    return hashlib.sha256(data or b"").hexdigest()


@dataclass(frozen=True)
class Observation:
    id: int
    run_id: str
    source: str
    query_key: str
    subject: str
    request: dict[str, Any]
    endpoint: str
    observed_at: str
    duration_ms: float
    outcome: Outcome
    error: str | None
    raw: bytes | None
    raw_size: int
    sha256: str
    meta: dict[str, Any]
    tool_version: str

    @property
    def evidence_id(self) -> str:
        return f"ev{self.id}"

    @classmethod
    def from_row(cls, row: Any) -> "Observation":
        m = row._mapping
        return cls(
            id=m["id"], run_id=m["run_id"], source=m["source"], query_key=m["query_key"],
            subject=m["subject"], request=json.loads(m["request"]), endpoint=m["endpoint"],
            observed_at=m["observed_at"], duration_ms=m["duration_ms"], outcome=Outcome(m["outcome"]),
            error=m["error"], raw=m.get("raw"), raw_size=m["raw_size"],
            sha256=m["sha256"], meta=json.loads(m["meta"] or "{}"), tool_version=m["tool_version"],
        )


@dataclass(frozen=True)
class HashMismatch:
    observation_id: int
    source: str
    query_key: str
    stored: str
    actual: str


def _is_url(target: str) -> bool:
    return "://" in target


class EvidenceStore:
    """The only code that touches the database. Observations are inserted, never updated."""

    def __init__(self, target: str, *, create: bool = True):
        self.target = target
        if _is_url(target):
            url = target
        else:
            path = Path(target)
            if not create and not path.exists():
                raise StoreError(f"{path}: no evidence store here yet; run `osint enrich` first")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the evidence store: {exc.strerror}") from None
            url = f"sqlite:///{path}"
        self.engine = sa.create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            _create_tables(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"{target}: cannot open the evidence store: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "EvidenceStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def record(self, **fields: Any) -> int:
        """Store one raw answer (before anyone parses it) and return its observation id.

        Fields: run_id, source, query_key, subject, request, endpoint, outcome, raw, duration_ms,
        error, meta, tool_version, observed_at (default now).
        """
        with self.engine.begin() as conn:
            return self.insert_observation(conn, fields)

    @staticmethod
    def insert_observation(conn: Any, f: dict[str, Any]) -> int:
        raw = f.get("raw")
        row = dict(
            run_id=f["run_id"], source=f["source"], query_key=f["query_key"], subject=f["subject"],
            request=_json_text(f["request"]), endpoint=f["endpoint"],
            observed_at=f.get("observed_at") or utcnow(), duration_ms=round(f["duration_ms"], 3),
            outcome=str(f["outcome"]), error=_utf8_text(f.get("error")), raw=raw, raw_size=len(raw or b""),
            sha256=sha256_hex(raw), meta=_json_text(f.get("meta") or {}),
            tool_version=f["tool_version"],
        )
        # One statement object, its parameters apart: SQLAlchemy compiles it once, not once per row
        # (per-row .values() compiled a new statement each time: half the writer thread's time at 10k).
        return conn.execute(_INSERT_OBSERVATION, row).inserted_primary_key[0]

    @staticmethod
    def insert_parse(conn: Any, observation_id: int, parser: str, parsed: dict[str, Any]) -> None:
        conn.execute(_INSERT_PARSE, dict(
            observation_id=observation_id, parser=parser, parsed=_json_text(parsed), created_at=utcnow(),
        ))

    def record_parse(self, observation_id: int, parser: str, parsed: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            self.insert_parse(conn, observation_id, parser, parsed)

    def start_run(self, run_id: str, command: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(runs.insert().values(run_id=run_id, started_at=utcnow(), command=command))

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        # The runs table is bookkeeping, not evidence: closing a run is its one update.
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(
                finished_at=utcnow(), status=status, summary=json.dumps(summary, sort_keys=True)))

    # -- reading ---------------------------------------------------------------------------

    def latest(self, source: str, query_key: str, *, answers_only: bool = True) -> Observation | None:
        q = sa.select(observations).where(
            observations.c.source == source, observations.c.query_key == query_key)
        if answers_only:
            q = q.where(observations.c.outcome.in_([Outcome.ANSWERED.value, Outcome.NO_RECORD.value]))
        q = q.order_by(observations.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return Observation.from_row(row) if row else None

    def latest_answers(self, source: str) -> dict[str, tuple[int, str]]:
        """query_key -> (id, time) of its newest answer, for one source: the cache, read in bulk."""
        newest = (sa.select(sa.func.max(observations.c.id).label("id"))
                  .where(observations.c.source == source,
                         observations.c.outcome.in_([Outcome.ANSWERED.value, Outcome.NO_RECORD.value]))
                  .group_by(observations.c.query_key).subquery())
        q = (sa.select(observations.c.query_key, observations.c.id, observations.c.observed_at)
             .join(newest, observations.c.id == newest.c.id))
        with self.engine.connect() as conn:
            return {k: (i, t) for k, i, t in conn.execute(q)}

    def get(self, observation_id: int) -> Observation | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(observations).where(observations.c.id == observation_id)).first()
        return Observation.from_row(row) if row else None

    def list(self, *, source: str | None = None, subject: str | None = None,
             outcome: str | None = None, limit: int | None = None,
             ids: Iterable[int] | None = None) -> list[Observation]:
        """Observations without their raw bytes, in id order; `ids` keeps only those observations."""
        cols = [c for c in observations.c if c.name != "raw"]
        q = sa.select(*cols)
        if source:
            q = q.where(observations.c.source == source)
        if subject:
            q = q.where(observations.c.subject == subject)
        if outcome:
            q = q.where(observations.c.outcome == outcome)
        wanted = sorted(set(ids)) if ids is not None else None
        # SQLite caps the parameters of one statement, so a long id list is asked for in chunks.
        chunks = [None] if wanted is None else [wanted[i:i + 500] for i in range(0, len(wanted), 500)]
        found: list[Observation] = []
        with self.engine.connect() as conn:
            for chunk in chunks:
                part = q if chunk is None else q.where(observations.c.id.in_(chunk))
                part = part.order_by(observations.c.id)
                if limit:
                    part = part.limit(limit - len(found))
                found += [Observation.from_row(r) for r in conn.execute(part)]
                if limit and len(found) >= limit:
                    break
        return found

    def newest_per_query(self) -> Iterator[Observation]:
        """The newest observation of every question ever asked: what the graph is built from."""
        newest = (sa.select(sa.func.max(observations.c.id).label("id"))
                  .group_by(observations.c.source, observations.c.query_key).subquery())
        q = sa.select(observations).join(newest, observations.c.id == newest.c.id).order_by(observations.c.id)
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                yield Observation.from_row(row)

    def latest_parse(self, observation_id: int) -> dict[str, Any] | None:
        q = (sa.select(parses.c.parsed).where(parses.c.observation_id == observation_id)
             .order_by(parses.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return json.loads(row[0]) if row else None

    def counts(self) -> dict[str, dict[str, int]]:
        q = (sa.select(observations.c.source, observations.c.outcome, sa.func.count())
             .group_by(observations.c.source, observations.c.outcome))
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for source, outcome, n in conn.execute(q):
                out.setdefault(source, {})[outcome] = n
        return out

    def verify(self) -> tuple[int, list[HashMismatch]]:
        """Recompute every stored hash; return how many were checked and which do not match."""
        checked, bad = 0, []
        q = sa.select(observations.c.id, observations.c.source, observations.c.query_key,
                      observations.c.raw, observations.c.sha256, observations.c.raw_size).order_by(observations.c.id)
        with self.engine.connect() as conn:
            for oid, source, key, raw, stored, size in conn.execution_options(yield_per=500).execute(q):
                checked += 1
                actual = sha256_hex(raw)
                if actual != stored or len(raw or b"") != size:
                    bad.append(HashMismatch(oid, source, key, stored, actual))
        return checked, bad

    def integrity_check(self) -> str:
        if self.engine.dialect.name != "sqlite":
            return "ok"
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA integrity_check").scalar()


def _create_tables(engine: sa.Engine) -> None:
    # IF NOT EXISTS, not create_all's check-then-create: two runs opening a new store at once both pass the check.
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for attempt in range(100):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            # Turning a new file into WAL takes a lock SQLite does not wait for (busy_timeout), and two runs
            # opening a new store at once both want it: try again shortly.
            if attempt == 99:
                raise
            time.sleep(0.05)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_store(target: str, *, create: bool = True) -> EvidenceStore:
    return EvidenceStore(target, create=create)


def monotonic_ms(start: float) -> float:
    return (time.monotonic() - start) * 1000.0
