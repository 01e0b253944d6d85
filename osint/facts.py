"""The unit every source emits: a fact about two graph nodes, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Node kinds (and the kinds the engine can ask about) are the vocabulary's; facts and their
# readers import them from here as they always have.
from .vocabulary import ENRICHABLE_KINDS, NODE_KINDS, node_id, split_node_id

__all__ = ["ENRICHABLE_KINDS", "NODE_KINDS", "Fact", "node_id", "split_node_id"]


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
