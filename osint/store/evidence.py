"""Append-only evidence store behind one narrow interface (SQLAlchemy Core; SQLite by default)."""

from __future__ import annotations

import getpass
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import ExitStatus, StoreError
from ..transport.base import Outcome
from . import migrate
from .observation import NewObservation, sha256_hex, utcnow  # noqa: F401 (sha256_hex: read from here too)
from .types import BigId, JSONDoc, UTCTime
from .url import engine_url, hide_password, is_url, scrub

# How long a lost PostgreSQL connection is retried (with backoff) before the run stops, resumable.
RETRY_S = float(os.environ.get("OSINT_STORE_RETRY_S", "30"))


_PASSING_FATALS = ("starting up", "shutting down", "recovery mode", "terminating connection", "too many clients",
                   "not yet accepting")


class StoreUnreachable(StoreError):
    """The database went away and did not come back: what is stored stays; the run can be resumed."""

    exit_status = ExitStatus.PARTIAL


metadata = sa.MetaData()

# The tables as the newest migration (migrations/versions/) leaves them; the migrations create them.
observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("query_key", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("request", JSONDoc, nullable=False),  # credentials removed
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("observed_at", UTCTime, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("raw", sa.LargeBinary),
    sa.Column("raw_size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("meta", JSONDoc),  # HTTP status and headers, redirects, resolver used
    sa.Column("tool_version", sa.String(32), nullable=False),
)

parses = sa.Table(
    "parses",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("observation_id", sa.BigInteger, sa.ForeignKey("observations.id"), nullable=False),
    sa.Column("parser", sa.String(128), nullable=False),  # source@version + library versions
    sa.Column("parsed", JSONDoc, nullable=False),  # {"facts": [...], "nodes": {...}, "leads": [...]}
    sa.Column("created_at", UTCTime, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("started_at", UTCTime, nullable=False),
    sa.Column("finished_at", UTCTime),
    sa.Column("command", sa.Text, nullable=False),  # the password of a store URL hidden
    sa.Column("status", sa.String(32)),
    sa.Column("summary", JSONDoc),
    sa.Column("db_user", sa.String(128)),
    sa.Column("client_host", sa.String(255)),
)
_ANSWERS = (Outcome.ANSWERED.value, Outcome.NO_RECORD.value)
_INSERT_OBSERVATION = observations.insert()
_INSERT_PARSE = parses.insert()


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
            subject=m["subject"], request=m["request"], endpoint=m["endpoint"],
            observed_at=m["observed_at"], duration_ms=m["duration_ms"], outcome=Outcome(m["outcome"]),
            error=m["error"], raw=m.get("raw"), raw_size=m["raw_size"],
            sha256=m["sha256"], meta=m["meta"] or {}, tool_version=m["tool_version"],
        )


@dataclass(frozen=True)
class HashMismatch:
    observation_id: int
    source: str
    query_key: str
    stored: str
    actual: str


class EvidenceStore:
    """The only code that touches the database. Observations are inserted, never updated.

    `create=True` (what `osint enrich` asks for) may create a SQLite file and bring its tables up to
    date, as osint always did. A database server's tables are created only by `osint store init`
    (`init_store`); every other command only checks that they are there and new enough.
    """

    def __init__(self, target: str, *, create: bool = True, init: bool = False):
        self.target = target
        self.shown = hide_password(target)  # what may be printed or stored
        if not is_url(target):
            path = Path(target)
            if not create and not init and not path.exists():
                raise StoreError(f"{path}: no evidence store here yet; run `osint enrich` first")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the evidence store: {exc.strerror}") from None
        url = engine_url(target)
        self.dialect = url.get_backend_name()
        options: dict[str, Any] = {"future": True}
        if self.dialect == "postgresql":
            options.update(pool_pre_ping=True, pool_size=4, max_overflow=8,
                           connect_args={"connect_timeout": 10, "application_name": "osint"})
        self.engine = sa.create_engine(url, **options)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.revision_before: str | None = None
        self.revision = self._open(create=create, init=init)

    def _open(self, *, create: bool, init: bool) -> str | None:
        try:
            if init or (create and self.dialect == "sqlite"):
                rev = self._retrying(lambda: self._current(), convert=False)
                if init or migrate.is_older(rev):
                    self.revision_before, rev = self._retrying(lambda: migrate.upgrade(self.engine), convert=False)
                    return rev
                self.revision_before = rev
            else:
                rev = self.revision_before = self._retrying(lambda: self._current(), convert=False)
        except StoreError:
            self.engine.dispose()
            raise
        except sa.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"{self.shown}: cannot open the evidence store: {self._why(exc)}") from None
        if rev is None:
            self.engine.dispose()
            hint = "run `osint store init`" if self.dialect != "sqlite" else "run `osint enrich` first"
            raise StoreError(f"{self.shown}: no evidence store here yet (no tables); {hint}")
        if not migrate.known(rev):
            self.engine.dispose()
            raise StoreError(f"{self.shown}: the store is at revision {rev}, newer than this osint knows; "
                             "upgrade osint")
        if create and migrate.is_older(rev):
            self.engine.dispose()
            raise StoreError(f"{self.shown}: the store's tables are at revision {rev}, older than this osint's "
                             f"{migrate.head()}; run `osint store init` to upgrade them")
        return rev

    def _current(self) -> str | None:
        with self.engine.connect() as conn:
            return migrate.current(conn)

    def _why(self, exc: BaseException) -> str:
        """One line saying what the database said, without the password."""
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip().splitlines()
        line = text[0] if text else orig.__class__.__name__
        return scrub(f"{orig.__class__.__name__}: {line}", self.target)

    def _retrying(self, fn: Any, *, convert: bool = True) -> Any:
        """Run `fn`; on a lost database connection, reconnect with backoff for up to RETRY_S seconds.

        Any other database error becomes a one-line StoreError (`convert`), or is raised as it is."""
        deadline = time.monotonic() + RETRY_S
        attempt = 0
        while True:
            try:
                return fn()
            except sa.exc.DBAPIError as exc:
                if not self._is_disconnect(exc):
                    if convert:
                        raise StoreError(f"{self.shown}: {self._why(exc)}") from None
                    raise
                if time.monotonic() >= deadline:
                    raise StoreUnreachable(f"{self.shown}: store unreachable ({self._why(exc)}); "
                                           "the run can be resumed: run the same command again") from None
                time.sleep(min(0.2 * 2 ** attempt, 5.0, max(0.0, deadline - time.monotonic())))
                attempt += 1

    def _is_disconnect(self, exc: sa.exc.DBAPIError) -> bool:
        """A connection lost or not made (worth retrying), not a refusal such as a wrong password."""
        if self.dialect == "sqlite":
            return False
        if exc.connection_invalidated:
            return True
        if not isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)):
            return False
        state = getattr(exc.orig, "sqlstate", None)
        message = str(exc.orig)
        if state is None and "FATAL:" in message:
            # A refused login has no SQLSTATE in psycopg: a wrong password or database is not worth waiting
            # for; a server starting up, shutting down or full is.
            return any(m in message for m in _PASSING_FATALS)
        # No SQLSTATE: the client could not reach the server or lost it. 08: connection exception;
        # 57P01-57P03: the server is shutting down, crashed, or not yet accepting connections.
        return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "EvidenceStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def record(self, observation: NewObservation) -> int:
        """Store one raw answer (before anyone parses it) and return its observation id."""
        def write() -> int:
            with self.engine.begin() as conn:
                return self.insert_observation(conn, observation)
        return self._retrying(write)

    @staticmethod
    def insert_observation(conn: Any, observation: NewObservation) -> int:
        # One statement object, its parameters apart: SQLAlchemy compiles it once, not once per row
        # (per-row .values() compiled a new statement each time: half the writer thread's time at 10k).
        return conn.execute(_INSERT_OBSERVATION, observation.row()).inserted_primary_key[0]

    @staticmethod
    def insert_parse(conn: Any, observation_id: int, parser: str, parsed: dict[str, Any]) -> None:
        conn.execute(_INSERT_PARSE, dict(
            observation_id=observation_id, parser=parser, parsed=parsed, created_at=utcnow(),
        ))

    def record_parse(self, observation_id: int, parser: str, parsed: dict[str, Any]) -> None:
        def write() -> None:
            with self.engine.begin() as conn:
                self.insert_parse(conn, observation_id, parser, parsed)
        self._retrying(write)

    def start_run(self, run_id: str, command: str) -> None:
        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(runs.insert().values(
                    run_id=run_id, started_at=utcnow(), command=scrub_command(command, self.target),
                    db_user=self._db_user(conn), client_host=socket.gethostname()))
        self._retrying(write)

    def _db_user(self, conn: Any) -> str:
        if self.dialect == "postgresql":
            return conn.exec_driver_sql("SELECT current_user").scalar()
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return str(os.getuid())

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        # The runs table is bookkeeping, not evidence: closing a run is its one update.
        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(runs.update().where(runs.c.run_id == run_id).values(
                    finished_at=utcnow(), status=status, summary=summary))
        self._retrying(write)

    def run_record(self, run_id: str) -> dict[str, Any] | None:
        def read() -> Any:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
        row = self._retrying(read)
        return dict(row._mapping) if row else None

    # -- reading ---------------------------------------------------------------------------

    def _rows(self, q: Any) -> list[Any]:
        def read() -> list[Any]:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        return self._retrying(read)

    def latest(self, source: str, query_key: str, *, answers_only: bool = True) -> Observation | None:
        """The newest observed answer (or observation) to one question."""
        q = sa.select(observations).where(
            observations.c.source == source, observations.c.query_key == query_key)
        if answers_only:
            q = q.where(observations.c.outcome.in_(_ANSWERS))
        q = q.order_by(observations.c.observed_at.desc(), observations.c.id.desc()).limit(1)
        rows = self._rows(q)
        return Observation.from_row(rows[0]) if rows else None

    def _newest(self, *cols: Any, where: list[Any]) -> Any:
        """The newest observed row per (source, question) that matches `where`, as a subquery."""
        rank = sa.func.row_number().over(
            partition_by=(observations.c.source, observations.c.query_key),
            order_by=(observations.c.observed_at.desc(), observations.c.id.desc())).label("rank")
        return sa.select(*cols, rank).where(*where).subquery()

    def latest_answers(self, source: str) -> dict[str, tuple[int, str]]:
        """query_key -> (id, time) of its newest observed answer, for one source: the cache, read in bulk."""
        o = observations.c
        sub = self._newest(o.query_key, o.id, o.observed_at, where=[o.source == source, o.outcome.in_(_ANSWERS)])
        q = sa.select(sub.c.query_key, sub.c.id, sub.c.observed_at).where(sub.c.rank == 1)
        return {k: (i, t) for k, i, t in self._rows(q)}

    def get(self, observation_id: int) -> Observation | None:
        rows = self._rows(sa.select(observations).where(observations.c.id == observation_id))
        return Observation.from_row(rows[0]) if rows else None

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
        for chunk in chunks:
            part = q if chunk is None else q.where(observations.c.id.in_(chunk))
            part = part.order_by(observations.c.id)
            if limit:
                part = part.limit(limit - len(found))
            found += [Observation.from_row(r) for r in self._rows(part)]
            if limit and len(found) >= limit:
                break
        return found

    def newest_per_query(self) -> Iterator[Observation]:
        """The newest observed observation of every question ever asked, without raw bytes."""
        cols = [c for c in observations.c if c.name != "raw"]
        sub = self._newest(*cols, where=[])
        q = sa.select(*[sub.c[c.name] for c in cols]).where(sub.c.rank == 1).order_by(sub.c.id)
        for row in self._rows(q):
            yield Observation.from_row(row)

    def graph_answers(self) -> tuple[list[tuple[str, int, str, dict[str, Any] | None]], int]:
        """What a graph is built from, in two round trips whatever the store's size and distance.

        Returns ([(observed_at, id, source, newest parse or None)] for the newest observed answer to
        every question, oldest first; and how many questions have never been answered). No raw bytes.
        """
        o, p = observations.c, parses.c
        newest = self._newest(o.id, o.source, o.observed_at, where=[o.outcome.in_(_ANSWERS)])
        parse_rank = sa.func.row_number().over(partition_by=p.observation_id, order_by=p.id.desc()).label("rank")
        latest_parse = sa.select(p.observation_id, p.parsed, parse_rank).subquery()
        q = (sa.select(newest.c.observed_at, newest.c.id, newest.c.source, latest_parse.c.parsed)
             .select_from(newest.outerjoin(latest_parse, sa.and_(latest_parse.c.observation_id == newest.c.id,
                                                                   latest_parse.c.rank == 1)))
             .where(newest.c.rank == 1).order_by(newest.c.observed_at, newest.c.id))
        unanswered = sa.select(sa.func.count()).select_from(
            sa.select(o.source, o.query_key).group_by(o.source, o.query_key)
            .having(sa.func.sum(sa.case((o.outcome.in_(_ANSWERS), 1), else_=0)) == 0).subquery())

        def read() -> tuple[list[Any], int]:
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(q)], conn.execute(unanswered).scalar() or 0
        return self._retrying(read)

    def raw_many(self, ids: Iterable[int]) -> dict[int, tuple[bytes, str]]:
        """id -> (raw bytes, stored SHA-256) for a few hundred observations at a time, in one query."""
        q = sa.select(observations.c.id, observations.c.raw, observations.c.sha256).where(
            observations.c.id.in_(list(ids)))
        return {i: (raw or b"", digest) for i, raw, digest in self._rows(q)}

    def latest_parse(self, observation_id: int) -> dict[str, Any] | None:
        q = (sa.select(parses.c.parsed).where(parses.c.observation_id == observation_id)
             .order_by(parses.c.id.desc()).limit(1))
        rows = self._rows(q)
        return rows[0][0] if rows else None

    def counts(self) -> dict[str, dict[str, int]]:
        q = (sa.select(observations.c.source, observations.c.outcome, sa.func.count())
             .group_by(observations.c.source, observations.c.outcome))
        out: dict[str, dict[str, int]] = {}
        for source, outcome, n in self._rows(q):
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
        """"ok", or what is wrong with the database itself (the hashes are `verify`'s job)."""
        problems, _, _ = self.integrity_report()
        return "; ".join(problems) or "ok"

    def integrity_report(self) -> tuple[list[str], list[str], list[str]]:
        """(problems, what was checked, what was not): the database's own checks, said honestly."""
        problems: list[str] = []
        if self.dialect == "sqlite":
            with self.engine.connect() as conn:
                result = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
                orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if result != "ok":
                problems.append(result)
            if orphans:
                problems.append(f"{len(orphans)} parses name an observation that is not stored")
            return problems, ["SQLite's integrity_check (pages, indexes)", "foreign keys"], []
        checked = [f"schema at revision {self.revision}"]
        with self.engine.connect() as conn:
            triggers = dict(conn.exec_driver_sql(
                "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
                "('observations'::regclass, 'parses'::regclass)").fetchall())
            fk = conn.exec_driver_sql(
                "SELECT bool_and(convalidated) FROM pg_constraint WHERE contype = 'f' "
                "AND conrelid = 'parses'::regclass").scalar()
        wanted = [f"{t}_{k}" for t in ("observations", "parses") for k in ("append_only", "no_truncate")]
        missing = [t for t in wanted if triggers.get(t) not in ("O", "A")]
        if missing:
            problems.append(f"append-only triggers missing or disabled: {', '.join(missing)}")
        else:
            checked.append("observations and parses refuse UPDATE, DELETE and TRUNCATE (triggers enabled)")
        if not fk:
            problems.append("the foreign key from parses to observations is missing or not validated")
        else:
            checked.append("every parse names a stored observation (foreign key validated)")
        not_checked = ["the server's data pages and indexes (run pg_amcheck as a superuser)"]
        return problems, checked, not_checked


def scrub_command(command: str, target: str) -> str:
    """A command line as it may be stored: the store's password, and any URL's password, hidden."""
    import re

    command = scrub(command, target)
    return re.sub(r"(\w[\w+.-]*://[^\s:/@]*:)[^\s@]*@", r"\1***@", command)


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


def init_store(target: str, *, writers: Iterable[str] = (), readers: Iterable[str] = ()) -> EvidenceStore:
    """Create or upgrade the store's tables (under a lock); `.revision_before` says what was there.

    `writers` may add evidence (and open and close runs) but never change or delete it; `readers` may
    only read. Both are existing database roles (PostgreSQL only)."""
    store = EvidenceStore(target, create=True, init=True)
    writers, readers = list(writers), list(readers)
    if writers or readers:
        if store.dialect != "postgresql":
            store.close()
            raise StoreError(f"{store.shown}: reader and writer roles need a database server; a SQLite "
                             "file is guarded by its file permissions")
        try:
            store._retrying(lambda: migrate.grant(store.engine, writers, readers))
        except StoreError:
            store.close()
            raise
    return store


def monotonic_ms(start: float) -> float:
    return (time.monotonic() - start) * 1000.0
