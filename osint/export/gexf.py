"""GEXF 1.3 for Gephi, written by us, streamed with lxml: valid against the official RelaxNG schema.

Why not networkx.write_gexf: it writes name="" on <graph>, a misspelt xsi namespace, timeformat
"long" for numeric spells, raw control characters (not well-formed XML), fails on None, datetime and
tuple values and silently turns lists into spells. Here every value is typed and declared, missing
values are left out (Gephi fails on "None"), text is cut to what XML 1.0 can carry, and the file is
written element by element, so memory does not grow with the graph.

Time: edges (and nodes) with first_seen/last_seen get a <spell> with the day it started and ended
(timeformat="date", the form every reader understands); the exact times stay in the first_seen/last_seen
columns. A span whose end comes before its start is left without a spell rather than made up.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Any

import networkx as nx
from lxml import etree

from .. import __version__
from ..common.files import atomic_write
from ..graph import style
from .common import (column_types, edge_ids, edge_weight, fmt, graph_meta, unique_ids, one_line,
                     row, flat_edges, sorted_nodes)

NS = "http://gexf.net/1.3"
VIZ = "http://gexf.net/1.3/viz"
NSMAP = {None: NS, "viz": VIZ}

# Shown through GEXF's own fields (label, weight, spells), not as columns.
NODE_SKIP = ("label",)
EDGE_SKIP = ("label", "weight")
# Edge column titles a reader takes for its own: networkx passes a column titled "key" to
# add_edge(key=...) beside the edge id, and fails. Such a column is written as attr_key.
EDGE_RESERVED = ("key",)

_T = {name: f"{{{NS}}}{name}" for name in (
    "gexf", "meta", "creator", "description", "keywords", "graph", "attributes", "attribute",
    "nodes", "node", "edges", "edge", "attvalues", "attvalue", "spells", "spell")}
_V = {name: f"{{{VIZ}}}{name}" for name in ("color", "size", "shape")}


def export_gexf(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> list[Path]:
    """Write the graph as GEXF 1.3 to `path`, atomically. Returns the file written."""
    with atomic_write(path) as fh:
        write_gexf(graph, fh)
    return [Path(path)]


def day(value: Any) -> str | None:
    """The UTC day (YYYY-MM-DD) of an ISO date or time, or None when it is not one."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value.isoformat()
    elif isinstance(value, str) and len(value) >= 10:
        try:
            if len(value) == 10:
                return date.fromisoformat(value).isoformat()
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date().isoformat()


def spell(attrs: dict[str, Any]) -> tuple[str | None, str | None] | None:
    """(start, end) days from first_seen/last_seen; None when there is no usable span."""
    start, end = day(attrs.get("first_seen")), day(attrs.get("last_seen"))
    if start is None and end is None:
        return None
    if start is not None and end is not None and end < start:
        return None
    return start, end


