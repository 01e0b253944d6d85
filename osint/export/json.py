"""Node-link JSON for D3 and sigma.js: {"nodes": [...], "links": [...]}, one element per line.

networkx.node_link_graph(data, edges="links") reads it back. Nodes carry `color` (by kind) and
`size` (by degree) so a web viewer can draw them as Gephi would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

import networkx as nx

from ..common.files import atomic_write
from ..graph import style
from .common import plain_graph

# Keys the node-link format uses for itself; attributes with these names become attr_<name>.
RESERVED = ("id", "source", "target", "key")


def export_json(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> list[Path]:
    """Write the graph as node-link JSON to `path`, atomically. Returns the file written."""
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
        write_json(graph, fh)
    return [Path(path)]


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)


def write_json(graph: nx.MultiDiGraph, fh: IO[str]) -> None:
    plain = plain_graph(graph, reserved=RESERVED)
    fh.write('{"directed": true, "multigraph": true,\n "graph": ')
    fh.write(_dump(plain.graph))
    fh.write(',\n "nodes": [')
    for i, (node, data) in enumerate(plain.nodes(data=True)):
        item = dict(data)
        item.setdefault("color", style.colour(str(data.get("kind", ""))))
        item.setdefault("size", style.node_size(plain.degree(node)))
        item["id"] = node
        fh.write(("\n  " if i == 0 else ",\n  ") + _dump(item))
    fh.write('\n ],\n "links": [')
    for i, (u, v, key, data) in enumerate(plain.edges(keys=True, data=True)):
        item = dict(data, id=key, key=key, source=u, target=v)
        fh.write(("\n  " if i == 0 else ",\n  ") + _dump(item))
    fh.write("\n ]\n}\n")
