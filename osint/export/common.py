"""What every exporter shares: safe text, one value per cell, typed columns, stable order, atomic files."""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date, datetime, timezone
from typing import Any, Iterable

import networkx as nx

from ..graph.provenance import PROVENANCE


# XML 1.0 allows only these characters. We also drop the C0/C1 controls it tolerates but that only
# come from hostile WHOIS or web text (and DEL): they break viewers and spreadsheets. Lone surrogates
# (from JSON escapes like "\ud800") cannot be encoded at all.
_NOT_XML_SAFE = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")

INT32 = 2**31 - 1
INT64 = 2**63 - 1


def clean_text(value: Any) -> str:
    """The text with every character XML 1.0 cannot carry (and every control but tab/newline) removed."""
    text = value if type(value) is str else str(value)
    if text.isprintable():  # fast path: printable characters are all XML-safe
        return text
    return _NOT_XML_SAFE.sub("", text)


def one_line(value: Any) -> str:
    """Cleaned text on one line, runs of white space collapsed: for labels and ids."""
    text = value if type(value) is str else str(value)
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return _SPACES.sub(" ", clean_text(text)).strip()


def scalar(value: Any) -> str | bool | int | float | None:
    """One exportable value: a clean string, bool, int or finite float; None means 'leave it out'.

    Lists are joined with ', ' (sets sorted first), dicts become compact JSON, dates ISO text.
    Empty strings and non-finite floats are left out too: Gephi rejects "None", "" and "NaN".
    """
    if type(value) is str:  # the common case, first
        text = clean_text(value)
        return text if text and not text.isspace() else None
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
            return value.isoformat(timespec="seconds") + "Z"
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        parts = [p for p in (scalar(v) for v in value) if p is not None]
        text = ", ".join(fmt(p) for p in parts)
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    else:
        text = str(value)
    text = clean_text(text)
    return text if text.strip() else None


