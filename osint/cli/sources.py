"""`osint sources`: what each source asks, where, with which credentials and limits."""

from __future__ import annotations

import typer
from rich.table import Table

from ..sources import SourceContext, registered_sources
from .common import errors, out, settings


def sources(check: bool = typer.Option(False, "--check", help="Ask each enabled source one cheap question (and "
                                       "a key's own account call) and say whether it can work: exit 1 if any "
                                       "cannot."),
            only: str = typer.Option(None, "--sources", help="Comma-separated source names (with --check).")) -> None:
    with errors():
        s = settings()
    if check:
        _check(s, [n.strip() for n in only.split(",") if n.strip()] if only else None)
        return
    table = Table(title="sources")
    for col in ("source", "enabled", "consumes", "endpoint", "key", "rate/s", "concurrency", "timeout s", "TTL"):
        table.add_column(col)
    ctx = SourceContext(case=None, enrich=s.enrich)
    for name, cls in registered_sources().items():
        src = cls(s.source(name), ctx)
        if cls.offline:
            key = "not needed"
        elif src.credential_keys:
            key = "set" if src.has_credentials() else ("missing" if cls.needs_key else "optional, not set")
        else:
            key = "not needed"
        table.add_row(name, "yes" if s.source(name).enabled else "no", ",".join(cls.consumes),
                      "offline" if cls.offline else _endpoint(src), key, f"{src.rate:g}", str(src.concurrency),
                      f"{src.timeout:g}", _ttl(src.cache_ttl))
    out.print(table)
    from ..sources.gaps import GAPS

    gaps = Table(title="platforms no source reads (accounts there stay claims: a gap, not an empty answer)")
    for col in ("platform", "what", "why no source", "instead"):
        gaps.add_column(col, overflow="fold")
    for platform, (what, why, instead) in GAPS.items():
        gaps.add_row(platform, what, why, instead)
    out.print(gaps)


def _endpoint(src) -> str:
    ep = src.endpoint
    return ", ".join(map(str, ep)) if isinstance(ep, (list, tuple)) else str(ep)


def _ttl(seconds: float) -> str:
    return f"{seconds / 86400:g}d" if seconds >= 86400 else f"{seconds / 3600:g}h"


def _check(s, names: list[str] | None) -> None:
    import time

    from ..engine.probe import check_sources

    start = time.monotonic()
    checks = check_sources(s, names)
    table = Table(title="sources --check")
    for col in ("source", "result", "endpoint", "question", "ms", "detail"):
        table.add_column(col, overflow="fold")
    for c in checks:
        style = "red" if c.failing else ("yellow" if c.status == "rate-limited" else "green")
        table.add_row(c.source, f"[{style}]{c.status}[/{style}]", c.endpoint, c.question,
                      "" if c.ms is None else f"{c.ms:.0f}", c.detail)
    out.print(table)
    failing = [c.source for c in checks if c.failing]
    took = time.monotonic() - start
    if failing:
        out.print(f"{len(failing)} enabled source(s) cannot work: {', '.join(failing)} ({took:.1f}s)",
                  markup=False, highlight=False)
        raise typer.Exit(1)
    out.print(f"every enabled source can work ({took:.1f}s)", markup=False, highlight=False)
