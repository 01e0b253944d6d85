"""The unit every source emits: a fact about two graph nodes, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .transport.base import Query
# Node kinds (and the kinds the engine can ask about) are the vocabulary's; facts and their
# readers import them from here as they always have.
from .vocabulary import ENRICHABLE_KINDS, NODE_KINDS, node_id, split_node_id

__all__ = ["ENRICHABLE_KINDS", "NODE_KINDS", "Fact", "Parsed", "node_id", "query_from_json", "query_to_json",
           "split_node_id"]


@dataclass(frozen=True)
class Fact:
    """`subject` -relation-> `object`, as one source observed it in one piece of evidence.

    Nodes are ids like ``ip:192.0.2.1``; `attrs` carry what the edge knows (record type,
    counts, dates as ISO strings). `first_seen`/`last_seen` bound when the fact held, where the
    source knows it (passive DNS spans, certificate validity, WHOIS dates).
    """

    subject: str
    relation: str
    object: str
    attrs: dict[str, Any] = field(default_factory=dict)
    first_seen: str | None = None
    last_seen: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"s": self.subject, "r": self.relation, "o": self.object}
        if self.attrs:
            out["a"] = self.attrs
        if self.first_seen:
            out["first"] = self.first_seen
        if self.last_seen:
            out["last"] = self.last_seen
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Fact":
        return cls(d["s"], d["r"], d["o"], d.get("a") or {}, d.get("first"), d.get("last"))


@dataclass
class Parsed:
    """What a source read from one answer.

    `facts` become graph edges; `nodes` adds attributes to nodes (by node id); `leads` are node ids
    worth enriching in turn; `followups` are further questions this answer calls for at the same
    depth (a WHOIS referral, the registrar's RDAP server).
    """

    facts: list[Fact] = field(default_factory=list)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads: list[str] = field(default_factory=list)
    followups: list[Query] = field(default_factory=list)

    def node(self, nid: str, **attrs: Any) -> None:
        self.nodes.setdefault(nid, {}).update({k: v for k, v in attrs.items() if v not in (None, "", [], {})})

    def fact(self, subject: str, relation: str, obj: str, *, first_seen: str | None = None,
             last_seen: str | None = None, **attrs: Any) -> None:
        self.facts.append(Fact(subject, relation, obj, {k: v for k, v in attrs.items() if v not in (None, "", [])},
                               first_seen, last_seen))

    def to_json(self) -> dict[str, Any]:
        return {
            "facts": [f.to_json() for f in self.facts],
            "nodes": self.nodes,
            "leads": sorted(set(self.leads)),
            "followups": [query_to_json(q) for q in self.followups],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Parsed":
        return cls(
            facts=[Fact.from_json(f) for f in d.get("facts", [])],
            nodes=d.get("nodes") or {},
            leads=list(d.get("leads") or []),
            followups=[query_from_json(q) for q in d.get("followups") or []],
        )


def query_to_json(q: Query) -> dict[str, Any]:
    return {"source": q.source, "key": q.key, "subject": q.subject, "transport": q.transport,
            "request": q.request, "endpoint": q.endpoint, "auth": list(q.auth), "trusted": q.trusted,
            "depth": q.depth}


def query_from_json(d: dict[str, Any]) -> Query:
    return Query(d["source"], d["key"], d["subject"], d["transport"], d["request"], d["endpoint"],
                 tuple(d.get("auth") or ()), d.get("trusted", True), d.get("depth", 0))
