"""What `osint evidence verify` checks: every stored hash, and the database's own guarantees, said honestly."""

from __future__ import annotations

import sqlalchemy as sa

from .observation import sha256_hex
from .tables import HashMismatch, observations


def verify(store) -> tuple[int, list[HashMismatch]]:
    """Recompute every stored hash; return how many were checked and which do not match."""
    checked, bad = 0, []
    q = sa.select(observations.c.id, observations.c.source, observations.c.query_key,
                  observations.c.raw, observations.c.sha256, observations.c.raw_size).order_by(observations.c.id)
    with store.engine.connect() as conn:
        for oid, source, key, raw, stored, size in conn.execution_options(yield_per=500).execute(q):
            checked += 1
            actual = sha256_hex(raw)
            if actual != stored or len(raw or b"") != size:
                bad.append(HashMismatch(oid, source, key, stored, actual))
    return checked, bad


def report(store) -> tuple[list[str], list[str], list[str]]:
    """(problems, what was checked, what was not): the database's own checks, said honestly."""
    problems: list[str] = []
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            result = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
            orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if result != "ok":
            problems.append(result)
        if orphans:
            problems.append(f"{len(orphans)} parses name an observation that is not stored")
        return problems, ["SQLite's integrity_check (pages, indexes)", "foreign keys"], []
    checked = [f"schema at revision {store.revision}"]
    with store.engine.connect() as conn:
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
