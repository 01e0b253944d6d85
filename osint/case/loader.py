"""Read a case YAML file, check every field, and build the normalized Case.

All problems are collected before raising, each with its file, line and field.
"""

from __future__ import annotations

import difflib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from osint.case import normalize as norm
from osint.case.model import (
    PLATFORM_ALIASES, Account, BrokerStatus, Brand, Case, CaseError, Claim, Company,
    CompanyStatus, Incident, Indicator, Loss, Platform, Problem, Reference, Relation, Standing,
)
from osint.case.uscc import USCCError, decode_uscc

Loc = tuple[str | int, ...]
SLUG = r"^[a-z0-9][a-z0-9._-]*$"


# ---------------------------------------------------------------- the YAML schema

class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)


class _ValueEntry(_Entry):
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


class DomainEntry(_ValueEntry):
    key: ClassVar[str] = "domain"
    domain: str


class EmailEntry(_ValueEntry):
    key: ClassVar[str] = "email"
    email: str


class IPEntry(_ValueEntry):
    key: ClassVar[str] = "ip"
    ip: str


class SeedUrlEntry(_ValueEntry):
    key: ClassVar[str] = "url"
    url: str
    source: str
    standing: Standing


class CaseHeader(_Entry):
    id: str = Field(pattern=SLUG)
    title: str
    summary: str | None = None
    source: str | None = None


class LossEntry(_Entry):
    amount: Decimal
    currency: str
    note: str | None = None


class IncidentEntry(_Entry):
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


class AccountEntry(_Entry):
    platform: str
    handle: str | None = None
    name: str | None = None
    url: str | None = None
    label: str | None = None
    note: str | None = None
    source: str | None = None
    standing: Standing | None = None


class BrokerEntry(_Entry):
    exchange: str
    program: str | None = None
    fast_api: bool | None = None
    text: str | None = None
    source: str
    standing: Standing


class BrandEntry(_Entry):
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


class ClaimEntry(_Entry):
    relation: Relation
    brand: str
    source: str | None = None
    standing: Standing | None = None
    quote: str | None = None


class ServersEntry(_Entry):
    claim: ClaimEntry
    ips: list[IPEntry] = []
    source: str
    standing: Standing


class CompanyEntry(_Entry):
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


class ReferenceEntry(_Entry):
    label: str
    url: str
    source: str
    standing: Standing | None = None


# The top-level keys of a case file and the entry each holds (a list of them, except
# for case and servers, which hold one).
SECTIONS: dict[str, type[_Entry]] = {
    "case": CaseHeader,
    "incidents": IncidentEntry,
    "brands": BrandEntry,
    "servers": ServersEntry,
    "companies": CompanyEntry,
    "references": ReferenceEntry,
    "seed_urls": SeedUrlEntry,
}

_ALL_KEYS = sorted({name for model in _Entry.__subclasses__() + _ValueEntry.__subclasses__()
                    for name in model.model_fields} | set(SECTIONS))


# ---------------------------------------------------------------- YAML with line numbers

class _CaseLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date that does not exist (2023-02-30) is a marked
    error with its line, not a bare ValueError from datetime."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date or time ({exc})", node.start_mark) from None


_CaseLoader.add_constructor("tag:yaml.org,2002:timestamp", _CaseLoader.construct_yaml_timestamp)


def parse_yaml(text: str) -> tuple[Any, dict[Loc, int], list[tuple[Loc, int, int]]]:
    """The document, the line of every path in it, and duplicate keys (path, line, first line).

    Raises yaml.MarkedYAMLError on a syntax error or an impossible date, RecursionError on
    nesting deeper than the parser recurses.
    """
    loader = _CaseLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    dups: list[tuple[Loc, int, int]] = []
    if node is not None:
        _walk(node, (), lines, dups, {})
    return data, lines, dups


# A node met again through an alias is walked again (its paths need lines). Nine aliases of nine
# aliases of ... (a "billion laughs") would have the walk, and everything after it, run for hours
# on a file of a few hundred bytes; real case files repeat a node a few times, if at all.
MAX_ALIAS_REPEATS = 10_000


