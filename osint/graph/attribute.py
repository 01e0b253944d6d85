"""Which claims of the case file does the evidence back? Tiers of support, contradiction, new leads.

A claim of the complaint is a question; only evidence answers it. The rules, written down so an
investigator can check them:

- Evidence paths never use a claim edge, and are searched as if edges had no direction.
- corroborated: an evidence-only path connects the claim's two ends. A brand (or a company) is
  reached only through evidence that itself names it: a page, certificate, WHOIS registrant or
  banner that writes its name (`names`, derived when the graph is built), a registrant name that
  matches a company's (`similar_name`). Its claimed identifiers (websites, e-mail addresses,
  accounts) do not stand for it here.
- supported_via_claim: no evidence reaches the brand itself, but evidence ties the claim's subject
  to an identifier that another claim attributes to the brand ("listed on a page of
  www.example.com, which the complaint says is LabBot's"). The claims it rests on are named, so the
  reader sees the dependency. Host names under a listed website's domain, and e-mail addresses at
  it, count as that website.
- linked_to_each_other: an identifier claim whose only support is another identifier claim that
  has no evidence of its own either (through any chain of claims): two claims of one victim never
  hold each other up.
- Places and plumbing are not links. Paths do not use located_in, in_district, shares_district,
  announced_by, in_netblock, operated_by, registered_with, caa_issuer, abuse_contact or has_title (two servers
  at the same hosting company, in the same city, with the same registrar, say nothing about who
  runs them), and never pass through a region, a registrar, the incident, a private address, a
  node marked shared_infrastructure (a CDN or parking IP) or privacy_service (a WHOIS proxy).
- Sources: the case file, the credit-code decode and cn-registry (which restates the case file and
  compares names) are never independent. A path needs one independent source to count. Lines of
  evidence are counted honestly: two paths that share an observation, or a source's word on the
  same pair of things, are one line.
- contradicted (kept conservative): a claim about an IP with no support at all, where the IP's
  reverse DNS (ptr) at the time of the incident names a host that nothing connects to the brand.
  Generic provider names that spell out the address (1-2-3-4.static.example) do not count.
- uncorroborated: everything else.

`attribute`, `explain` and the report share `claim_paths`, so they never disagree.
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
from ..sources.gaps import explain_gaps
from ..vocabulary import HUB_KINDS, IDENTITY_RELATIONS, LEAD_KINDS, WEAK_RELATIONS
from .messages import ClaimRef, Message

MAX_HOPS = 6
PATHS_PER_CLAIM = 5
HOP_PENALTY = 0.05  # among equally confident paths, prefer the shorter
NOT_INDEPENDENT = frozenset({"case", "uscc", "cn-registry"})
STATUSES = ("corroborated", "supported_via_claim", "linked_to_each_other", "contradicted", "uncorroborated")


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


@dataclass
class ClaimResult:
    subject: str
    relation: str
    object: str
    status: str  # one of STATUSES
    n_sources: int = 0
    sources: list[str] = field(default_factory=list)
    paths: list[EvidencePath] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    source: str | None = None  # where the case file says so
    standing: str | None = None
    text: str | None = None
    lines: int = 0  # independent lines of evidence
    rests_on: list[ClaimRef] = field(default_factory=list)  # other claims the support depends on
    reason_msg: Message | None = None
    note_msgs: list[Message] = field(default_factory=list)

    @property
    def best(self) -> EvidencePath | None:
        return self.paths[0] if self.paths else None

    def reason_text(self, lang: str = "en") -> str:
        return self.reason_msg.render(lang) if self.reason_msg is not None else self.reason

    def notes_text(self, lang: str = "en") -> list[str]:
        return [m.render(lang) for m in self.note_msgs] if self.note_msgs else list(self.notes)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("paths", "rests_on", "reason_msg", "note_msgs")}
        out["paths"] = [p.to_dict() for p in self.paths]
        out["rests_on"] = [r.to_dict() for r in self.rests_on]
        out["reason_msg"] = self.reason_msg.to_dict() if self.reason_msg else None
        out["note_msgs"] = [m.to_dict() for m in self.note_msgs]
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
    """'ev1,ev2' (as the graph keeps provenance) -> ('ev1', 'ev2')."""
    return tuple(x for x in str(value or "").split(",") if x)


def _hop(graph: nx.MultiDiGraph, adj: dict, a: str, b: str) -> Hop:
    u, v, key, c = adj[a][b]
    data = graph.edges[u, v, key]
    return Hop(frm=a, to=b, relation=str(data.get("kind", key)), forward=(u == a), sources=split_ids(data.get("sources")),
               evidence=split_ids(data.get("evidence")), first_seen=data.get("first_seen"),
               last_seen=data.get("last_seen"), observed_at=data.get("observed_at"), confidence=c)


def _path(graph: nx.MultiDiGraph, adj: dict, nodes: Iterable[str]) -> list[Hop]:
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


def _label(graph: nx.MultiDiGraph, node: str) -> str:
    return str(graph.nodes[node].get("label") or node) if node in graph else node


def claim_ref(graph: nx.MultiDiGraph, u: str, v: str, key: Any) -> ClaimRef:
    data = graph.edges[u, v, key]
    return ClaimRef(subject=u, relation=str(data.get("kind")), object=v, subject_label=_label(graph, u),
                    object_label=_label(graph, v), where=str(data.get("source") or ""))


def _bridge(graph: nx.MultiDiGraph, hops: list[Hop], reached: str, anchor: str, brand: str) -> EvidencePath:
    """Finish a path that reached an identifier: an 'under' hop if needed, then the identifier's claim."""
    if reached != anchor:
        hops.append(Hop(frm=reached, to=anchor, relation="under", forward=True,
                        note_msg=Message("hop_under", {"host": _label(graph, reached), "site": _label(graph, anchor)})))
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
    """Paths between a node and a brand, company or any other node, by the rules of the module docstring."""

    def __init__(self, graph: nx.MultiDiGraph, *, weak: bool = False, max_hops: int = MAX_HOPS,
                 k: int = PATHS_PER_CLAIM):
        self.graph, self.weak, self.max_hops, self.k = graph, weak, max_hops, k
        self.adj = _adjacency(graph, weak=weak)
        self.blocked = hubs(graph)
        self._targets: dict[str, dict[str, str]] = {}

    def _sorted(self, paths: list[EvidencePath]) -> list[EvidencePath]:
        return sorted(paths, key=lambda p: (-p.confidence, len(p.hops), [h.to for h in p.hops]))

    def find(self, start: str, end: str, *, via_claims: bool = True) -> Finding:
        g = self.graph
        if start not in g or end not in g:
            return Finding([], [], [])
        blocked = self.blocked - {start, end}
        evidence = [EvidencePath(tuple(_path(g, self.adj, nodes)))
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
                path = _bridge(g, _path(g, self.adj, nodes), nodes[-1], targets[nodes[-1]], end)
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


def _contradiction(graph: nx.MultiDiGraph, blocked: set[str], claim: tuple[str, str]) -> Message | None:
    subject, obj = claim
    if graph.nodes[subject].get("kind") != "ip":
        return None
    for _, other, data in sorted(graph.out_edges(subject, data=True), key=lambda e: str(e[1])):
        if data.get("claim") or data.get("kind") != "ptr" or data.get("at_incident") is not True:
            continue
        name = split_node_id(other)[1]
        if other in blocked or _generic_ptr(subject, name):
            continue
        return Message("contradicted", {"ip": split_node_id(subject)[1], "host": name,
                                        "sources": str(data.get("sources", "")), "evidence": str(data.get("evidence", "")),
                                        "first": data.get("first_seen"), "last": data.get("last_seen"),
                                        "target": _label(graph, obj)})
    return None


def _notes(graph: nx.MultiDiGraph, subject: str) -> list[Message]:
    data = graph.nodes[subject]
    notes = []
    incident = graph.graph.get("incident_time")
    gone = data.get("deregistered")
    name = str(data.get("label", subject))
    if incident and isinstance(gone, str) and gone < incident[:10]:
        notes.append(Message("deregistered", {"name": name, "date": gone}))
    if data.get("shared_infrastructure") is True:
        notes.append(Message("shared", {"name": name}))
    if data.get("privacy_service") is True:
        notes.append(Message("privacy", {"name": name}))
    return notes


def claim_ends(graph: nx.MultiDiGraph, subject: str, obj: str) -> tuple[str, str]:
    """(start, end): searches run from the claim's non-brand end (uses_email points brand -> email)."""
    return (obj, subject) if graph.nodes[subject].get("kind") == "brand" else (subject, obj)


def _claim_key(r: ClaimResult) -> tuple[str, str, str]:
    return (r.subject, r.relation, r.object)


def attribute(graph: nx.MultiDiGraph, case: Any = None, *, max_hops: int = MAX_HOPS,
              k: int = PATHS_PER_CLAIM) -> list[ClaimResult]:
    """Check every claim edge of the graph against the evidence (rules: see the module docstring).

    `case` is accepted for symmetry with build_graph; the graph carries what is needed."""
    finder = PathFinder(graph, weak=False, max_hops=max_hops, k=k)
    results: list[ClaimResult] = []
    findings: dict[tuple[str, str, str], Finding] = {}
    claims = sorted((u, v, key, d) for u, v, key, d in graph.edges(keys=True, data=True) if d.get("claim"))
    for subject, obj, _, data in claims:
        start, end = claim_ends(graph, subject, obj)
        finding = finder.find(start, end)
        r = ClaimResult(subject=subject, relation=str(data.get("kind")), object=obj, status="uncorroborated",
                        note_msgs=_notes(graph, start), source=data.get("source"), standing=data.get("standing"),
                        text=data.get("text"))
        findings[_claim_key(r)] = finding
        independent = [p for p in finding.evidence if p.sources]
        if independent:
            r.status, r.paths = "corroborated", finding.evidence
            r.lines = lines_of_evidence(independent)
            r.sources = sorted(set().union(*(p.sources for p in independent)))
            r.reason_msg = Message("corroborated", {"paths": len(independent), "lines": r.lines, "n": len(r.sources),
                                                    "sources": r.sources, "target": _label(graph, end)})
        results.append(r)
    _settle(graph, results, findings, max_hops)
    for r in results:
        r.n_sources = len(r.sources)
        r.reason = r.reason_text("en")
        r.notes = r.notes_text("en")
    explain_gaps(results)  # an account on a platform no source reads: a gap, not an empty answer
    return results


def _settle(graph: nx.MultiDiGraph, results: list[ClaimResult], findings: dict, max_hops: int) -> None:
    """Claims that rest on other claims: supported when some chain of claims reaches a corroborated
    one (or for servers and companies, which nothing rests on), linked to each other otherwise."""
    by_key = {_claim_key(r): r for r in results}
    corroborated = {key for key, r in by_key.items() if r.status == "corroborated"}

    def closure(key: tuple[str, str, str]) -> set[tuple[str, str, str]]:
        seen, stack = set(), [key]
        while stack:
            for ref in findings[stack.pop()].rests_on:
                k2 = (ref.subject, ref.relation, ref.object)
                if k2 not in seen and k2 in by_key:
                    seen.add(k2)
                    if k2 not in corroborated:
                        stack.append(k2)
        return seen

    blocked = hubs(graph)
    for key, r in by_key.items():
        if r.status == "corroborated":
            continue
        finding = findings[key]
        start, end = claim_ends(graph, r.subject, r.object)
        target = _label(graph, end)
        if finding.via_claims and finding.rests_on:
            r.paths = finding.via_claims
            r.rests_on = finding.rests_on
            r.lines = lines_of_evidence(finding.via_claims)
            r.sources = sorted(set().union(*(p.sources for p in finding.via_claims)))
            if closure(key) & corroborated:
                r.status, r.reason_msg = "supported_via_claim", Message("supported", {"target": target,
                                                                                     "claims": r.rests_on})
            elif r.relation in IDENTITY_RELATIONS:
                r.status, r.reason_msg = "linked_to_each_other", Message("linked", {"claims": r.rests_on})
            else:
                r.status, r.reason_msg = "supported_via_claim", Message("supported_linked", {"target": target,
                                                                                            "claims": r.rests_on})
        elif (why := _contradiction(graph, blocked, (start, end))):
            r.status, r.reason_msg = "contradicted", why
        elif finding.evidence:
            r.paths = finding.evidence
            r.reason_msg = Message("case_only")
        else:
            r.reason_msg = Message("no_path", {"hops": max_hops})


def explain(graph: nx.MultiDiGraph, a: str, b: str, k: int = 3, *, max_hops: int = MAX_HOPS,
            weak: bool = False, via_claims: bool = False) -> list[EvidencePath]:
    """The k most confident evidence paths between two nodes (no claim edges, no hubs in between),
    by the same rules and the same path finder as attribute(): between a claim's two ends, explain
    finds a path exactly when attribute() calls the claim corroborated.

    via_claims adds paths that reach a brand through another claim (the bridge is marked claim);
    weak adds the weak links (same network, same registrar, same place) that attribution ignores."""
    if a not in graph or b not in graph:
        return []
    if graph.nodes[a].get("kind") == "brand" and graph.nodes[b].get("kind") != "brand":
        a, b = b, a  # search from the identifier towards the brand, as attribute() does
    finding = PathFinder(graph, weak=weak, max_hops=max_hops, k=k).find(a, b, via_claims=via_claims)
    return (finding.evidence + finding.via_claims)[:k] if via_claims else finding.evidence[:k]


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
    note = h.note_text("en")
    if h.claim or not h.sources:
        where = f" [{'CLAIM, ' if h.claim else ''}{note}]" if note else (" [CLAIM]" if h.claim else "")
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
    lines = ["# Claims", "", ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES), ""]
    for r in results:
        lines.append(f"## {r.subject} {r.relation} {r.object}: {r.status.replace('_', ' ').upper()}")
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
