"""Which claims of the case file does the evidence back? Corroboration, contradiction, new leads.

The rules, written down so an investigator can check them:

- Evidence paths never use a claim edge, and are searched as if edges had no direction.
- A brand is known only through the identifiers the case ties to it (its websites, e-mail
  addresses and accounts: the website_of, uses_email and account_of claims). A claim about a brand
  is corroborated when evidence connects the claim's other end to the brand itself or to one of
  those identifiers, other than the claim's own. Host names under a listed website's domain, and
  e-mail addresses at it, count as that website. The last hop of such a path is the identifier's
  claim, shown as such.
- Places and plumbing are not links. Paths for corroboration do not use located_in, in_district,
  shares_district, announced_by, in_netblock, operated_by, registered_with, caa_issuer or
  abuse_contact (two servers at the same hosting company, in the same city, with the same
  registrar, say nothing about who runs them), and never pass through a region, a registrar, the
  incident, a private address or a node marked shared_infrastructure (a CDN or parking IP).
- corroborated: at least one path, and N >= 1 independent sources on the paths found (the case file
  and the credit-code decode do not count). N is the number of distinct sources over those paths.
- contradicted (kept conservative): a claim about an IP that evidence does not corroborate, where
  the IP's reverse DNS (ptr) at the time of the incident names a host that nothing connects to the
  brand. Generic provider names that spell out the address (1-2-3-4.static.example) do not count.
- uncorroborated: everything else.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import networkx as nx

from ..facts import split_node_id

MAX_HOPS = 6
PATHS_PER_CLAIM = 5
HOP_PENALTY = 0.05  # among equally confident paths, prefer the shorter
NOT_INDEPENDENT = frozenset({"case", "uscc"})
IDENTITY_RELATIONS = ("website_of", "uses_email", "account_of")
WEAK_RELATIONS = frozenset({"located_in", "in_district", "shares_district", "announced_by", "in_netblock",
                            "operated_by", "registered_with", "caa_issuer", "abuse_contact"})
HUB_KINDS = frozenset({"region", "registrar", "incident"})
LEAD_KINDS = ("ip", "domain", "email", "company", "org", "crypto_address", "icp_filing", "account")


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
    claim: bool = False  # the identifier claim that ends a path at a brand
    note: str | None = None


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

    def to_dict(self) -> dict[str, Any]:
        return {"confidence": self.confidence, "sources": sorted(self.sources),
                "hops": [{k: v for k, v in asdict(h).items() if v not in (None, (), False) or k == "forward"}
                         for h in self.hops]}


@dataclass
class ClaimResult:
    subject: str
    relation: str
    object: str
    status: str  # corroborated | uncorroborated | contradicted
    n_sources: int = 0
    sources: list[str] = field(default_factory=list)
    paths: list[EvidencePath] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    source: str | None = None  # where the case file says so
    standing: str | None = None
    text: str | None = None

    @property
    def best(self) -> EvidencePath | None:
        return self.paths[0] if self.paths else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "paths"}
        out["paths"] = [p.to_dict() for p in self.paths]
        return out


@dataclass
class Lead:
    node: str
    kind: str
    label: str
    distance: int
    near: str  # the case entity it hangs off
    path: EvidencePath

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "kind": self.kind, "label": self.label, "distance": self.distance,
                "near": self.near, "path": self.path.to_dict()}


# -- the evidence view --------------------------------------------------------------------------

def _adjacency(graph: nx.MultiDiGraph, *, weak: bool) -> dict[str, dict[str, tuple[Any, Any, Any, float]]]:
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
    """Nodes no path may pass through (see the module docstring)."""
    return {n for n, d in graph.nodes(data=True)
            if d.get("kind") in HUB_KINDS or d.get("shared_infrastructure") is True or d.get("private_address") is True}


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


def _hop(graph: nx.MultiDiGraph, adj: dict, a: str, b: str) -> Hop:
    u, v, key, c = adj[a][b]
    data = graph.edges[u, v, key]
    split = lambda s: tuple(x for x in str(s or "").split(",") if x)  # noqa: E731
    return Hop(frm=a, to=b, relation=str(data.get("kind", key)), forward=(u == a), sources=split(data.get("sources")),
               evidence=split(data.get("evidence")), first_seen=data.get("first_seen"),
               last_seen=data.get("last_seen"), observed_at=data.get("observed_at"), confidence=c)


def _path(graph: nx.MultiDiGraph, adj: dict, nodes: Iterable[str]) -> list[Hop]:
    nodes = list(nodes)
    return [_hop(graph, adj, a, b) for a, b in zip(nodes, nodes[1:])]


# -- brands and their identifiers ---------------------------------------------------------------

def identifiers(graph: nx.MultiDiGraph, brand: str) -> dict[str, tuple[str, str, Any]]:
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
    """Every node that stands for the brand: its identifiers, and host names and e-mail addresses
    under its listed websites -> the identifier each stands for."""
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


def _close(graph: nx.MultiDiGraph, hops: list[Hop], target: str, anchor: str | None, obj: str) -> EvidencePath:
    """Finish a path that reached an identifier: 'under' hop if needed, then the identifier's claim."""
    if anchor is None:
        return EvidencePath(tuple(hops))
    if target != anchor:
        hops.append(Hop(frm=target, to=anchor, relation="under", forward=True,
                        note=f"{target} is under {anchor}, which the case lists"))
    relation, u, key, v = identifiers(graph, obj)[anchor]
    data = graph.edges[u, v, key]
    hops.append(Hop(frm=anchor, to=obj, relation=relation, forward=(u == anchor), sources=("case",),
                    confidence=float(data.get("confidence", 0.3)), claim=True,
                    note=f"case file: {data.get('source', '')}".strip()))
    return EvidencePath(tuple(hops))


