"""Evidence paths between two nodes of the graph: the one path finder that attribute, explain and the
report use, so they never disagree.

The rules it follows (claim edges never used, edges walked both ways, weak relations and hubs not
walked through, independent sources counted in lines of evidence) are written down in the docstring
of osint.graph.attribute, next to the tiers of support they decide.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any, Iterable

import networkx as nx

from ..facts import split_node_id
from ..vocabulary import HUB_KINDS, IDENTITY_RELATIONS, WEAK_RELATIONS
from .messages import ClaimRef, Message
from .provenance import as_tuple

MAX_HOPS = 6
PATHS_PER_CLAIM = 5
HOP_PENALTY = 0.05  # among equally confident paths, prefer the shorter
NOT_INDEPENDENT = frozenset({"case", "uscc", "cn-registry"})


@dataclass(frozen=True)
class Hop:
    """One step of an evidence path: `frm` to `to` over one edge (forward: the edge points that way)."""

    frm: str
    to: str
    relation: str
    forward: bool
    sources: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    first_seen: str | None = None
    last_seen: str | None = None
    observed_at: str | None = None
    confidence: float = 1.0
    claim: bool = False  # a claim of the case file bridging to the brand: never evidence
    note: str | None = None
    note_msg: Message | None = None

    def note_text(self, lang: str = "en") -> str | None:
        return self.note_msg.render(lang) if self.note_msg is not None else self.note


@dataclass(frozen=True)
class EvidencePath:
    hops: tuple[Hop, ...]

    @property
    def nodes(self) -> list[str]:
        return [self.hops[0].frm, *(h.to for h in self.hops)] if self.hops else []

    @property
    def confidence(self) -> float:
        return round(math.prod(h.confidence for h in self.hops if not h.claim), 4)

    @property
    def sources(self) -> set[str]:
        return {s for h in self.hops if not h.claim for s in h.sources} - NOT_INDEPENDENT

    @property
    def claims(self) -> list[Hop]:
        return [h for h in self.hops if h.claim]

    def witnesses(self) -> set[tuple[str, ...]]:
        """What the path rests on: each observation, and each source's word on each pair of nodes."""
        out: set[tuple[str, ...]] = set()
        for h in self.hops:
            if h.claim:
                continue
            out.update(("obs", e) for e in h.evidence)
            pair = tuple(sorted((h.frm, h.to)))
            out.update(("said", s, *pair) for s in h.sources if s not in NOT_INDEPENDENT)
        return out

    def to_dict(self) -> dict[str, Any]:
        hops = []
        for h in self.hops:
            d = {k: v for k, v in asdict(h).items() if k != "note_msg" and (v not in (None, (), False) or k == "forward")}
            if h.note_msg is not None:
                d["note"] = h.note_msg.render("en")
                d["note_msg"] = h.note_msg.to_dict()
            hops.append(d)
        return {"confidence": self.confidence, "sources": sorted(self.sources), "hops": hops}


# -- the evidence view --------------------------------------------------------------------------

def adjacency(graph: nx.MultiDiGraph, *, weak: bool) -> dict[str, dict[str, tuple[Any, Any, Any, float]]]:
    """node -> neighbour -> the most confident non-claim edge (u, v, key, confidence) between them."""
    adj: dict[str, dict[str, tuple[Any, Any, Any, float]]] = {}
    for u, v, key, data in sorted(graph.edges(keys=True, data=True), key=lambda e: (str(e[0]), str(e[1]), str(e[2]))):
        if data.get("claim") or u == v or (not weak and data.get("kind") in WEAK_RELATIONS):
            continue
        c = data.get("confidence", 0.5)
        if not isinstance(c, (int, float)) or not 0 < c <= 1:
            continue
        for a, b in ((u, v), (v, u)):
            best = adj.setdefault(a, {}).get(b)
            if best is None or c > best[3]:
                adj[a][b] = (u, v, key, float(c))
    return {a: dict(sorted(nbs.items())) for a, nbs in adj.items()}  # neighbours in a stable order


def hubs(graph: nx.MultiDiGraph) -> set[str]:
    """Nodes no path may pass through (see the docstring of osint.graph.attribute)."""
    return {n for n, d in graph.nodes(data=True)
            if d.get("kind") in HUB_KINDS or d.get("shared_infrastructure") is True
            or d.get("private_address") is True or d.get("privacy_service") is True}


