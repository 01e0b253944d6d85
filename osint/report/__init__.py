"""`osint report`: the case's findings in one self-contained HTML file, in Chinese or English."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import networkx as nx

from ..case.model import Case
from ..common.files import atomic_write
from ..common.timefmt import iso_utc
from ..store.protocol import EvidenceReader
from .assets import AssetError, GraphLibrary, graph_library
from .data import collect
from .i18n import LANGS
from .render import render


def generated_at() -> str:
    """Now, in UTC; SOURCE_DATE_EPOCH (the reproducible-builds convention) pins it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch.isdigit() else datetime.now(timezone.utc)
    return iso_utc(when)


def default_path(case_id: str, lang: str, directory: str | os.PathLike[str] = "reports") -> Path:
    return Path(directory) / f"{case_id}.{lang}.html"


def write_report(case: Case, graph: nx.MultiDiGraph, store: EvidenceReader | None, lang: str, path: str | os.PathLike[str],
                 *, library: GraphLibrary | None = None) -> Path:
    """Write the report for `case` in `lang` to `path` (atomically); returns the path."""
    from .requests import requests_section

    data = collect(case, graph, store, generated_at=generated_at())
    data["requests"] = requests_section(case, graph, lang)
    html = render(data, lang, library or graph_library())
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(html)
    return Path(path)


__all__ = ["LANGS", "AssetError", "collect", "default_path", "generated_at", "render", "write_report"]
