"""`osint graph`, `osint attribute`, `osint explain`: the graph, its claims, its paths."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from ..store import open_store
from .common import CaseOption, errors, load, out, settings


class Format(str, Enum):
    gexf = "gexf"
    graphml = "graphml"
    json = "json"
    csv = "csv"
    png = "png"
    stix = "stix"
    misp = "misp"


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    md = "md"


def build_case_graph(case_path: str, case_only: bool, *, keep_store: bool = False):
    """(case, graph, store): the graph of the case file plus the evidence store (unless case_only).

    The store is returned open when keep_store (the caller closes it), else closed and None."""
    from ..graph import build_graph

    s = settings()
    c = load(case_path)
    if case_only:
        return c, build_graph(c, None), None
    store = open_store(s.store, create=False) if Path(s.store).exists() or "://" in s.store else None
    try:
        g = build_graph(c, store)
    except BaseException:
        if store is not None:
            store.close()
        raise
    if store is not None and not keep_store:
        store.close()
        store = None
    return c, g, store


def _build(case_path: str, case_only: bool):
    c, g, _ = build_case_graph(case_path, case_only)
    return c, g


def graph(
    case: str = CaseOption,
    export: Format = typer.Option(Format.gexf, "--export", help="Export format."),
    out_path: Path = typer.Option(None, "--out", help="Output file (a directory for csv); default graphs/<case-id>.<ext>."),
    case_only: bool = typer.Option(False, "--case-only", help="Use the case file alone, not the evidence store."),
) -> None:
    from ..export import default_path
    from ..export import export as write

    with errors():
        c, g = _build(case, case_only)
        written = write(g, export.value, out_path or default_path(c.id, export.value))
    names = ", ".join(str(p) for p in written)
    out.print(f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges -> {names}", markup=False, highlight=False)


def attribute(
    case: str = CaseOption,
    fmt: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table (terminal), json or md."),
) -> None:
    from ..graph import attribute as attr

    with errors():
        c, g = _build(case, False)
        results = attr.attribute(g, c)
        leads = attr.new_leads(g)
    if fmt == ReportFormat.json:
        out.print(attr.to_json(results, leads), markup=False, highlight=False, soft_wrap=True)
        return
    if fmt == ReportFormat.md:
        out.print(attr.to_markdown(results, leads), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"claims of {c.id}")
    for col in ("claim", "status", "best evidence path"):
        table.add_column(col, overflow="fold")
    for r in results:
        status = f"corroborated by {r.n_sources} independent source(s)" if r.status == "corroborated" else r.status
        best = f"{attr.path_text(r.best)} [{', '.join(sorted(r.best.sources))}]" if r.best else r.reason
        claim = f"{r.subject} {r.relation} {r.object}" + (f"\n({r.source})" if r.source else "")
        table.add_row(claim, status, best)
    out.print(table)
    if leads:
        lt = Table(title="new leads (found by enrichment, not in the case file)")
        for col in ("lead", "kind", "connects to", "via"):
            lt.add_column(col, overflow="fold")
        for lead in leads:
            lt.add_row(lead.node, lead.kind, lead.near, attr.path_text(lead.path))
        out.print(lt)


def explain(
    a: str = typer.Argument(..., help="A node id, e.g. ip:165.154.60.7"),
    b: str = typer.Argument(..., help="Another node id, e.g. company:91440300MA5GAKDP7P"),
    case: str = CaseOption,
    k: int = typer.Option(3, "--paths", help="How many paths to show."),
) -> None:
    from ..graph import attribute as attr

    from ..errors import OsintError

    with errors():
        c, g = _build(case, False)
        for node in (a, b):
            if node not in g:
                raise OsintError(f"{node}: no such node in the graph of {c.id} (node ids look like ip:192.0.2.1, "
                                 "domain:example.com, company:<USCC>)")
        paths = attr.explain(g, a, b, k=k)
    if not paths:
        out.print(f"no evidence path between {a} and {b}", markup=False)
        raise typer.Exit(1)
    for i, path in enumerate(paths, 1):
        table = Table(title=f"path {i}")
        for col in ("from", "relation", "to", "sources", "evidence", "when"):
            table.add_column(col, overflow="fold")
        for hop in path.hops:
            arrow = hop.relation if hop.forward else f"{hop.relation} (reverse)"
            when = " .. ".join(x for x in (hop.first_seen, hop.last_seen) if x) or (hop.observed_at or "")
            table.add_row(hop.frm, arrow, hop.to, ", ".join(hop.sources), ", ".join(hop.evidence), when)
        out.print(table)
