"""Passive DNS (CIRCL, Mnemonic): what a name resolved to, which names pointed at an IP, and when."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote

from ..case.normalize import NormalizeError, normalize_domain, normalize_ip
from ..common.timefmt import epoch_iso
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import domain_id, ip_id, nameserver_id
from .base import Parsed, ParseError, Source

PROVIDERS = ("circl", "mnemonic")
CIRCL_URL = "https://www.circl.lu/pdns/query/"
MNEMONIC_URL = "https://api.mnemonic.no/pdns/v3/"
MNEMONIC_PAGE = 1000
# Facts kept for one IP that turns out to be shared hosting: enough to show it is shared,
# not so many that a CDN address floods the graph.
SHARED_FACTS_CAP = 1000
CSV_COLUMNS = ("rrname", "rrtype", "rdata", "time_first", "time_last")


@dataclass(frozen=True)
class PdnsRecord:
    """One (rrname, rrtype, rdata) tuple as a passive DNS server saw it, in COF terms."""

    rrname: str
    rrtype: str
    rdata: str
    time_first: float | None = None  # epoch seconds, UTC
    time_last: float | None = None
    count: int | None = None


# -- reading the formats -------------------------------------------------------------------


def parse_time(value: Any) -> float | None:
    """Epoch seconds from COF numbers, epoch strings or ISO 8601 text (exports use either)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (want epoch seconds or ISO 8601)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)  # COF times are UTC by definition
    return dt.timestamp()


def _count(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(float(value))


def _records_from_cof(obj: Any) -> list[PdnsRecord]:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in ("rrname", "rrtype", "rdata") if k not in obj]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    # Servers that give zone-file times instead of sensor times put them in zone_time_*.
    first = obj.get("time_first", obj.get("zone_time_first"))
    last = obj.get("time_last", obj.get("zone_time_last"))
    rdatas = obj["rdata"] if isinstance(obj["rdata"], list) else [obj["rdata"]]
    return [PdnsRecord(str(obj["rrname"]), str(obj["rrtype"]), str(r), parse_time(first), parse_time(last),
                       _count(obj.get("count"))) for r in rdatas]


def read_cof(raw: bytes) -> list[PdnsRecord]:
    """COF NDJSON: one JSON object per line. ValueError names the first bad line."""
    records: list[PdnsRecord] = []
    for lineno, line in enumerate(raw.decode("utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.extend(_records_from_cof(json.loads(line)))
        except (ValueError, TypeError, OverflowError) as exc:  # OverflowError: a count of 1e999
            raise ValueError(f"line {lineno}: {_short(exc)}") from None
    return records


def read_mnemonic(raw: bytes) -> tuple[list[PdnsRecord], int]:
    """Mnemonic's JSON envelope, mapped to COF records; also the total the server says it has."""
    doc = json.loads(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise ValueError("not a Mnemonic passive DNS answer (no data list)")
    records = []
    for i, item in enumerate(doc["data"]):
        try:
            first, last = item.get("firstSeenTimestamp"), item.get("lastSeenTimestamp")
            records.append(PdnsRecord(
                str(item["query"]), str(item["rrtype"]).upper(), str(item["answer"]),
                None if first is None else float(first) / 1000.0,  # Mnemonic counts milliseconds
                None if last is None else float(last) / 1000.0,
                _count(item.get("times")),
            ))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"data[{i}]: {_short(exc)}") from None
    total = doc.get("count")
    known = isinstance(total, (int, float)) and not isinstance(total, bool) and math.isfinite(total)
    return records, int(total) if known else len(records)


def read_csv(raw: bytes) -> list[PdnsRecord]:
    """CSV exports with a header naming at least rrname,rrtype,rdata,time_first,time_last."""
    text = raw.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"line 1: the header lacks {', '.join(missing)} (want {','.join(CSV_COLUMNS)},count)")
    reader.fieldnames = header
    records = []
    for row in reader:
        lineno = reader.line_num
        if None in row:
            raise ValueError(f"line {lineno}: more fields than the header names")
        if not any((v or "").strip() for v in row.values()):
            continue
        try:
            if not row["rrname"] or not row["rrtype"] or row["rdata"] is None:
                raise ValueError("rrname, rrtype and rdata must not be empty")
            records.append(PdnsRecord(row["rrname"].strip(), row["rrtype"].strip(), row["rdata"].strip(),
                                      parse_time(row["time_first"]), parse_time(row["time_last"]),
                                      _count((row.get("count") or "").strip())))
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"line {lineno}: {_short(exc)}") from None
    return records


