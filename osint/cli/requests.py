"""`osint requests`: who holds the records, what to ask them for, and drafts of the requests."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from .common import CaseOption, errors, out
from .graph import build_case_graph
from .report import Lang


class RequestFormat(str, Enum):
    md = "md"
    html = "html"
    json = "json"


def requests(
    case: str = CaseOption,
    lang: Lang = typer.Option(Lang.zh, "--lang", help="zh (Chinese) or en (English)."),
    fmt: RequestFormat = typer.Option(RequestFormat.md, "--format", help="md, html or json."),
    out_path: Path = typer.Option(None, "--out", help="Write to this file instead of the terminal."),
) -> None:
    from ..common.files import atomic_write
    from ..handoff.render import render
    from ..handoff.requests import record_holders

    with errors():
        c, g, _ = build_case_graph(case, False)
        text = render(record_holders(c, g), lang.value, fmt.value)
        if out_path is not None:
            with atomic_write(out_path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    if out_path is None:
        out.file.write(text)
        out.file.flush()
    else:
        out.print(f"requests ({lang.value}, {fmt.value}) -> {out_path}", markup=False, highlight=False)
