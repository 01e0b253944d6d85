"""The unit every source emits: a fact about two graph nodes, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Node kinds, in the investigator's words. The graph colours and the exports key off these.
NODE_KINDS = (
    "incident", "brand", "company", "person", "address", "region", "domain", "ip",
    "netblock", "asn", "org", "registrar", "nameserver", "email", "account", "url",
    "certificate", "sshkey", "service", "ct_log", "crypto_address", "icp_filing", "phone",
    "tracker", "favicon", "copyright", "page_title",
)

# Entity kinds the enrichment engine can ask about.
ENRICHABLE_KINDS = ("ip", "domain", "email", "url", "nameserver", "company")


def node_id(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def split_node_id(nid: str) -> tuple[str, str]:
    kind, _, value = nid.partition(":")
    return kind, value


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
