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


def _build(case_path: str, case_only: bool, as_of: str | None = None):
    c, g, _ = build_case_graph(case_path, case_only)
    if as_of:
        from ..graph.asof import as_of as at, parse_as_of

        g = at(g, *parse_as_of(as_of, g.graph.get("incident_time")))
    return c, g


AS_OF_HELP = ("Only the facts that held then: YYYY-MM-DD (that day, UTC), an ISO time with its offset, "
              "or 'incident'.")


def graph(
    case: str = CaseOption,
    export: Format = typer.Option(Format.gexf, "--export", help="Export format."),
    out_path: Path = typer.Option(None, "--out", help="Output file (a directory for csv); default "
                                  "graphs/<case-id>.<ext>, or graphs/<case-id>.case-only.<ext> with --case-only."),
    case_only: bool = typer.Option(False, "--case-only", help="Use the case file alone, not the evidence store."),
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    from ..export import default_path
    from ..export import export as write

    with errors():
        c, g = _build(case, case_only, as_of)
        # The case-only graph has a name of its own: the committed one must never be overwritten by
        # the graph of someone's evidence store (README's first command writes that one).
        name = f"{c.id}.case-only" if case_only else c.id
        written = write(g, export.value, out_path or default_path(name, export.value))
    names = ", ".join(str(p) for p in written)
    out.print(f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges -> {names}", markup=False, highlight=False)


def attribute(
    case: str = CaseOption,
    fmt: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table (terminal), json or md."),
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    from ..graph import attribute as attr
    from ..report.claims import path_text, to_json, to_markdown

    with errors():
        c, g = _build(case, False, as_of)
        results = attr.attribute(g, c)
        leads = attr.new_leads(g)
    if fmt == ReportFormat.json:
        out.print(to_json(results, leads), markup=False, highlight=False, soft_wrap=True)
        return
    if fmt == ReportFormat.md:
        out.print(to_markdown(results, leads), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"claims of {c.id}")
    for col in ("claim", "status", "best evidence path"):
        table.add_column(col, overflow="fold")
    for r in results:
        status = r.status.replace("_", " ")
        if r.status in ("corroborated", "supported_via_claim"):
            status += f": {r.lines} independent line(s) from {r.n_sources} source(s)"
        if r.rests_on:
            status += "\nrests on: " + "; ".join(f"{c.subject} {c.relation}" for c in r.rests_on)
        best = f"{path_text(r.best)} [{', '.join(sorted(r.best.sources))}]" if r.best else r.reason
        claim = f"{r.subject} {r.relation} {r.object}" + (f"\n({r.source})" if r.source else "")
        table.add_row(claim, status, best)
    out.print(table)
    if leads:
        lt = Table(title="new leads (found by enrichment, not in the case file)")
        for col in ("lead", "kind", "connects to", "via"):
            lt.add_column(col, overflow="fold")
        for lead in leads:
            lt.add_row(lead.node, lead.kind, lead.near, path_text(lead.path))
        out.print(lt)


def explain(
    a: str = typer.Argument(..., help="A node id, e.g. ip:165.154.60.7"),
    b: str = typer.Argument(..., help="Another node id, e.g. company:91440300MA5GAKDP7P"),
    case: str = CaseOption,
    k: int = typer.Option(3, "--paths", help="How many paths to show."),
    via_claims: bool = typer.Option(False, "--via-claims",
                                    help="Also show paths that reach a brand through another claim (marked CLAIM)."),
    weak: bool = typer.Option(False, "--weak", help="Also walk weak links (same network, registrar or place), "
                                                    "which attribution ignores."),
) -> None:
    from ..graph import attribute as attr

    from ..errors import OsintError

    with errors():
        c, g = _build(case, False)
        for node in (a, b):
            if node not in g:
                raise OsintError(f"{node}: no such node in the graph of {c.id} (node ids look like ip:192.0.2.1, "
                                 "domain:example.com, company:<USCC>)")
        paths = attr.explain(g, a, b, k=k, via_claims=via_claims, weak=weak)
        verdict = next((r for r in attr.attribute(g, c) if {r.subject, r.object} == {a, b}), None)
    if verdict is not None:
        # The same finder as `osint attribute`: the verdict and the paths below cannot disagree.
        out.print(f"claim {verdict.subject} {verdict.relation} {verdict.object}: "
                  f"{verdict.status.replace('_', ' ')} ({verdict.reason})", markup=False, highlight=False)
    if not paths:
        hint = "" if via_claims else " (--via-claims shows paths that rest on other claims)"
        out.print(f"no evidence path between {a} and {b}{hint}", markup=False)
        raise typer.Exit(1)
    for i, path in enumerate(paths, 1):
        bridged = any(h.claim for h in path.hops)
        table = Table(title=f"path {i}" + (" (rests on a claim of the case file)" if bridged else ""))
        for col in ("from", "relation", "to", "sources", "evidence", "when"):
            table.add_column(col, overflow="fold")
        for hop in path.hops:
            arrow = hop.relation if hop.forward else f"{hop.relation} (reverse)"
            if hop.claim:
                arrow = f"CLAIM {arrow}"
            a, b = (hop.frm, hop.to) if hop.forward else (hop.to, hop.frm)
            score = (g.get_edge_data(a, b, hop.relation) or {}).get("score")
            if score is not None:  # a name match: how well the names agree, not only that they do
                arrow += f" (score {score})"
            when = " .. ".join(x for x in (hop.first_seen, hop.last_seen) if x) or (hop.observed_at or "")
            evidence = ", ".join(hop.evidence) or (hop.note_text("en") or "")
            table.add_row(hop.frm, arrow, hop.to, ", ".join(hop.sources), evidence, when)
        out.print(table)
