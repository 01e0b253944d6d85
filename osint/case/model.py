"""The case as the rest of osint sees it: typed, normalized, every item with its source."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from osint import vocabulary
from osint.case.uscc import USCCInfo
from osint.errors import OsintError


class Standing(StrEnum):
    """How much weight an item carries: who says so."""

    ALLEGED = "alleged by the victim"
    STATED = "stated by the victim"
    SUSPECTED = "suspected"
    REGISTRY = "from the public company registry"
    PUBLIC_STATEMENT = "public statement"
    PRESS = "reported by the press"
    LEAD = "investigator lead"


class Relation(StrEnum):
    ALLEGED_SERVER_OF = "alleged_server_of"  # ip -> brand
    SUSPECTED_OPERATOR_OF = "suspected_operator_of"  # company -> brand
    WEBSITE_OF = "website_of"  # domain -> brand
    USES_EMAIL = "uses_email"  # brand -> email
    ACCOUNT_OF = "account_of"  # account -> brand


class Platform(StrEnum):
    X = "x"
    TELEGRAM = "telegram"
    YOUTUBE = "youtube"
    BINANCE_SQUARE = "binance_square"
    GOOGLE_PLAY = "google_play"
    APP_STORE = "app_store"
    GITHUB = "github"
    DISCORD = "discord"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    MEDIUM = "medium"
    REDDIT = "reddit"
    TIKTOK = "tiktok"
    WECHAT = "wechat"
    WEIBO = "weibo"
    LINKEDIN = "linkedin"


PLATFORM_ALIASES = {"twitter": Platform.X}

IndicatorKind = Literal["ip", "domain", "email", "url", "account"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Indicator(_Frozen):
    kind: IndicatorKind
    value: str  # canonical form
    original: str  # as written in the case file
    display: str  # for people: Unicode host names
    source: str | None = None
    standing: Standing | None = None
    note: str | None = None
    label: str | None = None
    line: int | None = None  # where the case file writes it

    @property
    def node_id(self) -> str:
        return f"{self.kind}:{self.value}"


class Account(Indicator):
    """An account on a platform; value is '<platform>:<handle>'."""

    kind: Literal["account"] = "account"
    platform: Platform
    handle: str | None = None  # canonical: no '@', lower case
    name: str | None = None  # when there is no handle, e.g. an app's name on Google Play
    url: str | None = None  # normalized profile URL


class Claim(_Frozen):
    subject: str  # node id
    relation: Relation
    object: str  # node id
    source: str
    standing: Standing
    text: str  # the claim in words
    quote: str | None = None  # the source's own words
    line: int | None = None


class Loss(_Frozen):
    amount: Decimal
    currency: str
    note: str | None = None


class Incident(_Frozen):
    id: str
    time: datetime | None = None  # timezone-aware
    period: str | None = None  # 'YYYY-MM' or 'YYYY-MM-DD' when no exact time is known
    kind: str
    exchange: str | None = None
    victim: str | None = None
    assets: list[str] = []
    losses: list[Loss] = []
    report_type: str | None = None
    description: str | None = None
    source: str
    standing: Standing

    @property
    def node_id(self) -> str:
        return vocabulary.incident_id(self.id)


class BrokerStatus(_Frozen):
    exchange: str
    program: str | None = None
    fast_api: bool | None = None
    text: str | None = None
    source: str
    standing: Standing


class Brand(_Frozen):
    id: str
    name: str
    name_zh: str | None = None
    aliases: list[str] = []
    name_pinyin: str | None = None
    description: str | None = None
    founded: int | None = None  # year
    location: str | None = None
    websites: list[Indicator] = []  # domains
    emails: list[Indicator] = []
    accounts: list[Account] = []
    broker: BrokerStatus | None = None
    notes: str | None = None
    source: str
    standing: Standing

    @property
    def node_id(self) -> str:
        return vocabulary.brand_id(self.id)


CompanyStatus = Literal["active", "deregistered", "revoked", "unknown"]


class Company(_Frozen):
    uscc: str | None = None
    name: str
    name_pinyin: str
    legal_representative: str | None = None  # look-alikes folded: 任俊飞
    legal_representative_original: str | None = None  # as written: 任俊⻜
    legal_representative_pinyin: str | None = None
    address: str | None = None
    status: CompanyStatus = "unknown"
    status_as_written: str | None = None
    founded: date | None = None
    deregistered: date | None = None
    abnormal_operations: bool | None = None  # on the 经营异常名录
    decoded: USCCInfo | None = None
    notes: str | None = None
    source: str
    standing: Standing
    line: int | None = None

    @property
    def node_id(self) -> str:
        return vocabulary.company_id(self.uscc or self.name)

    @property
    def person_id(self) -> str | None:
        return vocabulary.person_id(self.legal_representative) if self.legal_representative else None

    @property
    def address_id(self) -> str | None:
        return vocabulary.address_id(self.address) if self.address else None

    @property
    def region_id(self) -> str | None:
        return vocabulary.region_id(self.decoded.division_code) if self.decoded else None


class Reference(_Frozen):
    label: str
    url: str  # normalized
    original: str
    source: str
    standing: Standing | None = None


class Case(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    id: str
    title: str
    summary: str | None = None
    source: str | None = None
    incidents: list[Incident] = []
    brands: list[Brand] = []
    servers: list[Indicator] = []  # IP addresses
    companies: list[Company] = []
    claims: list[Claim] = []
    seed_urls: list[Indicator] = []
    references: list[Reference] = []
    warnings: list[str] = []

    @property
    def incident(self) -> Incident | None:
        """The case's main incident (the first one written)."""
        return self.incidents[0] if self.incidents else None

    def brand(self, brand_id: str) -> Brand | None:
        return next((b for b in self.brands if b.id == brand_id), None)

    def indicators(self) -> list[Indicator]:
        """Every ip, domain, email, url and account indicator, once each, in file order."""
        found: dict[str, Indicator] = {}
        for brand in self.brands:
            for item in [*brand.websites, *brand.emails, *brand.accounts]:
                found.setdefault(item.node_id, item)
        for item in [*self.servers, *self.seed_urls]:
            found.setdefault(item.node_id, item)
        return list(found.values())


def summary(case: Case) -> list[tuple[str, int, list[str]]]:
    """What the case holds, kind by kind: (kind, count, up to three examples)."""
    found = case.indicators()
    rows: list[tuple[str, list[str]]] = [
        ("incident", [i.time.isoformat() if i.time else (i.period or i.id) for i in case.incidents]),
        ("brand", [b.name for b in case.brands]),
        ("company", [c.name for c in case.companies]),
    ]
    for kind in ("ip", "domain", "email", "url", "account"):
        rows.append((kind, [i.display for i in found if i.kind == kind]))
    rows.append(("claim", [f"{c.subject} {c.relation} {c.object}" for c in case.claims]))
    rows.append(("reference", [r.label for r in case.references]))
    return [(kind, len(items), items[:3]) for kind, items in rows]


class Problem(_Frozen):
    """One thing wrong in a case file, with where it is."""

    file: str
    line: int | None
    field: str  # dotted path: 'servers.ips[3]'
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}"


class CaseError(OsintError):
    """The case file is invalid; fix the lines listed and run again."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or None)
