"""Where each node sits in a picture of the graph: one deterministic layout for the PNG and the report.

Each connected component is laid out by networkx (Kamada-Kawai for small ones, which reads best;
Fruchterman-Reingold with a fixed seed for large ones), scaled to its size, and the components are
set side by side in rows, largest first, lone nodes last. The same graph always gives the same
picture, so the report's interactive view matches the PNG an investigator pasted into a document.
"""

from __future__ import annotations

import math

import networkx as nx

SEED = 20230321  # the incident's date: any fixed number would do
KAMADA_KAWAI_MAX = 300  # Kamada-Kawai is O(n^2) in memory and slow beyond a few hundred nodes


def _component(simple: nx.Graph, nodes: list[str], seed: int) -> dict[str, tuple[float, float]]:
    """One component laid out around (0, 0), its radius about sqrt(size)."""
    if len(nodes) == 1:
        return {nodes[0]: (0.0, 0.0)}
    sub = simple.subgraph(nodes)
    if len(nodes) <= KAMADA_KAWAI_MAX:
        pos = nx.kamada_kawai_layout(sub, pos=nx.circular_layout(sorted(nodes)))
    else:
        pos = nx.spring_layout(sub, k=1.6 / math.sqrt(len(nodes)), iterations=60 if len(nodes) <= 5000 else 25,
                               seed=seed)
    radius = math.sqrt(len(nodes))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    extent = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 or 1.0
    return {str(n): ((x - cx) / extent * radius, (y - cy) / extent * radius) for n, (x, y) in pos.items()}


def positions(graph: nx.MultiDiGraph, *, seed: int = SEED) -> dict[str, tuple[float, float]]:
    """node -> (x, y), both within -1..1."""
    if graph.number_of_nodes() == 0:
        return {}
    simple = nx.Graph()
    simple.add_nodes_from(sorted((str(n) for n in graph.nodes)))
    simple.add_edges_from(sorted((str(u), str(v)) for u, v in graph.edges() if u != v))
    components = sorted((sorted(c) for c in nx.connected_components(simple)), key=lambda c: (-len(c), c[0]))
    # Shelf packing: each component in a square cell of side 2*radius + gap, rows as wide as the biggest
    # component or the square root of the total area, whichever is wider.
    cells = [(c, 2 * math.sqrt(len(c)) + 1.0) for c in components]
    width = max(max(side for _, side in cells), math.sqrt(sum(side * side for _, side in cells)))
    out: dict[str, tuple[float, float]] = {}
    x = y = row_height = 0.0
    for nodes, side in cells:
        if x > 0 and x + side > width:
            x, y, row_height = 0.0, y - row_height, 0.0
        laid = _component(simple, nodes, seed)
        for node, (px, py) in laid.items():
            out[node] = (x + side / 2 + px, y - side / 2 + py)
        x += side
        row_height = max(row_height, side)
    xs = [p[0] for p in out.values()]
    ys = [p[1] for p in out.values()]
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    extent = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 or 1.0
    return {n: (round((px - cx) / extent, 5), round((py - cy) / extent, 5)) for n, (px, py) in out.items()}
