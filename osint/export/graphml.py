"""GraphML for yEd and Cytoscape: networkx's writer, fed only clean, typed, present values."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx

from ..common.files import atomic_write
from ..graph import style
from .common import plain_graph


def export_graphml(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> list[Path]:
    """Write the graph as GraphML to `path`, atomically. Returns the file written.

    Nodes carry `color` (hex, by kind) and `size` (by degree) for tools that map them; edges
    carry their stable id as the GraphML edge id.
    """
    plain = plain_graph(graph)
    for node, data in plain.nodes(data=True):
        data.setdefault("color", style.colour(str(data.get("kind", ""))))
        data.setdefault("size", style.node_size(plain.degree(node)))
    with atomic_write(path) as fh:
        nx.write_graphml(plain, fh, encoding="utf-8", prettyprint=True)
    return [Path(path)]