def _search(adj: dict, start: str, targets: set[str], blocked: set[str], *, k: int,
            max_hops: int) -> list[tuple[str, ...]]:
    """Up to k simple paths from start to any target, most confident first (best-first search,
    each node expanded at most k times). Paths stop at the first target they reach."""
    heap: list[tuple[float, int, tuple[str, ...]]] = [(0.0, 0, (start,))]
    expanded: Counter[str] = Counter()
    found: list[tuple[str, ...]] = []
    while heap and len(found) < k:
        cost, hops, path = heapq.heappop(heap)
        node = path[-1]
        if hops and node in targets:
            found.append(path)
            continue
        expanded[node] += 1
        if expanded[node] > k or hops >= max_hops:
            continue
        for nb, (_, _, _, c) in adj.get(node, {}).items():
            if nb in path or (nb in blocked and nb not in targets):
                continue
            heapq.heappush(heap, (cost - math.log(c) + HOP_PENALTY, hops + 1, path + (nb,)))
    return found


def _reachable(adj: dict, start: str, targets: set[str], blocked: set[str], max_hops: int) -> set[str]:
    """Every target some path of at most max_hops reaches (paths stop at targets and hubs)."""
    depth = {start: 0}
    queue = deque([start])
    hit: set[str] = set()
    while queue:
        node = queue.popleft()
        if depth[node] >= max_hops:
            continue
        for nb in adj.get(node, {}):
            if nb in depth:
                continue
            depth[nb] = depth[node] + 1
            if nb in targets:
                hit.add(nb)
            elif nb not in blocked:
                queue.append(nb)
    return hit


def split_ids(value: Any) -> tuple[str, ...]:
    """An edge's evidence or sources (a tuple in the graph) as a tuple; none: ()."""
    return as_tuple(value)


def _hop(graph: nx.MultiDiGraph, adj: dict, a: str, b: str) -> Hop:
    u, v, key, c = adj[a][b]
    data = graph.edges[u, v, key]
    return Hop(frm=a, to=b, relation=str(data.get("kind", key)), forward=(u == a), sources=split_ids(data.get("sources")),
               evidence=split_ids(data.get("evidence")), first_seen=data.get("first_seen"),
               last_seen=data.get("last_seen"), observed_at=data.get("observed_at"), confidence=c)


def path_hops(graph: nx.MultiDiGraph, adj: dict, nodes: Iterable[str]) -> list[Hop]:
    nodes = list(nodes)
    return [_hop(graph, adj, a, b) for a, b in zip(nodes, nodes[1:])]


# -- brands and their identifiers ---------------------------------------------------------------

def identifiers(graph: nx.MultiDiGraph, brand: str) -> dict[str, tuple[str, str, Any, str]]:
    """identifier node -> (relation, u, key, v) of the identity claim edge that ties it to the brand."""
    out = {}
    edges = [*graph.in_edges(brand, keys=True, data=True), *graph.out_edges(brand, keys=True, data=True)]
    for u, v, key, data in edges:
        if data.get("claim") and data.get("kind") in IDENTITY_RELATIONS:
            out[u if v == brand else v] = (str(data["kind"]), u, key, v)
    return out


def _domain_of(node: str) -> str | None:
    kind, value = split_node_id(node)
    if kind in ("domain", "nameserver"):
        return value
    if kind == "email":
        return value.rpartition("@")[2].lower()
    return None


def _under(node: str, anchors: dict[str, str]) -> str | None:
    """The listed website a host name or e-mail address falls under, if any."""
    name = _domain_of(node)
    if not name:
        return None
    for base, anchor in anchors.items():
        if name == base or name.endswith("." + base):
            return anchor
    return None


def brand_targets(graph: nx.MultiDiGraph, brand: str) -> dict[str, str]:
    """Every node that stands for the brand in the complaint: its identifiers, and host names and
    e-mail addresses under its listed websites -> the identifier each stands for."""
    ids = identifiers(graph, brand)
    out = {n: n for n in ids}
    domains: dict[str, str] = {}  # registered name (no www.) -> the shortest listed website under it
    for n in sorted((n for n in ids if split_node_id(n)[0] == "domain"), key=lambda n: (len(n), n)):
        domains.setdefault(split_node_id(n)[1].removeprefix("www."), n)
    if domains:
        for node in sorted(graph.nodes):
            if node not in out and (anchor := _under(node, domains)):
                out[node] = anchor
    return out


def node_label(graph: nx.MultiDiGraph, node: str) -> str:
    return str(graph.nodes[node].get("label") or node) if node in graph else node