def read_export(raw: bytes) -> tuple[str, list[PdnsRecord]]:
    """An exported file: COF NDJSON (or a JSON array of COF objects), else CSV."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"[":
        try:
            items = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"line {getattr(exc, 'lineno', 1)}: {_short(exc)}") from None
        records = []
        for i, item in enumerate(items):
            try:
                records.extend(_records_from_cof(item))
            except (ValueError, TypeError, OverflowError) as exc:
                raise ValueError(f"item {i + 1}: {_short(exc)}") from None
        return "cof-json", records
    if head == b"{":
        return "cof", read_cof(raw)
    return "csv", read_csv(raw)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__


# -- records to facts ----------------------------------------------------------------------


def _domain(name: str) -> str | None:
    try:
        return normalize_domain(name.strip().rstrip("."))
    except NormalizeError:
        return None


def _ip(text: str) -> str | None:
    try:
        return normalize_ip(text)
    except NormalizeError:
        return None


def _ptr_ip(name: str) -> str | None:
    """The address a reverse name stands for: 10.2.0.192.in-addr.arpa -> 192.0.2.10."""
    n = name.lower().rstrip(".")
    if n.endswith(".in-addr.arpa"):
        return _ip(".".join(reversed(n[: -len(".in-addr.arpa")].split("."))))
    if n.endswith(".ip6.arpa"):
        nibbles = "".join(reversed(n[: -len(".ip6.arpa")].split(".")))
        if len(nibbles) == 32:
            return _ip(":".join(nibbles[i:i + 4] for i in range(0, 32, 4)))
    return None


def records_to_parsed(records: Iterable[PdnsRecord], *, provider: str, subject: str | None,
                      threshold: int, cap: int = SHARED_FACTS_CAP) -> Parsed:
    """Facts from passive DNS records; IPs behind more than `threshold` names count as shared."""
    out = Parsed()
    addressed: dict[str, list[tuple[PdnsRecord, str]]] = {}  # ip node -> its A/AAAA records
    for rec in records:
        rrtype = rec.rrtype.upper()
        attrs = {"rrtype": rrtype, "count": rec.count, "provider": provider}
        when = {"first_seen": epoch_iso(rec.time_first), "last_seen": epoch_iso(rec.time_last)}
        if rrtype == "PTR":
            ip, target = _ptr_ip(rec.rrname), _domain(rec.rdata)
            if ip and target:
                out.fact(ip_id(ip), "ptr", domain_id(target), **when, **attrs)
                out.leads.append(domain_id(target))
            continue
        name = _domain(rec.rrname)
        if name is None:
            continue
        if rrtype in ("A", "AAAA"):
            ip = _ip(rec.rdata)
            if ip:
                addressed.setdefault(ip_id(ip), []).append((rec, domain_id(name)))
        elif rrtype == "CNAME":
            target = _domain(rec.rdata)
            if target:
                out.fact(domain_id(name), "resolves_to", domain_id(target), **when, **attrs)
                out.leads += [domain_id(name), domain_id(target)]
        elif rrtype == "NS":
            target = _domain(rec.rdata)
            if target:
                out.fact(domain_id(name), "nameserver", nameserver_id(target), **when, **attrs)
                out.leads.append(domain_id(name))
        elif rrtype == "MX":
            pref, _, host = rec.rdata.strip().rpartition(" ")
            target = _domain(host)
            if target:
                out.fact(domain_id(name), "mail_server", domain_id(target), **when, **attrs,
                         preference=int(pref) if pref.strip().isdigit() else None)
                out.leads += [domain_id(name), domain_id(target)]
    for ip_node, recs in addressed.items():
        names = {n for _, n in recs}
        shared = len(names) > threshold
        if shared:
            out.node(ip_node, shared_infrastructure=True, pdns_names_total=len(names))
            # Keep the most recent sightings: they say who shares the address now.
            recs = sorted(recs, key=lambda rn: rn[0].time_last or 0.0, reverse=True)[:cap]
        for rec, name_node in recs:
            out.fact(name_node, "resolves_to", ip_node, first_seen=epoch_iso(rec.time_first),
                     last_seen=epoch_iso(rec.time_last), rrtype=rec.rrtype.upper(), count=rec.count,
                     provider=provider)
            if not shared:
                out.leads += [name_node, ip_node]
    out.leads = sorted({lead for lead in out.leads if lead != subject})
    return out


# -- the source ----------------------------------------------------------------------------


class PassiveDNSSource(Source):
    name = "pdns"
    description = "Passive DNS history (CIRCL, Mnemonic): past resolutions of names and of IPs, with dates"
    consumes = ("domain", "ip")
    produces = ("domain", "ip", "nameserver")
    emits = ("resolves_to", "ptr", "nameserver", "mail_server")
    needs_key = False  # Mnemonic answers without a key; CIRCL is asked only with credentials
    key_env = "CIRCL_PDNS_USER"
    default_endpoint = CIRCL_URL
    default_rate = 1.0
    default_burst = 2
    default_concurrency = 2
    default_timeout = 30.0
    ttl = 7 * 86400.0
    version = "1"
    credential_keys = ("circl_user", "circl_password", "mnemonic_api_key")

    def providers(self) -> list[tuple[str, str]]:
        """(provider, base URL) for each provider that can be asked with the settings we have."""
        wanted = self.settings.get("providers", PROVIDERS)
        creds = self.credentials()
        out = []
        if "circl" in wanted:
            url = self.settings.get("circl_url", CIRCL_URL)
            if url and creds.get("circl_user") and creds.get("circl_password"):
                out.append(("circl", url))
        if "mnemonic" in wanted:
            url = self.settings.get("mnemonic_url", MNEMONIC_URL)
            if url:
                out.append(("mnemonic", url))
        return out

    def ready(self) -> str | None:
        if not self.providers():
            return ("no passive DNS provider to ask (CIRCL needs CIRCL_PDNS_USER and CIRCL_PDNS_PASSWORD, "
                    "Mnemonic is switched off); skipped")
        return None

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind not in self.consumes or not value:
            return []
        out = []
        for provider, base in self.providers():
            url = base.rstrip("/") + "/" + quote(value, safe="")
            if provider == "circl":
                request = {"url": url, "headers": {"Accept": "application/json"}}
                auth: tuple[str, ...] = ("basic", "circl_user", "circl_password")
            else:
                request = {"url": url, "params": {"limit": MNEMONIC_PAGE}, "headers": {"Accept": "application/json"}}
                auth = ("header", "Argus-API-Key", "mnemonic_api_key")
            out.append(Query(self.name, f"{provider} {value}", node, "http", request, base, auth, True, depth))
        return out

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED:
            return fetched
        provider = query.key.split(" ", 1)[0]
        try:
            if provider == "mnemonic":
                records, _ = read_mnemonic(fetched.raw or b"")
            else:
                records = read_cof(fetched.raw or b"")
        except (ValueError, UnicodeError, RecursionError) as exc:
            fetched.outcome = Outcome.BAD_ANSWER
            fetched.error = f"{provider} sent an unreadable passive DNS answer: {_short(exc)}"
            return fetched
        if not records:
            fetched.outcome = Outcome.NO_RECORD
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if (meta.get("status") or 200) >= 400 or not raw.strip():
            return Parsed()  # a 404 or an empty answer: nothing seen, which is itself the finding
        provider = query.key.split(" ", 1)[0]
        total = None
        try:
            if provider == "mnemonic":
                records, total = read_mnemonic(raw)
            elif provider == "import":
                _, records = read_export(raw)
            else:
                records = read_cof(raw)
        except (ValueError, UnicodeError) as exc:
            raise ParseError(f"pdns: cannot read the answer to {query.key}: {_short(exc)}") from None
        parsed = records_to_parsed(records, provider=provider,
                                   subject=query.subject if provider != "import" else None,
                                   threshold=self.context.enrich.shared_infra_threshold)
        kind = query.subject.partition(":")[0]
        # Mnemonic pages its answers: when it holds more names for an IP than we read, the
        # total it reports decides whether the address is shared.
        if kind == "ip" and total is not None and total > len(records) \
                and total > self.context.enrich.shared_infra_threshold:
            parsed.node(query.subject, shared_infrastructure=True, pdns_names_total=total)
            parsed.leads = []
        return parsed
