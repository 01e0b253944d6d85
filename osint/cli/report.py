"""`osint report`: one self-contained HTML report of the case, in Chinese or English."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from .common import CaseOption, errors, out
from .graph import build_case_graph


class Lang(str, Enum):
    zh = "zh"
    en = "en"


def report(
    case: str = CaseOption,
    lang: Lang = typer.Option(Lang.zh, "--lang", help="zh (Chinese) or en (English, Chinese names with pinyin)."),
    out_path: Path = typer.Option(None, "--out", help="Output file; default reports/<case-id>.<lang>.html."),
    case_only: bool = typer.Option(False, "--case-only", help="Use the case file alone, not the evidence store."),
    as_of: str = typer.Option(None, "--as-of", help="Only the facts that held then: YYYY-MM-DD, an ISO time with "
                                                    "its offset, or 'incident'."),
) -> None:
    from ..report import default_path, write_report

    with errors():
        c, g, store = build_case_graph(case, case_only, keep_store=True)
        try:
            if as_of:
                from ..graph.asof import as_of as at, parse_as_of

                g = at(g, *parse_as_of(as_of, g.graph.get("incident_time")))
            path = write_report(c, g, store, lang.value, out_path or default_path(c.id, lang.value))
        finally:
            if store is not None:
                store.close()
    out.print(f"report ({lang.value}): {g.number_of_nodes()} nodes, {g.number_of_edges()} edges -> {path}",
              markup=False, highlight=False)