def write_gexf(graph: nx.MultiDiGraph, fh: IO[bytes]) -> None:
    """Stream the graph as GEXF 1.3 into a binary file."""
    nodes = sorted_nodes(graph)
    ids = unique_ids(nodes)
    edges = flat_edges(graph)
    eids = edge_ids(edges)
    node_cols = column_types((graph.nodes[n] for n in nodes), skip=NODE_SKIP)
    edge_cols = column_types((e[3] for e in edges), skip=EDGE_SKIP)
    node_col_ids = unique_ids(node_cols)  # declared ids: clean, unique
    edge_col_ids = unique_ids(edge_cols, reserved=EDGE_RESERVED)
    dynamic = any(spell(graph.nodes[n]) for n in nodes) or any(spell(e[3]) for e in edges)
    meta = graph_meta(graph)

    graph_attrs = {"defaultedgetype": "directed", "mode": "dynamic" if dynamic else "static"}
    if dynamic:
        graph_attrs.update(timeformat="date", timerepresentation="interval", timezone="UTC")

    with etree.xmlfile(fh, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(_T["gexf"], nsmap=NSMAP, version="1.3"):
            xf.write("\n")
            _write_meta(xf, meta)
            with xf.element(_T["graph"], graph_attrs):
                xf.write("\n")
                _write_columns(xf, "node", node_cols, node_col_ids)
                _write_columns(xf, "edge", edge_cols, edge_col_ids)
                with xf.element(_T["nodes"], count=str(len(nodes))):
                    xf.write("\n")
                    for node in nodes:
                        _write_node(xf, graph, node, ids[node], node_cols, node_col_ids)
                with xf.element(_T["edges"], count=str(len(edges))):
                    xf.write("\n")
                    for eid, (u, v, key, data) in zip(eids, edges):
                        _write_edge(xf, eid, ids[u], ids[v], key, data, edge_cols, edge_col_ids)
                xf.write("\n")
            xf.write("\n")


def _write_meta(xf: Any, meta: dict[str, Any]) -> None:
    with xf.element(_T["meta"]):
        with xf.element(_T["creator"]):
            xf.write(f"osint {__version__}")
        if meta.get("title") is not None:
            with xf.element(_T["description"]):
                xf.write(str(meta["title"]))
        if meta.get("case_id") is not None:
            with xf.element(_T["keywords"]):
                xf.write(str(meta["case_id"]))
    xf.write("\n")


def _write_columns(xf: Any, cls: str, columns: dict[str, str], ids: dict[str, str]) -> None:
    if not columns:
        return
    with xf.element(_T["attributes"], {"class": cls, "mode": "static"}):
        for name, column_type in columns.items():
            xf.write("\n")
            with xf.element(_T["attribute"], id=ids[name], title=ids[name], type=column_type):
                pass
    xf.write("\n")


def _write_values(xf: Any, values: dict[str, Any], ids: dict[str, str]) -> None:
    if not values:
        return
    attvalue = _T["attvalue"]
    with xf.element(_T["attvalues"]):
        for name, value in values.items():
            with xf.element(attvalue, {"for": ids[name], "value": fmt(value)}):
                pass


def _write_spell(xf: Any, attrs: dict[str, Any]) -> None:
    span = spell(attrs)
    if span is None:
        return
    bounds = {k: v for k, v in zip(("start", "end"), span) if v is not None}
    with xf.element(_T["spells"]):
        with xf.element(_T["spell"], bounds):
            pass


def _write_node(xf: Any, graph: nx.MultiDiGraph, node: Any, nid: str, columns: dict[str, str],
                col_ids: dict[str, str]) -> None:
    data = graph.nodes[node]
    label = one_line(data.get("label", "")) or nid
    kind = str(data.get("kind", ""))
    r, g, b = style.rgb(style.colour(kind))
    with xf.element(_T["node"], id=nid, label=label):
        _write_values(xf, row(data, columns), col_ids)
        _write_spell(xf, data)
        with xf.element(_V["color"], r=str(r), g=str(g), b=str(b)):
            pass
        with xf.element(_V["size"], value=fmt(style.node_size(graph.degree(node)))):
            pass
    xf.write("\n")


def _write_edge(xf: Any, eid: str, source: str, target: str, key: Any, data: dict[str, Any],
                columns: dict[str, str], col_ids: dict[str, str]) -> None:
    kind = one_line(key if key is not None else data.get("kind", "")) or "edge"
    label = one_line(data.get("label") or data.get("kind") or kind)
    attrs = {"id": eid, "source": source, "target": target, "kind": kind, "label": label,
             "weight": fmt(edge_weight(data))}
    with xf.element(_T["edge"], attrs):
        _write_values(xf, row(data, columns), col_ids)
        _write_spell(xf, data)
        if data.get("claim") is True:
            r, g, b = style.rgb(style.CLAIM_EDGE_COLOUR)
            with xf.element(_V["color"], r=str(r), g=str(g), b=str(b)):
                pass
            with xf.element(_V["shape"], value="dashed"):
                pass
    xf.write("\n")
