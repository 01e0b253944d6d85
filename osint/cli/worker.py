"""`osint worker`: ask the questions of shared runs on a PostgreSQL store, beside any other workers."""

from __future__ import annotations

import typer

from .common import err, errors, out, settings


def worker(
    egress: str = typer.Option(None, "--egress", help="The local address this worker's connections leave from "
                                                      "(default: [enrich] egress, else the system's choice). "
                                                      "Rate budgets are kept per egress address."),
    run: str = typer.Option(None, "--run", help="Work on this run only, until it is complete."),
    until_done: bool = typer.Option(False, "--until-done", help="Exit once no run is left open (after one was "
                                                                "open since the worker started), instead of "
                                                                "waiting for the next one."),
    lease: float = typer.Option(None, "--lease", help="Seconds a question stays leased without a heartbeat "
                                                      "before another worker takes it back (default: [enrich] "
                                                      "lease, 30)."),
    concurrency: int = typer.Option(None, "--concurrency", help="Most questions in flight per source "
                                                                "(default: the run's)."),
) -> None:
    """Exit 0 when done (Ctrl-C stops it: its leased questions go back to the others after --lease)."""
    from ..engine.shared import not_shared
    from ..engine.worker import Worker
    from ..store import open_store
    from ..store.url import is_url

    def event(e: dict) -> None:
        err.print(f"{e['run_id']}: {e['state']}", markup=False, highlight=False)

    with errors():
        s = settings()
        if not is_url(s.store):  # refused before opening: a worker must not leave a new SQLite file behind
            raise not_shared(s.store)
        store = open_store(s.store)
        try:
            w = Worker(s, store, egress=egress, lease_s=lease, concurrency=concurrency, on_event=event)
            err.print(f"worker {w.name} on {store.shown}" + (f", leaving from {w.egress}" if w.egress else ""),
                      markup=False, highlight=False)
            asked = w.serve(run_id=run, stop_when_done=until_done)
        finally:
            store.close()
    out.print(f"worker {w.name}: {asked} questions done", markup=False, highlight=False)
