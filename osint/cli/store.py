"""`osint store init`: create or upgrade the evidence store's tables, once, under a lock."""

from __future__ import annotations

import typer

from .common import errors, out, settings

app = typer.Typer(no_args_is_help=True)


@app.command("init", help="Create the store's tables, or upgrade them to this osint's revision. Safe to run "
                          "again, and from several machines at once; the only command that creates tables "
                          "on a database server.")
def init(
    writer: list[str] = typer.Option([], "--writer", help="A database role that may add evidence but never change "
                                                          "or delete it (repeatable; PostgreSQL)."),
    reader: list[str] = typer.Option([], "--reader", help="A database role that may only read: graph, report, "
                                                          "evidence list (repeatable; PostgreSQL)."),
) -> None:
    from ..store.evidence import init_store
    from ..store.migrate import LEGACY

    with errors():
        s = settings()
        store = init_store(s.store, writers=writer, readers=reader)
        before, after = store.revision_before, store.revision
        shown = store.shown
        store.close()
    if before == after:
        out.print(f"{shown}: already at revision {after}; nothing to do", markup=False, highlight=False)
    elif before is None:
        out.print(f"{shown}: tables created at revision {after}", markup=False, highlight=False)
    else:
        was = "an unversioned store from before migrations" if before == LEGACY else f"revision {before}"
        out.print(f"{shown}: upgraded from {was} to revision {after}", markup=False, highlight=False)
    for role in writer:
        out.print(f"{role}: may add evidence, never change or delete it", markup=False, highlight=False)
    for role in reader:
        out.print(f"{role}: may read", markup=False, highlight=False)


@app.command("runs", help="List the runs in the store, newest first: complete, partial, running, or crashed "
                          "(a shared run whose workers all stopped before it was done).")
def runs(stale: float = typer.Option(90.0, "--stale", help="Seconds without a heartbeat after which an open "
                                                           "shared run counts as crashed.")) -> None:
    from rich.table import Table

    from ..store import open_store
    from ..store.shared import run_states

    with errors():
        s = settings()
        store = open_store(s.store, create=False)
        try:
            rows = run_states(store, stale)
        finally:
            store.close()
    table = Table(title=f"runs in {store.shown}")
    for col in ("run", "state", "started", "by", "questions left"):
        table.add_column(col)
    for r in rows:
        left = "-" if r["remaining"] is None else str(r["remaining"])
        who = "@".join(x for x in (r["db_user"], r["client_host"]) if x)
        table.add_row(r["run_id"], r["state"], str(r["started_at"]), who, left)
    out.print(table)
