"""Creating and upgrading the store's tables: versioned migrations (Alembic), run under a lock.

`osint store init` runs them. On PostgreSQL the whole upgrade runs in one transaction holding an
advisory lock, so any number of simultaneous inits serialise: the first creates the tables, the others
find them at the newest revision and do nothing. On SQLite, BEGIN IMMEDIATE takes the file's write lock
for the same purpose. Stores made before migrations existed are recognised and stamped.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LEGACY = "legacy"  # tables from before migrations, no version recorded
ADVISORY_LOCK = 0x6F73696E74  # "osint": one lock for every osint store on a PostgreSQL server


@functools.lru_cache(maxsize=1)
def _script() -> tuple[Config, ScriptDirectory]:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg, ScriptDirectory.from_config(cfg)


def head() -> str:
    return _script()[1].get_current_head()


def current(conn: sa.Connection) -> str | None:
    """The store's revision; LEGACY for an unversioned store from before migrations; None when empty."""
    rev = MigrationContext.configure(conn).get_current_revision()
    if rev is None and sa.inspect(conn).has_table("observations"):
        return LEGACY
    return rev


def is_older(rev: str | None) -> bool:
    """True when `rev` is behind the newest revision this osint knows (False for unknown, newer ones)."""
    if rev == LEGACY or rev is None:
        return True
    _, script = _script()
    try:
        return rev != script.get_current_head() and script.get_revision(rev) is not None
    except Exception:  # noqa: BLE001 - a revision we do not know comes from a newer osint
        return False


def known(rev: str | None) -> bool:
    if rev in (None, LEGACY):
        return True
    try:
        return _script()[1].get_revision(rev) is not None
    except Exception:  # noqa: BLE001
        return False


def upgrade(engine: sa.Engine, target: str | None = None) -> tuple[str | None, str]:
    """Bring the store to the newest revision (or `target`); return (revision before, revision after)."""
    cfg, script = _script()
    target = target or script.get_current_head()
    with engine.connect() as conn:
        conn.begin()
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK)))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        before = current(conn)
        if before == target:
            conn.rollback()
            return before, target
        if before == LEGACY:
            MigrationContext.configure(conn).stamp(script, "0001")

        def steps(rev, context):  # noqa: ANN001 - Alembic's callback
            return script._upgrade_revs(target, rev)

        with EnvironmentContext(cfg, script, fn=steps, destination_rev=target) as env:
            env.configure(connection=conn, target_metadata=None, render_as_batch=True)
            with env.begin_transaction():
                env.run_migrations()
        conn.commit()
    return before, target


EVIDENCE = ("observations", "parses")
WORK = ("run_work", "work_nodes", "work_questions", "rate_buckets", "credits")  # shared work (0003)


def grant(engine: sa.Engine, writers: list[str], readers: list[str]) -> None:
    """Give roles what they need and no more: writers INSERT evidence, readers SELECT.

    UPDATE and DELETE on evidence are refused to everyone by the append-only triggers anyway; the
    writer's one UPDATE right is on runs, to close the runs it opened."""
    with engine.begin() as conn:
        q = conn.dialect.identifier_preparer.quote
        for role in writers:
            r = q(role)
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {r}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {', '.join(EVIDENCE)} TO {r}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON runs TO {r}")
            conn.exec_driver_sql(f"GRANT SELECT ON alembic_version TO {r}")
            # Workers lease, complete and expand questions, and take tokens and credits: bookkeeping, not evidence.
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON {', '.join(WORK)} TO {r}")
            conn.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {r}")
        for role in readers:
            r = q(role)
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {r}")
            conn.exec_driver_sql(f"GRANT SELECT ON {', '.join(EVIDENCE + WORK)}, runs, alembic_version TO {r}")
