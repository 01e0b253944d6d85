"""Read a case YAML file, check every field, and build the normalized Case.

All problems are collected before raising, each with its file, line and field. The schema of the
file is in case/schema.py, the line-numbered YAML reader in case/yamlines.py.
"""

from __future__ import annotations

import difflib
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from osint.case import normalize as norm
from osint.case.model import (
    PLATFORM_ALIASES, Account, BrokerStatus, Brand, Case, CaseError, Claim, Company,
    Incident, Indicator, Loss, Platform, Problem, Reference, Relation, Standing,
)
from osint.case.schema import (
    SECTIONS, AccountEntry, BrandEntry, CaseHeader, ClaimEntry, CompanyEntry, IncidentEntry,
    ReferenceEntry, ServersEntry, Entry, ValueEntry, pydantic_problems,
)
from osint.case.uscc import USCCError, decode_uscc
from osint.case.yamlines import Loc, dotted, read_yaml


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

    def entry(self, model: type[Entry], data: Any, path: Loc) -> Any:
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

    def indicator(self, kind: str, entry: ValueEntry, path: Loc,
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
    file, raw, lines, dups = read_yaml(path)
    builder = _Builder(file, lines)
    for key_path, line, first in dups:
        builder.problem(key_path, f"is written twice (first at line {first})", line=line)
    if not isinstance(raw, dict):
        builder.problem((), "the case file must be a YAML mapping with a 'case' section", line=1)
        raise CaseError(builder.problems)
    return builder.build(path, builder.fold(raw))