def claim_ref(graph: nx.MultiDiGraph, u: str, v: str, key: Any) -> ClaimRef:
    data = graph.edges[u, v, key]
    return ClaimRef(subject=u, relation=str(data.get("kind")), object=v, subject_label=node_label(graph, u),
                    object_label=node_label(graph, v), where=str(data.get("source") or ""))


def _bridge(graph: nx.MultiDiGraph, hops: list[Hop], reached: str, anchor: str, brand: str) -> EvidencePath:
    """Finish a path that reached an identifier: an 'under' hop if needed, then the identifier's claim."""
    if reached != anchor:
        hops.append(Hop(frm=reached, to=anchor, relation="under", forward=True,
                        note_msg=Message("hop_under", {"host": node_label(graph, reached), "site": node_label(graph, anchor)})))
    relation, u, key, v = identifiers(graph, brand)[anchor]
    data = graph.edges[u, v, key]
    hops.append(Hop(frm=anchor, to=brand, relation=relation, forward=(u == anchor), sources=("case",),
                    confidence=float(data.get("confidence", 0.3)), claim=True,
                    note_msg=Message("hop_case", {"where": str(data.get("source") or "")})))
    return EvidencePath(tuple(hops))


# -- the one path finder: attribute, explain and the report use it --------------------------------

@dataclass
class Finding:
    """What the evidence says about one pair (start, end): paths straight to `end`, and paths that
    rest on other claims (each closed by the claim it rests on)."""

    evidence: list[EvidencePath]
    via_claims: list[EvidencePath]
    rests_on: list[ClaimRef]


class PathFinder:
    """Paths between a node and a brand, company or any other node, by the rules in the docstring of
    osint.graph.attribute."""

    def __init__(self, graph: nx.MultiDiGraph, *, weak: bool = False, max_hops: int = MAX_HOPS,
                 k: int = PATHS_PER_CLAIM):
        self.graph, self.weak, self.max_hops, self.k = graph, weak, max_hops, k
        self.adj = adjacency(graph, weak=weak)
        self.blocked = hubs(graph)
        self._targets: dict[str, dict[str, str]] = {}

    def _sorted(self, paths: list[EvidencePath]) -> list[EvidencePath]:
        return sorted(paths, key=lambda p: (-p.confidence, len(p.hops), [h.to for h in p.hops]))

    def find(self, start: str, end: str, *, via_claims: bool = True) -> Finding:
        g = self.graph
        if start not in g or end not in g:
            return Finding([], [], [])
        blocked = self.blocked - {start, end}
        evidence = [EvidencePath(tuple(path_hops(g, self.adj, nodes)))
                    for nodes in _search(self.adj, start, {end}, blocked, k=self.k, max_hops=self.max_hops)]
        via: list[EvidencePath] = []
        rests: dict[tuple[str, str, str], ClaimRef] = {}
        if via_claims and g.nodes[end].get("kind") == "brand":
            if end not in self._targets:
                self._targets[end] = brand_targets(g, end)
            targets = self._targets[end]
            own = {start} | {n for n, a in targets.items() if a == start}
            targets = {n: a for n, a in targets.items() if n not in own}
            for nodes in _search(self.adj, start, set(targets), blocked | {end}, k=self.k, max_hops=self.max_hops):
                path = _bridge(g, path_hops(g, self.adj, nodes), nodes[-1], targets[nodes[-1]], end)
                if path.sources:
                    via.append(path)
            # Every claim some evidence path leads to, not only the k best: a claim that rests on a
            # corroborated claim as well as on an unproven one is supported.
            # (the breadth-first walk reaches every identifier the k paths above end at, and more)
            claims = identifiers(g, end)
            for reached in sorted(_reachable(self.adj, start, set(targets), blocked | {end}, self.max_hops)):
                _, u, key, v = claims[targets[reached]]
                ref = claim_ref(g, u, v, key)
                rests.setdefault((ref.subject, ref.relation, ref.object), ref)
        return Finding(self._sorted(evidence), self._sorted(via), [rests[k] for k in sorted(rests)])


def lines_of_evidence(paths: Iterable[EvidencePath]) -> int:
    """Paths that share no observation and no source's word on the same pair, most confident first."""
    used: set[tuple[str, ...]] = set()
    n = 0
    for p in paths:
        w = p.witnesses()
        if p.sources and not (w & used):
            n += 1
            used |= w
    return n