def fmt(value: str | bool | int | float) -> str:
    """The text of a scalar as every format writes it: true/false, shortest round-trip float."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def value_type(value: Any) -> str | None:
    """The column type a raw attribute value asks for (None: the value will be left out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        if -INT32 - 1 <= value <= INT32:
            return "integer"
        return "long" if -INT64 - 1 <= value <= INT64 else "string"  # Java's long is the limit
    if isinstance(value, float):
        return "double"
    return "string"


def column_types(attr_dicts: Iterable[dict[Any, Any]], *, skip: Iterable[str] = ()) -> dict[str, str]:
    """One type per column over all rows: boolean, integer, long, double or string, sorted by name.

    A column whose values disagree (an int here, a string there) is a string column: typed
    formats must not declare two types for one name.
    """
    skip = set(skip)
    seen: dict[str, set[str]] = {}
    for attrs in attr_dicts:
        for key, value in attrs.items():
            t = value_type(value)
            if t is not None:
                seen.setdefault(str(key), set()).add(t)
    out = {}
    for key, types in seen.items():
        if key in skip:
            continue
        if len(types) == 1:
            out[key] = types.pop()
        elif types <= {"integer", "long"}:
            out[key] = "long"
        elif types <= {"integer", "long", "double"}:
            out[key] = "double"
        else:
            out[key] = "string"
    return dict(sorted(out.items()))


def coerce(value: str | bool | int | float, column_type: str) -> str | bool | int | float:
    """A scalar in its column's type (ints in a double column become floats, mixed ones text)."""
    if column_type == "double" and not isinstance(value, bool):
        return float(value)
    if column_type == "string" and not isinstance(value, str):
        return fmt(value)
    return value


def row(attrs: dict[Any, Any], columns: dict[str, str]) -> dict[str, str | bool | int | float]:
    """The attributes of one node or edge as exportable values of the declared columns, in column
    order; missing and empty values are left out."""
    out = {}
    for key in sorted(k for k in attrs if k in columns):
        value = scalar(attrs[key])
        if value is not None:
            out[key] = coerce(value, columns[key])
    return out


def sorted_nodes(graph: nx.MultiDiGraph) -> list[Any]:
    return sorted(graph.nodes, key=str)


def sorted_edges(graph: nx.MultiDiGraph) -> list[tuple[Any, Any, Any, dict[Any, Any]]]:
    """(source, target, key, data) of every edge, sorted; key is None outside multigraphs."""
    if graph.is_multigraph():
        edges = list(graph.edges(keys=True, data=True))
    else:
        edges = [(u, v, None, d) for u, v, d in graph.edges(data=True)]
    edges.sort(key=lambda e: (str(e[0]), str(e[1]), str(e[2])))
    return edges


def flat_provenance(data: dict[Any, Any]) -> dict[Any, Any]:
    """An edge's data with its provenance tuples written as every file format carries them: 'ev1,ev2'."""
    return {k: ",".join(map(str, v)) if k in PROVENANCE and isinstance(v, (tuple, list)) else v
            for k, v in data.items()}


def flat_edges(graph: nx.MultiDiGraph) -> list[tuple[Any, Any, Any, dict[Any, Any]]]:
    """sorted_edges, provenance flattened (flat_provenance): what GEXF, GraphML, JSON and CSV write."""
    return [(u, v, key, flat_provenance(data)) for u, v, key, data in sorted_edges(graph)]


def edge_ids(edges: Iterable[tuple[Any, ...]]) -> list[str]:
    """Ids that depend only on (source, target, key): adding an edge does not renumber the rest,
    so two exports of a growing case diff cleanly."""
    ids, used = [], set()
    for u, v, key, *_ in edges:
        digest = hashlib.blake2b(f"{u}\x00{v}\x00{key}".encode("utf-8", "surrogatepass"),
                                 digest_size=8).hexdigest()
        eid, n = f"e{digest}", 1
        while eid in used:  # a 64-bit collision: vanishingly rare, but ids must be unique
            n += 1
            eid = f"e{digest}-{n}"
        used.add(eid)
        ids.append(eid)
    return ids


def unique_ids(nodes: Iterable[Any], *, reserved: Iterable[str] = ()) -> dict[Any, str]:
    """Node (or column name) -> the id written to file: cleaned to one line, made unique again if
    cleaning merged two; a name in `reserved` becomes "attr_<name>"."""
    reserved = set(reserved)
    out, used = {}, set()
    for node in nodes:
        nid = one_line(node) or "node"
        if nid in reserved:
            nid = f"attr_{nid}"
        base, n = nid, 1
        while nid in used:
            n += 1
            nid = f"{base} ({n})"
        used.add(nid)
        out[node] = nid
    return out


def edge_weight(data: dict[Any, Any]) -> float:
    """An edge's weight in every export: its confidence (or a weight it already has), kept in
    0.05..1 so layouts still pull the two ends together."""
    value = data.get("weight", data.get("confidence"))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.5
    return round(min(max(float(value), 0.05), 1.0), 4)


def graph_meta(graph: nx.MultiDiGraph) -> dict[str, str | bool | int | float]:
    """The graph's own scalar attributes (case id, title, counts), cleaned."""
    return {str(k): v for k, v in sorted((str(k), scalar(v)) for k, v in graph.graph.items()) if v is not None}


def plain_graph(graph: nx.MultiDiGraph, *, reserved: Iterable[str] = ()) -> nx.MultiDiGraph:
    """A copy of the graph holding only what any file format can carry, in sorted order.

    Node ids cleaned (see unique_ids), edge keys replaced by stable edge ids (the old key is kept
    as `kind` when the edge has none), every value a clean scalar of its column's one type,
    missing values left out. Attributes named in `reserved` (names a format uses for itself,
    like "id" or "source"), and an edge attribute named "key", are renamed "attr_<name>".
    """
    reserved = set(reserved)
    edge_reserved = reserved | {"key"}  # add_edge's own argument: an attribute of that name is renamed

    def rename(attrs: dict[str, Any], names: set[str] = reserved) -> dict[str, Any]:
        return {(f"attr_{k}" if k in names else one_line(k)): v for k, v in attrs.items()}

    nodes = sorted_nodes(graph)
    ids = unique_ids(nodes)
    edges = flat_edges(graph)
    node_cols = column_types(graph.nodes[n] for n in nodes)
    edge_cols = column_types(e[3] for e in edges)
    out = nx.MultiDiGraph()
    out.graph.update(graph_meta(graph))
    for node in nodes:
        out.add_node(ids[node], **rename(row(graph.nodes[node], node_cols)))
    for eid, (u, v, key, data) in zip(edge_ids(edges), edges):
        attrs = row(data, edge_cols)
        if "kind" not in attrs and key is not None:
            attrs["kind"] = one_line(key)
        attrs["weight"] = edge_weight(data)
        out.add_edge(ids[u], ids[v], key=eid, **rename(attrs, edge_reserved))
    return out