# -- claims -------------------------------------------------------------------------------------

_GENERIC_PTR = re.compile(r"(static|dynamic|dhcp|pool|dsl|broadband|cust|client|host|ip)[-.]?\d"
                          r"|\d[-.]?(static|dynamic|dhcp|pool)")


def _generic_ptr(ip: str, name: str) -> bool:
    """A provider's reverse name that only spells out the address (79.108.36.101.static.example,
    ip-101-36-108-79.example) or numbers a pool (dhcp-1234.isp.example): it names the provider."""
    octets = split_node_id(ip)[1].split(".")
    flat = name.replace("-", ".").replace("_", ".")
    if len(octets) == 4 and (".".join(octets) in flat or ".".join(reversed(octets)) in flat):
        return True
    return bool(_GENERIC_PTR.search(name.split(".")[0]))


def _contradiction(graph: nx.MultiDiGraph, blocked: set[str], claim: tuple[str, str]) -> str | None:
    subject, obj = claim
    if graph.nodes[subject].get("kind") != "ip":
        return None
    for _, other, data in sorted(graph.out_edges(subject, data=True), key=lambda e: str(e[1])):
        if data.get("claim") or data.get("kind") != "ptr" or data.get("at_incident") is not True:
            continue
        name = split_node_id(other)[1]
        if other in blocked or _generic_ptr(subject, name):
            continue
        return (f"at the time of the incident {split_node_id(subject)[1]} pointed to {name} "
                f"(ptr, {data.get('sources', '')} {data.get('evidence', '')}, {data.get('first_seen')} .. "
                f"{data.get('last_seen')}), which no evidence connects to {graph.nodes[obj].get('label', obj)}")
    return None


def _notes(graph: nx.MultiDiGraph, subject: str) -> list[str]:
    data = graph.nodes[subject]
    notes = []
    incident = graph.graph.get("incident_time")
    gone = data.get("deregistered")
    if incident and isinstance(gone, str) and gone < incident[:10]:
        notes.append(f"{data.get('label', subject)} was deregistered on {gone}, before the incident")
    if data.get("shared_infrastructure") is True:
        notes.append(f"{data.get('label', subject)} is shared infrastructure (many unrelated names use it)")
    return notes


def attribute(graph: nx.MultiDiGraph, case: Any = None, *, max_hops: int = MAX_HOPS,
              k: int = PATHS_PER_CLAIM) -> list[ClaimResult]:
    """Check every claim edge of the graph against the evidence (rules: see the module docstring).

    `case` is accepted for symmetry with build_graph; the graph carries what is needed."""
    adj = _adjacency(graph, weak=False)
    blocked = hubs(graph)
    brand_cache: dict[str, dict[str, str]] = {}
    results = []
    claims = sorted((u, v, key, d) for u, v, key, d in graph.edges(keys=True, data=True) if d.get("claim"))
    for subject, obj, _, data in claims:
        # Search from the claim's non-brand end towards the brand (uses_email points brand -> email).
        start, end = (obj, subject) if graph.nodes[subject].get("kind") == "brand" else (subject, obj)
        targets: dict[str, str | None] = {end: None}
        if graph.nodes[end].get("kind") == "brand":
            if end not in brand_cache:
                brand_cache[end] = brand_targets(graph, end)
            targets.update(brand_cache[end])
        own = {start} | {n for n, a in targets.items() if a == start}
        targets = {n: a for n, a in targets.items() if n not in own}
        paths = []
        for nodes in _search(adj, start, set(targets), blocked, k=k, max_hops=max_hops):
            paths.append(_close(graph, _path(graph, adj, nodes), nodes[-1], targets[nodes[-1]], end))
        paths.sort(key=lambda p: (-p.confidence, len(p.hops)))
        sources = sorted(set().union(*(p.sources for p in paths))) if paths else []
        result = ClaimResult(subject=subject, relation=str(data.get("kind")), object=obj, status="uncorroborated",
                             n_sources=len(sources), sources=sources, paths=paths, notes=_notes(graph, start),
                             source=data.get("source"), standing=data.get("standing"), text=data.get("text"))
        if paths and sources:
            result.status = "corroborated"
            result.reason = f"{len(paths)} evidence path(s) from {len(sources)} source(s): {', '.join(sources)}"
        elif (why := _contradiction(graph, blocked, (start, end))):
            result.status, result.reason = "contradicted", why
        elif paths:
            result.reason = "only the case file itself connects them"
        else:
            result.reason = f"no evidence path within {max_hops} hops"
        results.append(result)
    return results


