"""Fans of same-kind leaves drawn as one counted node ("64 certificates"), for pictures only.

A shared host answers for hundreds of names and a busy domain has dozens of certificates: drawn one by
one they make a hairball that hides the case. For the PNG and the report's graph view, the leaves of one
node that share a kind and a relation, and that nothing else touches, become one node labelled with
their count; the node keeps the members' ids and the edges' evidence. Exports (GEXF, GraphML, JSON, CSV)
never collapse: the detail stays in the data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from .provenance import as_tuple, evidence_tuple, names

FAN_MIN = 6  # fewer leaves than this read fine one by one
PLURALS = {"ip": "IP addresses", "email": "e-mail addresses", "url": "URLs", "address": "addresses",
           "asn": "ASNs", "icp_filing": "ICP filings", "crypto_address": "crypto addresses", "sshkey": "SSH keys",
           "person": "people", "registry": "registries"}


def plural(kind: str, count: int) -> str:
    if count == 1:
        return f"1 {kind.replace('_', ' ')}"
    return f"{count} {PLURALS.get(kind) or kind.replace('_', ' ') + 's'}"


def _neighbours(graph: nx.MultiDiGraph, node: Any) -> set[Any]:
    return (set(graph.predecessors(node)) | set(graph.successors(node))) - {node}


def fan_groups(graph: nx.MultiDiGraph, min_fan: int = FAN_MIN) -> dict[tuple, list[Any]]:
    """(parent, kind, relations, direction) -> the leaves to fold, for groups of at least min_fan."""
    groups: dict[tuple, list[Any]] = defaultdict(list)
    for node, data in graph.nodes(data=True):
        if data.get("in_case") or graph.has_edge(node, node):
            continue
        around = _neighbours(graph, node)
        if len(around) != 1:
            continue
        parent = next(iter(around))
        if len(_neighbours(graph, parent)) <= 1:
            continue  # a pair on its own: nothing to fold into
        out = tuple(sorted(str(d.get("kind", k)) for _, _, k, d in graph.out_edges(node, keys=True, data=True)))
        into = tuple(sorted(str(d.get("kind", k)) for _, _, k, d in graph.in_edges(node, keys=True, data=True)))
        if any(d.get("claim") for _, _, d in graph.edges(node, data=True)) or \
                any(d.get("claim") for _, _, d in graph.in_edges(node, data=True)):
            continue  # a claim of the case file is always drawn
        groups[(parent, str(data.get("kind", "")), out, into)].append(node)
    return {key: sorted(members, key=str) for key, members in groups.items() if len(members) >= min_fan}


def collapse_fans(graph: nx.MultiDiGraph, min_fan: int = FAN_MIN) -> nx.MultiDiGraph:
    """A copy of the graph with each fan of leaves replaced by one counted node."""
    groups = fan_groups(graph, min_fan)
    if not groups:
        return graph
    view = graph.copy()
    for (parent, kind, out, into), members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        fan = f"fan:{parent}:{kind}:{'+'.join(out)}:{'+'.join(into)}"
        label = plural(kind, len(members))
        view.add_node(fan, kind=kind, label=label, collapsed=len(members),
                      members=[str(m) for m in members], fan_of=str(parent))
        for relations, leaving in ((out, True), (into, False)):
            for relation in dict.fromkeys(relations):
                evidence: set[str] = set()
                sources: set[str] = set()
                for m in members:
                    ends = graph.get_edge_data(m, parent) if leaving else graph.get_edge_data(parent, m)
                    for d in (ends or {}).values():
                        if str(d.get("kind")) == relation:
                            evidence.update(as_tuple(d.get("evidence")))
                            sources.update(as_tuple(d.get("sources")))
                attrs: dict[str, Any] = {"kind": relation, "count": len(members)}
                if evidence:
                    attrs["evidence"] = evidence_tuple(evidence)
                if sources:
                    attrs["sources"] = names(sources)
                u, v = (fan, parent) if leaving else (parent, fan)
                view.add_edge(u, v, key=relation, **attrs)
        view.remove_nodes_from(members)
    return view