def _walk(node: yaml.Node, path: Loc, lines: dict[Loc, int], dups: list, seen: dict[int, int]) -> None:
    if id(node) in seen:
        seen[0] = seen.get(0, 0) + 1  # key 0: repeats so far (no node lives at address 0)
        if seen[0] > MAX_ALIAS_REPEATS:
            raise yaml.composer.ComposerError(
                None, None, f"aliases repeat values more than {MAX_ALIAS_REPEATS} times; write them out instead",
                node.start_mark)
    seen[id(node)] = 1
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in first:
                dups.append((path + (key,), line, first[key]))
                continue
            first[key] = line
            lines[path + (key,)] = line  # a key's own line, even when its value starts below
            _walk(value_node, path + (key,), lines, dups, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), lines, dups, seen)


def dotted(path: Loc) -> str:
    """('servers', 'ips', 3) -> 'servers.ips[3]'; a key with line breaks or other unprintable
    characters is shown quoted and escaped, so that a problem stays on one line."""
    out = ""
    for part in path:
        if not isinstance(part, int):
            part = part if isinstance(part, str) and part.isprintable() else repr(part)
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def pydantic_problems(exc: ValidationError, base: Loc) -> list[tuple[Loc, str]]:
    """(path, message) for each error pydantic found, in words for a case-file author."""
    out = []
    for err in exc.errors():
        loc = base + tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1]) if err["loc"] else "?"
            near = difflib.get_close_matches(key, _ALL_KEYS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            out.append((loc, f"unknown key {key!r}{hint}"))
        elif err["type"] == "missing":
            out.append((loc, "is required"))
        elif err["type"] == "string_pattern_mismatch":
            out.append((loc, "use lower-case letters, digits, '.', '_' and '-' (like antbot-binance-2023)"))
        else:
            out.append((loc, err["msg"].removeprefix("Value error, ")))
    return out


# ---------------------------------------------------------------- building the Case

# Keys whose values are identifiers, not prose: never fold look-alikes in them.
_NO_FOLD = {"ip", "ips", "domain", "websites", "email", "emails", "url", "handle", "uscc"}

_STATEMENTS = {
    Relation.ALLEGED_SERVER_OF: "{subject} is a server of {object}",
    Relation.SUSPECTED_OPERATOR_OF: "{subject} operates {object}",
    Relation.WEBSITE_OF: "{subject} is a website of {object}",
    Relation.USES_EMAIL: "{subject} uses the e-mail address {object}",
    Relation.ACCOUNT_OF: "{subject} is an account of {object}",
}


def _canonical(kind: str, text: str) -> tuple[str, str]:
    """(canonical value, display form) of an ip, domain, email or url."""
    if kind == "ip":
        value = norm.normalize_ip(text)
        return value, value
    if kind == "domain":
        value = norm.normalize_domain(text)
        return value, norm.domain_display(value)
    if kind == "email":
        value = norm.normalize_email(text)
        return value, norm.email_display(value)
    value = norm.normalize_url(text)
    return value, norm.url_display(value)


def _last_segment(url: str) -> str | None:
    """The handle in a profile URL: 'https://t.me/antbot_official' -> 'antbot_official'."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or None


def _handle_in_url(platform: Platform, url: str) -> str | None:
    """The handle a profile URL carries; a Google Play listing names its app in ?id=."""
    if platform is Platform.GOOGLE_PLAY:
        app_id = parse_qs(urlsplit(url).query).get("id")
        if app_id and app_id[0].strip():
            return app_id[0].strip()
    return _last_segment(url)


class _Builder:
    def __init__(self, file: str, lines: dict[Loc, int]):
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.originals: dict[Loc, str] = {}  # path -> text as written, where folding changed it
        self.nodes: dict[str, tuple[Any, int | None]] = {}  # node id -> (first item, its line)
        self.brands: dict[str, Brand] = {}
        self.written_brands: set[str] = set()  # a claim naming one that failed is not reported twice
        self.claims: dict[tuple[str, str, str], Claim] = {}

    # -- where and what went wrong

    def line(self, path: Loc) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)

    def problem(self, path: Loc, message: str, line: int | None = None) -> None:
        where = line if line is not None else self.line(path)
        self.problems.append(Problem(file=self.file, line=where, field=dotted(path), message=message))

    def warn(self, path: Loc, message: str) -> None:
        self.warnings.append(f"{self.file}:{self.line(path)}: {dotted(path)}: {message}")

    def entry(self, model: type[_Entry], data: Any, path: Loc) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for loc, message in pydantic_problems(exc, path):
                self.problem(loc, message)
            return None

    def items(self, data: dict, key: str) -> list[tuple[Loc, Any]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem((key,), "must be a list")
            return []
        found = [((key, i), self.entry(SECTIONS[key], item, (key, i))) for i, item in enumerate(value)]
        return [(path, entry) for path, entry in found if entry is not None]

    # -- text and nodes

    def fold(self, value: Any, path: Loc = (), fold: bool = True) -> Any:
        """The document with CJK look-alikes folded in prose fields; originals are remembered."""
        if isinstance(value, dict):
            return {k: self.fold(v, path + (k,), k not in _NO_FOLD) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fold(v, path + (i,), fold) for i, v in enumerate(value)]
        if isinstance(value, str) and fold:
            folded = norm.fold_cjk(value)
            if folded != value:
                self.originals[path] = value
                chars = ", ".join(norm.lookalikes(value))
                self.warn(path, f"{value!r} is written with CJK radical look-alikes ({chars}); "
                                f"read as {folded!r}")
            return folded
        return value

    def keep(self, item: Any, node_id: str, path: Loc) -> Any:
        """The first item written for a node; a later one is merged into it with a warning."""
        if node_id in self.nodes:
            first, line = self.nodes[node_id]
            self.warn(path, f"duplicate of {node_id} (first written at line {line}); merged")
            return first
        self.nodes[node_id] = (item, self.line(path))
        return item

    def indicator(self, kind: str, entry: _ValueEntry, path: Loc,
                  source: str | None, standing: Standing | None) -> Indicator | None:
        value_path = path + (entry.key,) if path + (entry.key,) in self.lines else path
        text = getattr(entry, entry.key)
        try:
            value, display = _canonical(kind, text)
        except norm.NormalizeError as exc:
            self.problem(value_path, str(exc))
            return None
        item = Indicator(kind=kind, value=value, original=text, display=display,
                         source=entry.source or source, standing=entry.standing or standing,
                         note=entry.note, label=entry.label, line=self.line(value_path))
        return self.keep(item, item.node_id, value_path)

    def account(self, e: AccountEntry, path: Loc, source: str, standing: Standing) -> Account | None:
        name = e.platform.strip().lower()
        platform = PLATFORM_ALIASES.get(name) or next((p for p in Platform if p.value == name), None)
        if platform is None:
            self.problem(path + ("platform",), f"unknown platform {e.platform!r}; use one of: "
                                               + ", ".join(p.value for p in Platform))
            return None
        url = handle = None
        try:
            # Profile URLs are often written without a scheme ('www.youtube.com/@antradeio').
            url = norm.normalize_url(e.url, default_scheme="https") if e.url else None
            written = e.handle or (_handle_in_url(platform, url) if url else None)
            handle = norm.normalize_handle(written) if written else None
        except norm.NormalizeError as exc:
            self.problem(path + ("url" if e.url and url is None else "handle",), str(exc))
            return None
        if handle is None and not e.name:
            self.problem(path, "an account needs a handle, a profile url or a name")
            return None
        if e.handle and url and handle not in url.lower():
            self.warn(path + ("handle",), f"handle {handle!r} does not appear in {url}")
        ident = handle or " ".join(e.name.split()).lower()
        item = Account(value=f"{platform.value}:{ident}", original=e.url or e.handle or e.name,
                       display=f"{platform.value}:{handle or e.name}", platform=platform,
                       handle=handle, name=e.name, url=url, label=e.label, note=e.note,
                       source=e.source or source, standing=e.standing or standing, line=self.line(path))
        return self.keep(item, item.node_id, path)

    def claim(self, subject: str, relation: Relation, obj: str, words: tuple[str, str],
              source: str, standing: Standing, line: int | None, quote: str | None = None) -> None:
        key = (subject, relation.value, obj)
        if key in self.claims:
            return
        statement = _STATEMENTS[relation].format(subject=words[0], object=words[1])
        self.claims[key] = Claim(subject=subject, relation=relation, object=obj, source=source,
                                 standing=standing, text=f"{standing.value}: {statement}",
                                 quote=quote, line=line)

    def claimed_brand(self, e: ClaimEntry, path: Loc, expected: Relation) -> Brand | None:
        if e.relation != expected:
            self.problem(path + ("relation",), f"must be {expected.value} here")
            return None
        brand = self.brands.get(e.brand)
        if brand is None and e.brand not in self.written_brands:
            known = ", ".join(self.brands) or "none"
            self.problem(path + ("brand",), f"no brand with id {e.brand!r} (brands in this file: {known})")
        return brand

    # -- sections

    def brand(self, path: Loc, e: BrandEntry) -> None:
        if e.id in self.brands:
            self.problem(path + ("id",), f"brand id {e.id!r} is used twice")
            return
        src, std = e.source, e.standing
        websites = [self.indicator("domain", d, path + ("websites", i), src, std)
                    for i, d in enumerate(e.websites)]
        emails = [self.indicator("email", m, path + ("emails", i), src, std)
                  for i, m in enumerate(e.emails)]
        accounts = [self.account(a, path + ("accounts", i), src, std) for i, a in enumerate(e.accounts)]
        broker = BrokerStatus(**e.broker.model_dump()) if e.broker else None
        brand = Brand(
            id=e.id, name=e.name, name_zh=e.name_zh, aliases=[a.strip() for a in e.aliases if a.strip()],
            name_pinyin=norm.to_pinyin(e.name_zh, joined=True) if e.name_zh else None,
            description=e.description, founded=e.founded, location=e.location,
            websites=_unique(websites), emails=_unique(emails), accounts=_unique(accounts),
            broker=broker, notes=e.notes, source=src, standing=std)
        self.keep(brand, brand.node_id, path)
        self.brands[brand.id] = brand
        for item in brand.websites:
            self.claim(item.node_id, Relation.WEBSITE_OF, brand.node_id, (item.display, brand.name),
                       item.source or src, item.standing or std, item.line)
        for item in brand.emails:
            self.claim(brand.node_id, Relation.USES_EMAIL, item.node_id, (brand.name, item.display),
                       item.source or src, item.standing or std, item.line)
        for item in brand.accounts:
            self.claim(item.node_id, Relation.ACCOUNT_OF, brand.node_id, (item.display, brand.name),
                       item.source or src, item.standing or std, item.line)

    def servers(self, path: Loc, e: ServersEntry) -> list[Indicator]:
        brand = self.claimed_brand(e.claim, path + ("claim",), Relation.ALLEGED_SERVER_OF)
        found = [self.indicator("ip", ip, path + ("ips", i), e.source, e.standing)
                 for i, ip in enumerate(e.ips)]
        if brand is not None:
            for item in filter(None, found):
                self.claim(item.node_id, Relation.ALLEGED_SERVER_OF, brand.node_id,
                           (item.display, brand.name), e.claim.source or item.source or e.source,
                           e.claim.standing or item.standing or e.standing, item.line, e.claim.quote)
        return _unique(found)

    def company(self, path: Loc, e: CompanyEntry) -> Company | None:
        uscc, decoded = None, None
        if e.uscc:
            try:
                decoded = decode_uscc(e.uscc, strict=False)
            except USCCError as exc:
                self.problem(path + ("uscc",), str(exc))
            else:
                for message in decoded.problems:
                    self.problem(path + ("uscc",), message)
                uscc = decoded.code
                place = decoded.division_name if decoded.division_code[2:4] != "00" else None
                if place and e.address and place.removesuffix("市") not in e.address:
                    self.warn(path + ("address",), f"the USCC places the company in {place}, "
                                                   "which the address does not name")
        if e.founded and e.deregistered and e.deregistered < e.founded:
            self.problem(path + ("deregistered",), f"{e.deregistered} is before the founding date {e.founded}")
        if e.deregistered and e.status == "active":
            self.warn(path + ("status",), "status is active but a deregistration date is given")
        rep = e.legal_representative
        company = Company(
            uscc=uscc, name=e.name, name_pinyin=norm.to_pinyin(e.name), legal_representative=rep,
            legal_representative_original=self.originals.get(path + ("legal_representative",), rep),
            legal_representative_pinyin=norm.person_pinyin(rep) if rep else None,
            address=e.address, status=e.status, status_as_written=e.status_as_written,
            founded=e.founded, deregistered=e.deregistered, abnormal_operations=e.abnormal_operations,
            decoded=decoded, notes=e.notes, source=e.source, standing=e.standing, line=self.line(path))
        first = self.keep(company, company.node_id, path)
        if e.claim is not None:
            brand = self.claimed_brand(e.claim, path + ("claim",), Relation.SUSPECTED_OPERATOR_OF)
            if brand is not None:
                self.claim(company.node_id, Relation.SUSPECTED_OPERATOR_OF, brand.node_id,
                           (company.name, brand.name), e.claim.source or e.source,
                           e.claim.standing or e.standing, company.line, e.claim.quote)
        return company if first is company else None

    def incident(self, path: Loc, e: IncidentEntry, number: int, case_id: str) -> Incident | None:
        incident_id = e.id or (case_id if number == 0 else f"{case_id}-{number + 1}")
        period = e.period.isoformat() if isinstance(e.period, date) else e.period
        item = Incident(
            id=incident_id, time=e.time, period=period, kind=e.kind, exchange=e.exchange,
            victim=e.victim, assets=e.assets, losses=[Loss(**loss.model_dump()) for loss in e.losses],
            report_type=e.report_type, description=e.description, source=e.source, standing=e.standing)
        if item.node_id in self.nodes:
            self.problem(path + ("id",), f"incident id {incident_id!r} is used twice")
            return None
        self.keep(item, item.node_id, path)
        return item

    def reference(self, path: Loc, e: ReferenceEntry) -> Reference | None:
        try:
            url = norm.normalize_url(e.url)
        except norm.NormalizeError as exc:
            self.problem(path + ("url",), str(exc))
            return None
        item = Reference(label=e.label, url=url, original=e.url, source=e.source, standing=e.standing)
        return item if self.keep(item, f"reference:{url}", path) is item else None

    def build(self, path: Path, data: dict) -> Case:
        for key in data:
            if key not in SECTIONS:
                near = difflib.get_close_matches(str(key), list(SECTIONS), n=1)
                self.problem((key,), f"unknown section {key!r}" + (f"; did you mean {near[0]!r}?" if near else ""))
        if "case" not in data:
            self.problem(("case",), "is required (a mapping with id and title)", line=1)
        header = self.entry(CaseHeader, data.get("case"), ("case",)) if "case" in data else None
        case_id = header.id if header else "case"
        if isinstance(data.get("brands"), list):
            self.written_brands = {str(b["id"]) for b in data["brands"] if isinstance(b, dict) and "id" in b}
        for item_path, entry in self.items(data, "brands"):
            self.brand(item_path, entry)
        servers: list[Indicator] = []
        if data.get("servers") is not None:
            entry = self.entry(ServersEntry, data["servers"], ("servers",))
            servers = self.servers(("servers",), entry) if entry else []
        companies = [self.company(p, e) for p, e in self.items(data, "companies")]
        incidents = [self.incident(p, e, n, case_id) for n, (p, e) in enumerate(self.items(data, "incidents"))]
        references = [self.reference(p, e) for p, e in self.items(data, "references")]
        seeds = [self.indicator("url", e, p, None, None) for p, e in self.items(data, "seed_urls")]
        if self.problems or header is None:
            raise CaseError(sorted(self.problems, key=lambda p: p.line or 0))
        return Case(
            path=path, id=header.id, title=header.title, summary=header.summary, source=header.source,
            incidents=[i for i in incidents if i], brands=list(self.brands.values()), servers=servers,
            companies=[c for c in companies if c], claims=list(self.claims.values()),
            seed_urls=_unique(seeds), references=[r for r in references if r], warnings=self.warnings)


def _unique(items: list) -> list:
    """Items without None and without repeats of the same node, in order."""
    seen, out = set(), []
    for item in items:
        if item is not None and item.node_id not in seen:
            seen.add(item.node_id)
            out.append(item)
    return out


def load_case(path: str | Path) -> Case:
    """Read, check and normalize a case file.

    Raises CaseError listing every problem found, each with file, line and field.
    """
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError([Problem(file=file, line=None, field="(file)",
                                 message=f"cannot read the case file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(file=file, line=None, field="(file)",
                                 message=f"is not UTF-8 text ({exc.reason})")]) from None
    try:
        raw, lines, dups = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        words = " ".join(w for w in (exc.context, exc.problem) if w)
        raise CaseError([Problem(file=file, line=mark.line + 1 if mark else None, field="(yaml)",
                                 message=f"YAML syntax error: {words}")]) from None
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise CaseError([Problem(file=file, line=text.count("\n", 0, exc.position) + 1, field="(yaml)",
                                 message=f"YAML does not allow the character U+{ord(char):04X}; "
                                         "remove it")]) from None
    except RecursionError:
        raise CaseError([Problem(file=file, line=None, field="(yaml)",
                                 message="YAML nested too deeply to read")]) from None
    except yaml.YAMLError as exc:
        raise CaseError([Problem(file=file, line=None, field="(yaml)",
                                 message=f"YAML error: {exc}")]) from None
    builder = _Builder(file, lines)
    for key_path, line, first in dups:
        builder.problem(key_path, f"is written twice (first at line {first})", line=line)
    if not isinstance(raw, dict):
        builder.problem((), "the case file must be a YAML mapping with a 'case' section", line=1)
        raise CaseError(builder.problems)
    return builder.build(path, builder.fold(raw))
