"""`osint evidence list|show|verify|bundle|verify-bundle`: look into the store, prove it is intact, hand it over."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..store import open_store
from .common import CaseOption, err, errors, load, out, settings

app = typer.Typer(no_args_is_help=True)


@app.command("list", help="List stored observations (newest last).")
def list_(
    source: str = typer.Option(None, "--source", help="Only this source."),
    subject: str = typer.Option(None, "--subject", help="Only about this node, e.g. ip:192.0.2.1."),
    outcome: str = typer.Option(None, "--outcome", help="Only this outcome (answered, no_record, timeout, ...)."),
    limit: int = typer.Option(None, "--limit", help="At most this many rows."),
) -> None:
    with errors():
        store = open_store(settings().store, create=False)
        rows = store.list(source=source, subject=subject, outcome=outcome, limit=limit)
    table = Table()
    for col in ("id", "source", "question", "endpoint", "observed (UTC)", "outcome", "bytes", "sha256"):
        table.add_column(col, overflow="fold")
    for o in rows:
        table.add_row(o.evidence_id, o.source, o.query_key, o.endpoint, o.observed_at, str(o.outcome),
                      str(o.raw_size), o.sha256[:16])
    out.print(table)


@app.command("show", help="Show one observation: its request, outcome, hash, parse and raw bytes.")
def show(
    evidence_id: str = typer.Argument(..., help="The evidence id, e.g. ev12 (or 12)."),
    raw: bool = typer.Option(False, "--raw", help="Write the raw bytes to standard output and nothing else."),
) -> None:
    from ..errors import OsintError

    with errors():
        store = open_store(settings().store, create=False)
        try:
            oid = int(evidence_id.removeprefix("ev"))
        except ValueError:
            raise OsintError(f"{evidence_id}: not an evidence id (expected ev<number>)") from None
        o = store.get(oid)
        if o is None:
            raise OsintError(f"{evidence_id}: no such observation in {store.shown}")
        parsed = store.latest_parse(oid)
    if raw:
        import sys

        sys.stdout.buffer.write(o.raw or b"")
        return
    head = {"id": o.evidence_id, "source": o.source, "question": o.query_key, "subject": o.subject,
            "request": o.request, "endpoint": o.endpoint, "observed_at": o.observed_at,
            "duration_ms": o.duration_ms, "outcome": str(o.outcome), "error": o.error, "bytes": o.raw_size,
            "sha256": o.sha256, "meta": o.meta, "tool_version": o.tool_version, "parsed": parsed}
    out.print_json(json.dumps(head, ensure_ascii=False, default=str))
    if o.raw:
        preview = o.raw[:2000].decode("utf-8", "replace")
        out.print("--- raw (first 2000 bytes; --raw for all) ---", markup=False)
        out.print(preview, markup=False, highlight=False)


@app.command("verify", help="Recompute the SHA-256 of every stored answer; exit 1 on any mismatch.")
def verify() -> None:
    with errors():
        store = open_store(settings().store, create=False)
        problems, looked_at, not_checked = store.integrity_report()
        integrity = "; ".join(problems) or "ok"
        checked, bad = store.verify()
    for m in bad:
        err.print(f"MISMATCH ev{m.observation_id} ({m.source} {m.query_key}): stored {m.stored}, "
                  f"bytes hash to {m.actual}", markup=False, highlight=False)
    if integrity != "ok":
        err.print(f"database integrity check: {integrity}", markup=False)
    if bad or integrity != "ok":
        out.print(f"{checked} observations checked, {len(bad)} do not match their SHA-256", markup=False)
        raise typer.Exit(1)
    out.print(f"{checked} observations checked, all match their SHA-256; database integrity ok", markup=False)
    out.print(f"database checks: {'; '.join(looked_at)}", markup=False, highlight=False)
    for what in not_checked:
        out.print(f"not checked: {what}", markup=False, highlight=False)


@app.command("bundle", help="Pack every raw answer, a manifest of SHA-256 hashes, the graphs and the case "
                            "file into one zip that anyone can verify offline.")
def bundle(
    out_path: Path = typer.Option(..., "--out", help="The bundle to write, e.g. evidence.zip."),
    case: str = CaseOption,
) -> None:
    from ..bundle import BundleError, write_bundle

    with errors():
        s = settings()
        c = load(case)
        store = open_store(s.store, create=False)
        try:
            summary = write_bundle(store, c, out_path)
        except OSError as exc:
            raise BundleError(f"{out_path}: cannot write the bundle: {exc.strerror or exc}") from None
        finally:
            store.close()
    for ev in summary.damaged:
        err.print(f"warning: {ev}: stored bytes no longer match their SHA-256; bundled as they are "
                  "(run `osint evidence verify`)", markup=False, highlight=False)
    out.print(f"{summary.path}: {summary.observations} observations ({summary.raw_files} raw answers), "
              f"{summary.files} files, {summary.size} bytes", markup=False, highlight=False)
    out.print(f"manifest SHA-256 {summary.manifest_sha256} (write it down: it vouches for the whole bundle)",
              markup=False, highlight=False)


@app.command("verify-bundle", help="Check a bundle offline against its manifest; exit 1 naming every file "
                                   "that does not match, 2 when it is not a bundle.")
def verify_bundle(
    path: Path = typer.Argument(..., help="The bundle (zip) to check."),
) -> None:
    from ..bundle import manifest_sha256
    from ..bundle import verify_bundle as check

    # No settings(), no store, no case: a bundle is checked by whoever receives it, on any machine.
    with errors():
        problems = check(path)
        digest = None if problems else manifest_sha256(path)
    for p in problems:
        err.print(f"MISMATCH {p.name}: {p.reason}", markup=False, highlight=False)
    if problems:
        out.print(f"{path}: {len(problems)} problem(s); the bundle is not as it was written", markup=False,
                  highlight=False)
        raise typer.Exit(1)
    out.print(f"{path}: every file matches the manifest, and the manifest matches manifest.sha256", markup=False,
              highlight=False)
    out.print(f"manifest SHA-256 {digest} (compare it with the one recorded when the bundle was made)",
              markup=False, highlight=False)
