"""Where each node sits in a picture of the graph: one deterministic layout for the PNG and the report.

The layout itself is networkx's, chosen by size: Kamada-Kawai for components of up to 300 nodes
(it reads best), Fruchterman-Reingold with a fixed seed up to 1,000, and the spectral layout
beyond (seconds for 50,000 nodes, where force-directed layouts take minutes; a graph that big is
for zooming, not for reading at a glance).

Two things keep pictures readable and fast. Leaves (nodes with one neighbour, like the hundreds of
names on a shared host) are laid out as a ring around their neighbour instead of being pulled by
the force layout; and connected components are set side by side in rows, largest first, lone nodes
last. The same graph always gives the same picture, so the report's interactive view matches the
PNG an investigator pasted into a document.
"""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx

SEED = 20230321  # the incident's date: any fixed number would do
KAMADA_KAWAI_MAX = 300  # Kamada-Kawai is O(n^2) in memory and slow beyond a few hundred nodes
FORCE_MAX = 1000  # networkx's Fruchterman-Reingold: about 4 s at 1,000 nodes, 20 s at 2,000


def _core_layout(sub: nx.Graph, seed: int) -> dict[str, tuple[float, float]]:
    n = sub.number_of_nodes()
    if n == 1:
        return {next(iter(sub.nodes)): (0.0, 0.0)}
    if n == 2:
        a, b = sorted(sub.nodes)
        return {a: (-1.0, 0.0), b: (1.0, 0.0)}
    if n <= KAMADA_KAWAI_MAX:
        pos = nx.kamada_kawai_layout(sub, pos=nx.circular_layout(sorted(sub.nodes)))
    elif n <= FORCE_MAX:
        pos = nx.spring_layout(sub, k=1.6 / math.sqrt(n), iterations=50, seed=seed)
    else:
        pos = nx.spectral_layout(sub)
    return {str(k): (float(x), float(y)) for k, (x, y) in pos.items()}


def _normalise(pos: dict[str, tuple[float, float]], radius: float) -> dict[str, tuple[float, float]]:
    """Centre on (0, 0) and scale so the farthest extent is `radius`."""
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    extent = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 or 1.0
    return {n: ((x - cx) / extent * radius, (y - cy) / extent * radius) for n, (x, y) in pos.items()}


def _rings(leaves: list[str]) -> list[list[str]]:
    """Leaves split into rings around their neighbour, evenly spaced: 6 on the first, 12 on the second..."""
    rings, start, size = [], 0, 6
    while start < len(leaves):
        rings.append(leaves[start:start + size])
        start, size = start + size, size + 6
    return rings


def _component(simple: nx.Graph, nodes: list[str], seed: int) -> dict[str, tuple[float, float]]:
    """One component around (0, 0), its radius about sqrt(size): the core by networkx, leaves in rings."""
    if len(nodes) <= 2:
        return _normalise(_core_layout(simple.subgraph(nodes), seed), math.sqrt(len(nodes)))
    leaves: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        if simple.degree(node) == 1:
            parent = next(iter(simple[node]))
            if simple.degree(parent) > 1:
                leaves[parent].append(node)
    folded = {leaf for group in leaves.values() for leaf in group}
    core = [n for n in nodes if n not in folded]
    spacing = 1.0 / math.sqrt(len(core))  # about the distance between neighbouring core nodes, core radius 1
    pos = _normalise(_core_layout(simple.subgraph(core), seed), 1.0)
    for parent, group in leaves.items():
        px, py = pos[parent]
        rings = _rings(sorted(group))
        step = min(0.3 * spacing, 0.3 / len(rings))  # a big fan stays within a third of the core's radius
        for ring, members in enumerate(rings, 1):
            r = step * ring
            for slot, leaf in enumerate(members):
                angle = 2 * math.pi * slot / len(members) + 0.3 * ring
                pos[leaf] = (px + r * math.cos(angle), py + r * math.sin(angle))
    return _normalise(pos, math.sqrt(len(nodes)))


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
        for node, (px, py) in _component(simple, nodes, seed).items():
            out[node] = (x + side / 2 + px, y - side / 2 + py)
        x += side
        row_height = max(row_height, side)
    return {n: (round(px, 5), round(py, 5)) for n, (px, py) in _normalise(out, 1.0).items()}