def explain(graph: nx.MultiDiGraph, a: str, b: str, k: int = 3, *, max_hops: int = MAX_HOPS,
            weak: bool = True) -> list[EvidencePath]:
    """The k most confident evidence paths between two nodes (no claim edges, no hubs in between).

    Unlike attribute(), weak links (same network, same registrar, same place) are shown unless
    weak=False: an investigator asking how two things relate wants to see them."""
    if a not in graph or b not in graph:
        return []
    adj = _adjacency(graph, weak=weak)
    found = _search(adj, a, {b}, hubs(graph) - {a, b}, k=k, max_hops=max_hops)
    return [EvidencePath(tuple(_path(graph, adj, nodes))) for nodes in found]


def new_leads(graph: nx.MultiDiGraph, max_distance: int = 2) -> list[Lead]:
    """Nodes the case file does not list (ip, domain, email, company, org, crypto address, ICP filing,
    account) within max_distance evidence hops of a case entity, nearest first, with the path.

    A weak link (the network operator, the registrar's country…) may end a lead's path but is never
    walked through: the hosting company is a lead, its other customers are not."""
    adj = _adjacency(graph, weak=True)
    blocked = hubs(graph)
    starts = sorted(n for n, d in graph.nodes(data=True) if d.get("in_case") is True and n not in blocked)
    parent: dict[str, str | None] = {n: None for n in starts}
    depth = {n: 0 for n in starts}
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        if depth[node] >= max_distance or (parent[node] is not None and _weak(graph, adj, parent[node], node)):
            continue
        for nb in adj.get(node, {}):
            if nb not in parent and nb not in blocked:
                parent[nb], depth[nb] = node, depth[node] + 1
                queue.append(nb)
    leads = []
    for node, dist in depth.items():
        data = graph.nodes[node]
        if dist == 0 or data.get("in_case") or data.get("kind") not in LEAD_KINDS:
            continue
        chain = [node]
        while parent[chain[-1]] is not None:
            chain.append(parent[chain[-1]])
        chain.reverse()
        leads.append(Lead(node=node, kind=str(data.get("kind")), label=str(data.get("label", node)),
                          distance=dist, near=chain[0], path=EvidencePath(tuple(_path(graph, adj, chain)))))
    leads.sort(key=lambda lead: (lead.distance, -lead.path.confidence, lead.node))
    return leads


def _weak(graph: nx.MultiDiGraph, adj: dict, a: str, b: str) -> bool:
    u, v, key, _ = adj[a][b]
    return graph.edges[u, v, key].get("kind") in WEAK_RELATIONS


# -- output for the CLI ---------------------------------------------------------------------------

def to_json(results: list[ClaimResult], leads: list[Lead] | None = None) -> str:
    """Results (and leads) as indented JSON, keys sorted."""
    doc: dict[str, Any] = {"claims": [r.to_dict() for r in results]}
    if leads is not None:
        doc["leads"] = [lead.to_dict() for lead in leads]
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _hop_text(h: Hop) -> str:
    arrow = f"-{h.relation}->" if h.forward else f"<-{h.relation}-"
    if h.claim or not h.sources:
        where = f" [{h.note}]" if h.note else ""
    else:
        span = f", {h.first_seen or '?'} .. {h.last_seen or '?'}" if (h.first_seen or h.last_seen) else ""
        where = f" [{', '.join(h.sources)}: {', '.join(h.evidence)}{span}]"
    return f"{arrow} {h.to}{where}"


def path_text(path: EvidencePath) -> str:
    if not path.hops:
        return ""
    return f"{path.hops[0].frm} " + " ".join(_hop_text(h) for h in path.hops)


def to_markdown(results: list[ClaimResult], leads: list[Lead] | None = None) -> str:
    """Plain-text report: one section per claim (status, why, best path), then the leads."""
    counts = Counter(r.status for r in results)
    lines = ["# Claims", "",
             ", ".join(f"{counts[s]} {s}" for s in ("corroborated", "contradicted", "uncorroborated")), ""]
    for r in results:
        lines.append(f"## {r.subject} {r.relation} {r.object}: {r.status.upper()}")
        if r.text:
            lines.append(f"- claim: {r.text} ({r.source})")
        lines.append(f"- {r.reason}")
        if r.best is not None:
            lines.append(f"- best path (confidence {r.best.confidence}): {path_text(r.best)}")
        lines += [f"- note: {n}" for n in r.notes]
        lines.append("")
    if leads is not None:
        lines += ["# New leads", ""]
        if not leads:
            lines.append("(none)")
        for lead in leads:
            lines.append(f"- {lead.node} ({lead.kind}, {lead.distance} hop(s) from {lead.near}): "
                         f"{path_text(lead.path)}")
        lines.append("")
    return "\n".join(lines)
