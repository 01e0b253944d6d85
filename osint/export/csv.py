"""nodes.csv and edges.csv in Gephi's spreadsheet import format, safe to open in Excel.

Where they go: a directory (existing, or a path without ".csv") gets `nodes.csv` and `edges.csv`;
a path ending in ".csv" is a prefix: `graphs/case.csv` gives `graphs/case.nodes.csv` and
`graphs/case.edges.csv`.

Text cells that begin with = + - @ tab or CR get a leading single quote, so a spreadsheet shows
them instead of running them as formulas (a hostile WHOIS field like `=HYPERLINK(...)`).
Numbers and true/false are written as they are. UTF-8 without a byte-order mark: Gephi would
read a BOM into the "Id" header.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Iterable

import networkx as nx

from ..common.files import atomic_write
from .common import (column_types, edge_ids, edge_weight, fmt, unique_ids, one_line, row,
                     scalar, flat_edges, sorted_nodes)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Column headers Gephi gives a meaning to, and the names our attributes take in the sheet.
NODE_FIXED = ("Id", "Label", "Kind")
EDGE_FIXED = ("Source", "Target", "Type", "Id", "Label", "Kind", "Weight")
HEADERS = {
    "evidence": "Evidence", "sources": "Sources", "first_seen": "First seen", "last_seen": "Last seen",
    "confidence": "Confidence", "claim": "Claim", "standing": "Standing", "at_incident": "At incident",
    "observed_at": "Observed at", "source": "Source detail", "in_case": "In case", "pinyin": "Pinyin",
}
# Edge columns first in this order (what investigators read first), then the rest by name.
EDGE_ORDER = ("evidence", "sources", "first_seen", "last_seen", "confidence", "claim", "standing",
              "at_incident", "observed_at")


def neutralise(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would read as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return fmt(value)
    return neutralise(str(value))


def csv_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(nodes.csv, edges.csv) for a directory or a '<prefix>.csv' path."""
    p = Path(path)
    if p.suffix.lower() == ".csv" and not p.is_dir():
        stem = p.with_suffix("")
        return stem.with_name(stem.name + ".nodes.csv"), stem.with_name(stem.name + ".edges.csv")
    return p / "nodes.csv", p / "edges.csv"


def _headers(names: Iterable[str], fixed: Iterable[str]) -> dict[str, str]:
    """Attribute name -> column header, never clashing with Gephi's own columns or each other."""
    taken = {h.lower() for h in fixed}
    out = {}
    for name in names:
        header = neutralise(HEADERS.get(name) or one_line(name).replace("_", " ").capitalize() or "Attribute")
        if header.lower() in taken:
            header = f"Attr {header}"
        base, n = header, 2
        while header.lower() in taken:
            header, n = f"{base} ({n})", n + 1
        taken.add(header.lower())
        out[name] = header
    return out


def export_csv(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> list[Path]:
    """Write nodes.csv and edges.csv (see the module docstring for where). Returns both paths."""
    nodes_path, edges_path = csv_paths(path)
    nodes = sorted_nodes(graph)
    ids = unique_ids(nodes)

    node_cols = column_types((graph.nodes[n] for n in nodes), skip=("label", "kind"))
    node_head = _headers(node_cols, NODE_FIXED)
    with atomic_write(nodes_path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([*NODE_FIXED, *node_head.values()])
        for node in nodes:
            data = graph.nodes[node]
            values = row(data, node_cols)
            label = one_line(data.get("label", "")) or ids[node]
            kind = scalar(data.get("kind"))
            out.writerow([cell(ids[node]), cell(label), cell(kind),
                          *(cell(values.get(name)) for name in node_cols)])

    edges = flat_edges(graph)
    edge_cols = column_types((e[3] for e in edges), skip=("label", "kind", "weight"))
    ordered = [c for c in EDGE_ORDER if c in edge_cols] + [c for c in edge_cols if c not in EDGE_ORDER]
    edge_head = _headers(ordered, EDGE_FIXED)
    with atomic_write(edges_path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([*EDGE_FIXED, *edge_head.values()])
        for eid, (u, v, key, data) in zip(edge_ids(edges), edges):
            values = row(data, edge_cols)
            # Kind is the edge key, unique between two nodes (a claim and the same relation
            # found in evidence are two edges); Label is the relation.
            kind = one_line(key if key is not None else data.get("kind", "")) or "edge"
            label = one_line(data.get("label") or data.get("kind") or kind)
            out.writerow([cell(ids[u]), cell(ids[v]), "Directed", eid, cell(label), cell(kind),
                          fmt(edge_weight(data)), *(cell(values.get(name)) for name in ordered)])
    return [nodes_path, edges_path]
