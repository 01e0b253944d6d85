"""ICP filings (备案): which company filed a site, and which domains a filing covers.

The MIIT register (beian.miit.gov.cn) sits behind a CAPTCHA, so there is no default endpoint. Two ways in:

- `osint import icp FILE`: records an investigator exported from the official query, as CSV or JSON with the
  register's columns (see COLUMNS); the file itself is the evidence.
- A lookup gateway the investigator runs (off by default; set `sources.icp.endpoint`). Request:
  ``GET <endpoint>?search=<domain | filing number | company name | USCC>``. Answer: JSON, either
  ``{"records": [{<the COLUMNS, in Chinese>}, ...]}`` or the register's own shape
  ``{"code": 200, "params": {"list": [{"unitName", "natureName", "serviceLicence", "mainLicence",
  "domain", "updateRecordTime", ...}], "total": N}}``. An empty list is "no record".

Facts: `icp_filed_by` filing -> company (by USCC when the record has one), org (a unit, by name; cn-registry
matches it to the case's companies by pinyin) or person (a personal filing); `icp_covers` filing -> domain.
Both carry the approval date (审核日期) as first_seen.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

from ..case.indicators import ICP_RE, USCC_RE
from ..case.normalize import NormalizeError, normalize_domain
from ..case.uscc import USCCError, decode_uscc
from ..transport.base import Fetched, Query
from ..vocabulary import company_id, domain_id, icp_filing_id, org_id, person_id
from .base import Parsed, ParseError, Source, classify_list

# The register's columns, as its web query shows them and an export carries them.
UNIT = "主办单位名称"
NATURE = "主办单位性质"
FILING = "网站备案号"
SITE = "网站名称"
HOME = "网站首页网址"
HOME_ALT = "域名"
APPROVED = "审核日期"
USCC_COL = "统一社会信用代码"  # not in the register's table; some exports add it
COLUMNS = (UNIT, NATURE, FILING, SITE, HOME, APPROVED)
REQUIRED = (UNIT, FILING)
# The register's JSON keys -> our columns.
MIIT_KEYS = {"unitName": UNIT, "natureName": NATURE, "serviceLicence": FILING, "domain": HOME,
             "updateRecordTime": APPROVED}
PERSONAL = ("个人",)
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
MAX_RECORDS = 10_000


class RecordError(ValueError):
    """One record of an ICP export cannot be read; `line` says where."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class ICPRecord:
    line: int
    unit: str
    nature: str | None
    filing: str  # the operator's filing: 粤ICP备12345678号
    licence: str  # as written, with the site's number: 粤ICP备12345678号-1
    site_name: str | None
    domains: tuple[str, ...]
    approved: str | None  # ISO date
    uscc: str | None


def normalize_filing(text: str) -> tuple[str, str] | None:
    """(filing, licence as written) of a filing number: 粤ICP备12345678号-1 -> 粤ICP备12345678号."""
    m = ICP_RE.search(str(text or "").strip())
    if not m:
        return None
    written = m.group(0)
    return f"{written[0]}ICP{written[4]}{m.group(1)}号", written.replace(" ", "")


def iso_date(text: str) -> str | None:
    """审核日期 as an ISO date (YYYY-MM-DD); None for an empty cell. ValueError when it is no date."""
    text = str(text or "").strip()
    if not text:
        return None
    m = _DATE.match(text)
    if not m:
        raise ValueError(f"{APPROVED} {text!r} is not a date (YYYY-MM-DD)")
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1990 <= y <= 2100 and 1 <= mo <= 12 and 1 <= d <= 31):
        raise ValueError(f"{APPROVED} {text!r} is not a date (YYYY-MM-DD)")
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _domains(text: str) -> tuple[str, ...]:
    out = []
    for part in re.split(r"[\s,;，；、]+", str(text or "")):
        part = part.strip()
        if not part:
            continue
        host = re.sub(r"^[a-z]+://", "", part, flags=re.I).split("/", 1)[0].split(":", 1)[0]
        try:
            out.append(normalize_domain(host))
        except NormalizeError:
            raise ValueError(f"{HOME} {part!r} is not a domain or site address") from None
    return tuple(dict.fromkeys(out))


