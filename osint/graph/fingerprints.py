"""Sites that share an operator's fingerprint: the same tracker id (`shares_tracker`) or the same favicon
(`same_favicon`), derived between the sites (domain or ip nodes) when the graph is built.

Only specific fingerprints link: tracker ids and favicon hashes (framework defaults never become nodes, see
osint.sources.fingerprints). A fingerprint on more sites than SHARED_LIMIT is someone's template or a
hosting panel's: it is flagged shared_infrastructure and links nothing. Titles and copyright lines stay
nodes the sites meet at, not links of their own.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import networkx as nx

from .provenance import evidence_tuple, gathered, names

SHARED_LIMIT = 25
# fingerprint node kind -> (relation from a page or site to it, derived relation between sites)
DERIVED = {"tracker": ("uses_tracker", "shares_tracker"), "favicon": ("has_favicon", "same_favicon")}


def _site(g: nx.MultiDiGraph, holder: str) -> list[str]:
    """The site(s) of a page (its hosted_on targets) or the site itself."""
    if holder.startswith(("domain:", "ip:")):
        return [holder]
    return [o for _, o, k in g.out_edges(holder, keys=True) if k == "hosted_on"]


def derive_shared_fingerprints(g: nx.MultiDiGraph) -> None:
    for kind, (uses, derived) in DERIVED.items():
        for fp in sorted(n for n, k in g.nodes(data="kind") if k == kind):
            sites: dict[str, list[dict[str, Any]]] = {}
            for holder, _, key, data in g.in_edges(fp, keys=True, data=True):
                if key != uses:
                    continue
                for site in _site(g, holder):
                    sites.setdefault(site, []).append(data)
            if len(sites) > SHARED_LIMIT:
                g.nodes[fp]["shared_infrastructure"] = True
                continue
            for a, b in combinations(sorted(sites), 2):
                supports = sites[a] + sites[b]
                evidence = gathered(supports, "evidence")
                if g.has_edge(a, b, derived):  # two fingerprints of one kind: one edge, both named
                    edge = g.edges[a, b, derived]
                    edge["via"] = names({*edge["via"], fp})
                    edge["evidence"] = evidence_tuple({*edge["evidence"], *evidence})
                    continue
                g.add_edge(a, b, key=derived, kind=derived, claim=False, derived=True, via=(fp,),
                           evidence=evidence_tuple(evidence), sources=names(gathered(supports, "sources")),
                           confidence=min(float(d.get("confidence", 0.5)) for d in supports),
                           observed_at=max(str(d.get("observed_at", "")) for d in supports))
