"""Exporters: the graph as GEXF (Gephi), GraphML (yEd, Cytoscape), node-link JSON (D3, sigma.js), CSV,
and a PNG picture for documents.

They know only the graph: no store, no sources, no network. Every file is written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import networkx as nx

from ..errors import OsintError
from .csv import export_csv
from .gexf import export_gexf
from .graphml import export_graphml
from .json import export_json
from .misp import export_misp
from .png import export_png
from .stix import export_stix

EXPORTERS: dict[str, Callable[[nx.MultiDiGraph, str | os.PathLike[str]], list[Path]]] = {
    "gexf": export_gexf,
    "graphml": export_graphml,
    "json": export_json,
    "csv": export_csv,
    "png": export_png,
    "stix": export_stix,
    "misp": export_misp,
}
DATA_FORMATS = ("gexf", "graphml", "json", "csv")  # the ones another program reads back as a graph
FORMATS = tuple(EXPORTERS)
JSON_SUFFIXED = ("stix", "misp")  # JSON documents of another standard: <case-id>.<fmt>.json


class ExportError(OsintError):
    """The graph cannot be exported in that format."""


def export(graph: nx.MultiDiGraph, fmt: str, path: str | os.PathLike[str]) -> list[Path]:
    """Write the graph in `fmt` (gexf, graphml, json, csv, png) to `path`; returns the files written."""
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
    return exporter(graph, path)


def default_path(case_id: str, fmt: str, directory: str | os.PathLike[str] = "graphs") -> Path:
    """graphs/<case-id>.<ext>; for csv that is a prefix giving <case-id>.nodes.csv and .edges.csv;
    STIX and MISP are JSON files named <case-id>.stix.json and <case-id>.misp.json."""
    return Path(directory) / (f"{case_id}.{fmt}.json" if fmt in JSON_SUFFIXED else f"{case_id}.{fmt}")


__all__ = ["DATA_FORMATS", "EXPORTERS", "FORMATS", "ExportError", "default_path", "export", "export_csv", "export_gexf",
           "export_graphml", "export_json", "export_misp", "export_png", "export_stix"]
