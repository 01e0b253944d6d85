"""What the hand-off says: each record holder with the identifiers, contacts, countries, references and
asks it concerns, and the evidence each rests on. Found in the graph by osint/handoff/requests.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Identifier:
    node: str
    kind: str
    value: str
    in_case: bool
    first_seen: str | None = None  # when it was first tied to the case (evidence), UTC
    last_seen: str | None = None
    how: list[str] = field(default_factory=list)  # message keys: how it ties to this holder
    evidence: list[str] = field(default_factory=list)
    case_sources: list[str] = field(default_factory=list)


@dataclass
class Contact:
    value: str
    role: str
    evidence: list[str]


@dataclass
class Country:
    code: str
    evidence: list[str]
    basis: str  # where the country comes from: registry (the netblock), holder (its own record), certificate_issuer


@dataclass
class Reference:
    label: str
    url: str
    source: str


@dataclass
class Ask:
    key: str
    evidence: list[str]
    case_sources: list[str]


@dataclass
class Holder:
    key: str
    name: str
    role: str
    identifiers: list[Identifier] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    countries: list[Country] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    asks: list[Ask] = field(default_factory=list)
    window_start: str | None = None
    window_end: str | None = None
    evidence: list[str] = field(default_factory=list)
    case_sources: list[str] = field(default_factory=list)
    coverage: int = 0


@dataclass
class Handoff:
    case_id: str
    title: str
    incident_time: str | None
    incident_source: str | None
    exchange: str | None
    holders: list[Holder]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
