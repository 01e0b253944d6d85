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

`attribute`, `explain` and the report share one path finder (osint.graph.paths), so they never disagree.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from ..case.model import Case
from ..facts import split_node_id
from ..vocabulary import LEAD_KINDS
from .gaps import explain_gaps
from .messages import ClaimRef, Message
from .paths import (
    IDENTITY_RELATIONS, MAX_HOPS, PATHS_PER_CLAIM, WEAK_RELATIONS, EvidencePath, Finding,
    PathFinder, adjacency, hubs, lines_of_evidence, node_label, path_hops,
)
from .provenance import as_tuple

STATUSES = ("corroborated", "supported_via_claim", "linked_to_each_other", "contradicted", "uncorroborated")


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
                                        "sources": ",".join(as_tuple(data.get("sources"))),
                                        "evidence": ",".join(as_tuple(data.get("evidence"))),
                                        "first": data.get("first_seen"), "last": data.get("last_seen"),
                                        "target": node_label(graph, obj)})
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


def attribute(graph: nx.MultiDiGraph, case: Case | None = None, *, max_hops: int = MAX_HOPS,
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
                                                    "sources": r.sources, "target": node_label(graph, end)})
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
        target = node_label(graph, end)
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
    adj = adjacency(graph, weak=True)
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
                          distance=dist, near=chain[0], path=EvidencePath(tuple(path_hops(graph, adj, chain)))))
    leads.sort(key=lambda lead: (lead.distance, -lead.path.confidence, lead.node))
    return leads


def _weak(graph: nx.MultiDiGraph, adj: dict, a: str, b: str) -> bool:
    u, v, key, _ = adj[a][b]
    return graph.edges[u, v, key].get("kind") in WEAK_RELATIONS
