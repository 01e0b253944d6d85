"""AlienVault OTX passive DNS (keyless): the names an IP served and the addresses a domain had, with dates.

``GET <base>/api/v1/indicators/{IPv4|IPv6|domain}/<value>/passive_dns`` answers ``{"passive_dns": [{"address",
"hostname", "record_type", "first", "last", "asn", "flag_title", ...}], "count": N}``; first/last are UTC
times without a zone ('2023-01-05T12:34:56'). An empty list is "no record".
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..case.normalize import NormalizeError, normalize_domain, normalize_ip
from ..common.timefmt import iso_utc_text
from ..transport.base import Fetched, Query
from ..vocabulary import domain_id, ip_id
from .base import Parsed, ParseError, Source, classify_list
from .netcommon import registrable_domain

OTX_URL = "https://otx.alienvault.com/"
MAX_RECORDS = 2000


def read_otx(raw: bytes) -> list[dict[str, Any]]:
    doc = json.loads(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("passive_dns"), list):
        raise ValueError('not an OTX passive DNS answer (no "passive_dns" list)')
    return [r for r in doc["passive_dns"] if isinstance(r, dict)]


class OTXSource(Source):
    name = "otx"
    description = "AlienVault OTX passive DNS (keyless): co-hosted names of an IP, past addresses of a domain"
    consumes = ("ip", "domain")
    produces = ("domain", "ip")
    emits = ("resolves_to",)
    needs_key = False
    key_env = None
    default_endpoint = OTX_URL
    default_rate = 0.5  # unauthenticated OTX throttles early
    default_burst = 1
    default_concurrency = 1
    default_timeout = 30.0
    default_max_bytes = 10_000_000
    ttl = 3 * 86400.0
    version = "1"
    credential_keys = ()

    @property
    def base_url(self) -> str:
        return (self.settings.get("url") or self.settings.get("endpoint") or OTX_URL).rstrip("/") + "/"

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if not value:
            return []
        if kind == "ip":
            section = "IPv6" if ":" in value else "IPv4"
        elif kind == "domain":
            value = registrable_domain(value, special_use=True) or value
            section = "domain"
        else:
            return []
        url = f"{self.base_url}api/v1/indicators/{section}/{quote(value, safe='')}/passive_dns"
        request = {"url": url, "headers": {"Accept": "application/json"}}
        subject = node if kind == "ip" else domain_id(value)
        return [Query(self.name, f"otx {section} {value}", subject, "http", request, self.base_url, (), True, depth)]

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        return classify_list(fetched, read_otx, "OTX sent no passive DNS")

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if (meta.get("status") or 200) >= 400 or not raw.strip():
            return Parsed()
        try:
            records = read_otx(raw)
        except ValueError as exc:
            raise ParseError(f"otx: cannot read the answer to {query.key}: {exc}") from None
        out = Parsed()
        if len(records) > MAX_RECORDS:
            out.node(query.subject, otx_records_total=len(records))
            records = sorted(records, key=lambda r: str(r.get("last") or ""), reverse=True)[:MAX_RECORDS]
        for r in records:
            rtype = str(r.get("record_type") or "").upper()
            try:
                name = normalize_domain(str(r.get("hostname") or ""))
            except NormalizeError:
                continue
            first, last = iso_utc_text(r.get("first")), iso_utc_text(r.get("last"))
            if rtype in ("A", "AAAA"):
                try:
                    target = ip_id(normalize_ip(str(r.get('address') or '')))
                except NormalizeError:
                    continue
            elif rtype == "CNAME":
                try:
                    target = domain_id(normalize_domain(str(r.get('address') or '')))
                except NormalizeError:
                    continue
            else:
                continue
            out.fact(domain_id(name), "resolves_to", target, first_seen=first, last_seen=last,
                     rrtype=rtype if rtype == "CNAME" else None, provider="otx")
            out.leads += [domain_id(name), target]
        out.leads = sorted(set(out.leads) - {query.subject})
        return out