def to_record(row: dict[str, Any], line: int) -> ICPRecord:
    """One row (Chinese columns or the register's JSON keys) as a record; RecordError naming the line."""
    if not isinstance(row, dict):
        raise RecordError(line, "a record must be an object with the register's columns")
    cells = {MIIT_KEYS.get(str(k).strip(), str(k).strip()): v for k, v in row.items() if k is not None}
    if HOME not in cells and HOME_ALT in cells:
        cells[HOME] = cells[HOME_ALT]
    missing = [c for c in REQUIRED if not str(cells.get(c) or "").strip()]
    if missing:
        raise RecordError(line, f"no {', '.join(missing)}")
    filing = normalize_filing(str(cells[FILING]))
    if filing is None:
        raise RecordError(line, f"{FILING} {str(cells[FILING])[:60]!r} is not an ICP filing number "
                                "(like 粤ICP备12345678号-1)")
    try:
        domains = _domains(str(cells.get(HOME) or ""))
        approved = iso_date(str(cells.get(APPROVED) or ""))
    except ValueError as exc:
        raise RecordError(line, str(exc)) from None
    uscc = None
    if str(cells.get(USCC_COL) or "").strip():
        try:
            uscc = decode_uscc(str(cells[USCC_COL]).strip()).code
        except USCCError as exc:
            raise RecordError(line, f"{USCC_COL}: {exc}") from None
    nature = str(cells.get(NATURE) or "").strip() or None
    site = str(cells.get(SITE) or "").strip() or None
    return ICPRecord(line, " ".join(str(cells[UNIT]).split()), nature, filing[0], filing[1], site, domains,
                     approved, uscc)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_rows(text: str) -> Iterator[tuple[int, Any]]:
    """(line, row) of every record of a JSON export: a list, {"records": [...]} or the register's shape."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(exc.lineno, f"not JSON: {exc.msg}") from None
    if isinstance(doc, dict):
        rows = doc.get("records")
        if rows is None and isinstance(doc.get("params"), dict):
            rows = doc["params"].get("list")
        key = "records" if "records" in doc else "list"
    else:
        rows, key = doc, None
    if not isinstance(rows, list):
        raise RecordError(1, 'expected a list of records, {"records": [...]} or {"params": {"list": [...]}}')
    # Where each element starts, for messages that name a line: decode the list again element by element.
    start = 0
    if key:
        m = re.search(r'"%s"\s*:\s*\[' % key, text)
        start = m.end() if m else 0
    else:
        start = text.index("[") + 1
    decoder, pos, lines = json.JSONDecoder(), start, []
    for _ in rows:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        lines.append(_line_of(text, pos))
        try:
            _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
    lines += [lines[-1] if lines else 1] * (len(rows) - len(lines))
    yield from zip(lines, rows)


def _csv_rows(text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if header is None:
            header = [f.strip().lstrip("\ufeff") for f in fields]
            if UNIT not in header or FILING not in header:
                raise RecordError(line, f"the header must name the register's columns ({', '.join(COLUMNS)}); "
                                        f"found {', '.join(header)[:120]}")
            continue
        if len(fields) != len(header):
            raise RecordError(line, f"{len(fields)} fields where the header has {len(header)}")
        yield line, dict(zip(header, fields))


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, as exports from Chinese Windows machines often are."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            raise RecordError(1, "neither UTF-8 nor GB18030 text") from None


def read_records(raw: bytes, fmt: str | None = None) -> tuple[str, list[ICPRecord]]:
    """(format, records) of an export or a gateway answer; RecordError on the first bad record."""
    text = decode_text(raw)
    if fmt is None:
        fmt = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    rows = _json_rows(text) if fmt == "json" else _csv_rows(text)
    records = []
    for line, row in rows:
        if len(records) >= MAX_RECORDS:
            raise RecordError(line, f"more than {MAX_RECORDS} records; split the file")
        records.append(to_record(row, line))
    return fmt, records


def records_to_parsed(records: list[ICPRecord], how: str) -> Parsed:
    out = Parsed()
    for r in records:
        filing = icp_filing_id(r.filing)
        if r.uscc:
            filer = company_id(r.uscc)
            out.node(filer, name=r.unit)
        elif r.nature in PERSONAL:
            filer = person_id(r.unit)
        else:
            filer = org_id(r.unit)
            out.node(filer, name=r.unit, entity_kind=r.nature)
        out.node(filing, label=r.filing, nature=r.nature, unit=r.unit)
        out.fact(filing, "icp_filed_by", filer, first_seen=r.approved, nature=r.nature, approved=r.approved,
                 via=how)
        for d in r.domains:
            out.fact(filing, "icp_covers", domain_id(d), first_seen=r.approved, licence=r.licence,
                     site_name=r.site_name, approved=r.approved, via=how)
            out.leads.append(domain_id(d))
        if not filer.startswith("person:"):
            out.leads.append(filer)
    out.leads = sorted(set(out.leads))
    return out


def search_term(node: str) -> str | None:
    kind, _, value = node.partition(":")
    if not value:
        return None
    if kind == "domain":
        return value
    if kind == "icp_filing":
        return value
    if kind == "company":
        return value  # a USCC or a name: the register is searched by either
    if kind == "org" and re.search(r"[\u4e00-\u9fff]", value):
        return value  # only Chinese names can be in the register
    return None


class ICPSource(Source):
    name = "icp"
    description = "ICP filings (备案): the company behind a site, the domains a filing covers"
    consumes = ("domain", "icp_filing", "company", "org")
    produces = ("icp_filing", "company", "org", "person", "domain")
    emits = ("icp_filed_by", "icp_covers")
    needs_key = False
    key_env = None
    default_endpoint = "(none: set sources.icp.endpoint, or `osint import icp FILE`)"
    default_rate = 0.5  # a gateway in front of a CAPTCHA'd register: slowly
    default_burst = 1
    default_concurrency = 1
    default_timeout = 30.0
    default_max_bytes = 2_000_000
    ttl = 30 * 86400.0  # filings change rarely
    version = "1"
    credential_keys = ()

    @property
    def lookup_url(self) -> str | None:
        return self.settings.get("endpoint") or None

    def ready(self) -> str | None:
        if not self.lookup_url:
            return ("no lookup endpoint (sources.icp.endpoint); skipped. Import records exported from "
                    "beian.miit.gov.cn with `osint import icp FILE`")
        return None

    def queries(self, node: str, depth: int) -> list[Query]:
        url = self.lookup_url
        term = search_term(node)
        if not url or term is None:
            return []
        if node.startswith("domain:"):
            from .netcommon import registrable_domain

            term = registrable_domain(term, special_use=True) or term  # filings cover registrable domains
        request = {"url": url, "params": {"search": term}, "headers": {"Accept": "application/json"}}
        return [Query(self.name, f"icp {term}", node, "http", request, url, (), True, depth)]

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        return classify_list(fetched, lambda raw: read_records(raw, "json")[1],
                             "the ICP gateway's answer is not a list of filings")

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if (meta.get("status") or 200) >= 400 or not raw.strip():
            return Parsed()
        try:
            _, records = read_records(raw, meta.get("format") or "json")
        except RecordError as exc:
            raise ParseError(f"icp: cannot read {query.key}: {exc}") from None
        how = "import" if query.transport == "file" else "lookup"
        out = records_to_parsed(records, how)
        out.leads = [n for n in out.leads if n != query.subject]
        return out


__all__ = ["ICPSource", "ICPRecord", "RecordError", "read_records", "records_to_parsed", "normalize_filing",
           "COLUMNS", "USCC_RE"]
