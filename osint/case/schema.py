"""The case file's schema: the sections a case YAML may hold and the entries in them, as written.

Entries are what the author writes (bare values or mappings, numbers read as text, spaces trimmed);
the loader turns them into the model's normalized items. Where an entry has exactly a model's
fields, it is that model read with the case file's leniency.
"""

from __future__ import annotations

import difflib
from datetime import date
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from osint.case.model import BrokerStatus, CompanyStatus, Loss, Relation, Standing
from osint.case.yamlines import Loc

SLUG = r"^[a-z0-9][a-z0-9._-]*$"


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)


class ValueEntry(Entry):
    """A list item written either as the bare value or as a mapping with its own source."""

    key: ClassVar[str]
    label: str | None = None
    note: str | None = None
    source: str | None = None
    standing: Standing | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {cls.key: data} if isinstance(data, (str, int, float)) else data


class DomainEntry(ValueEntry):
    key: ClassVar[str] = "domain"
    domain: str


class EmailEntry(ValueEntry):
    key: ClassVar[str] = "email"
    email: str


class IPEntry(ValueEntry):
    key: ClassVar[str] = "ip"
    ip: str


class SeedUrlEntry(ValueEntry):
    key: ClassVar[str] = "url"
    url: str
    source: str
    standing: Standing


class CaseHeader(Entry):
    id: str = Field(pattern=SLUG)
    title: str
    summary: str | None = None
    source: str | None = None


class LossEntry(Entry, Loss):
    """A loss as the model has it, read with the case file's leniency."""


class IncidentEntry(Entry):
    id: str | None = Field(default=None, pattern=SLUG)
    time: AwareDatetime | None = None
    period: str | date | None = None
    kind: str
    exchange: str | None = None
    victim: str | None = None
    assets: list[str] = []
    losses: list[LossEntry] = []
    report_type: str | None = None
    description: str | None = None
    source: str
    standing: Standing

    @model_validator(mode="after")
    def _when(self) -> IncidentEntry:
        if self.time is None and self.period is None:
            raise ValueError("give a time (with its UTC offset) or a period such as 2022-12")
        if isinstance(self.period, str) and not _is_period(self.period):
            raise ValueError(f"period {self.period!r} is not YYYY-MM or YYYY-MM-DD")
        return self


def _is_period(text: str) -> bool:
    parts = text.split("-")
    return len(parts) in (2, 3) and all(p.isdigit() for p in parts) and len(parts[0]) == 4


class AccountEntry(Entry):
    platform: str
    handle: str | None = None
    name: str | None = None
    url: str | None = None
    label: str | None = None
    note: str | None = None
    source: str | None = None
    standing: Standing | None = None


class BrokerEntry(Entry, BrokerStatus):
    """A broker status as the model has it, read with the case file's leniency."""


class BrandEntry(Entry):
    id: str = Field(pattern=SLUG)
    name: str
    name_zh: str | None = None
    aliases: list[str] = []  # other names the brand goes by (app names, old names): evidence naming them names it
    description: str | None = None
    founded: int | None = None
    location: str | None = None
    websites: list[DomainEntry] = []
    emails: list[EmailEntry] = []
    accounts: list[AccountEntry] = []
    broker: BrokerEntry | None = None
    notes: str | None = None
    source: str
    standing: Standing


class ClaimEntry(Entry):
    relation: Relation
    brand: str
    source: str | None = None
    standing: Standing | None = None
    quote: str | None = None


class ServersEntry(Entry):
    claim: ClaimEntry
    ips: list[IPEntry] = []
    source: str
    standing: Standing


class CompanyEntry(Entry):
    name: str
    uscc: str | None = None
    legal_representative: str | None = None
    address: str | None = None
    status: CompanyStatus = "unknown"
    status_as_written: str | None = None
    founded: date | None = None
    deregistered: date | None = None
    abnormal_operations: bool | None = None
    notes: str | None = None
    claim: ClaimEntry | None = None
    source: str
    standing: Standing


class ReferenceEntry(Entry):
    label: str
    url: str
    source: str
    standing: Standing | None = None


# The top-level keys of a case file and the entry each holds (a list of them, except
# for case and servers, which hold one).
SECTIONS: dict[str, type[Entry]] = {
    "case": CaseHeader,
    "incidents": IncidentEntry,
    "brands": BrandEntry,
    "servers": ServersEntry,
    "companies": CompanyEntry,
    "references": ReferenceEntry,
    "seed_urls": SeedUrlEntry,
}

ALL_KEYS = sorted({name for model in Entry.__subclasses__() + ValueEntry.__subclasses__()
                    for name in model.model_fields} | set(SECTIONS))



def pydantic_problems(exc: ValidationError, base: Loc) -> list[tuple[Loc, str]]:
    """(path, message) for each error pydantic found, in words for a case-file author."""
    out = []
    for err in exc.errors():
        loc = base + tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1]) if err["loc"] else "?"
            near = difflib.get_close_matches(key, ALL_KEYS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            out.append((loc, f"unknown key {key!r}{hint}"))
        elif err["type"] == "missing":
            out.append((loc, "is required"))
        elif err["type"] == "string_pattern_mismatch":
            out.append((loc, "use lower-case letters, digits, '.', '_' and '-' (like antbot-binance-2023)"))
        else:
            out.append((loc, err["msg"].removeprefix("Value error, ")))
    return out
