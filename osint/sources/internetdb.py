"""Shodan's keyless InternetDB: the open ports, host names, CPEs, tags and CVEs Shodan last saw on an IP.

``GET https://internetdb.shodan.io/<ip>`` answers ``{"ip", "ports": [int], "hostnames": [str], "cpes": [str],
"tags": [str], "vulns": [str]}``, or 404 ``{"detail": "No information available"}``. Updated weekly, free for
non-commercial use, no key; the host names are the co-hosted names that make it a pivot.
"""

from __future__ import annotations

import json
from typing import Any

from ..case.normalize import NormalizeError, normalize_domain, normalize_ip
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import domain_id, ip_id, service_id
from .base import Parsed, ParseError, Source

INTERNETDB_URL = "https://internetdb.shodan.io/"
MAX_HOSTNAMES = 1000
MAX_ITEMS = 200


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value if isinstance(v, str)][:MAX_ITEMS] if isinstance(value, list) else []


class InternetDBSource(Source):
    name = "internetdb"
    description = "Shodan InternetDB (keyless): open ports, host names, CPEs and CVEs of an IP"
    consumes = ("ip",)
    produces = ("service", "domain")
    emits = ("has_service", "ptr")
    needs_key = False
    key_env = None
    default_endpoint = INTERNETDB_URL
    default_rate = 1.0
    default_burst = 2
    default_concurrency = 2
    default_timeout = 20.0
    default_max_bytes = 2_000_000
    ttl = 7 * 86400.0  # the database is rebuilt weekly
    version = "1"
    credential_keys = ()

    @property
    def base_url(self) -> str:
        return (self.settings.get("url") or self.settings.get("endpoint") or INTERNETDB_URL).rstrip("/") + "/"

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind != "ip" or not value:
            return []
        request = {"url": f"{self.base_url}{value}", "headers": {"Accept": "application/json"}}
        return [Query(self.name, f"internetdb {value}", node, "http", request, self.base_url, (), True, depth)]

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED:
            return fetched
        try:
            doc = json.loads(fetched.raw or b"")
        except (ValueError, UnicodeError, RecursionError) as exc:
            fetched.outcome, fetched.error = Outcome.BAD_ANSWER, f"InternetDB sent no JSON: {str(exc)[:200]}"
            return fetched
        if not isinstance(doc, dict) or not isinstance(doc.get("ports", []), list):
            fetched.outcome, fetched.error = Outcome.BAD_ANSWER, "InternetDB sent JSON that is not a host record"
        elif "ip" not in doc and "detail" in doc:
            fetched.outcome = Outcome.NO_RECORD
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if (meta.get("status") or 200) >= 400 or not raw.strip():
            return Parsed()  # 404 {"detail": "No information available"}
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise ParseError(f"internetdb: the answer to {query.key} is not a host record")
        if "ip" not in doc:
            return Parsed()
        try:
            ip = normalize_ip(str(doc["ip"]))
        except NormalizeError:
            raise ParseError(f"internetdb: {str(doc['ip'])[:60]!r} is not an IP address") from None
        out = Parsed()
        ipn = ip_id(ip)
        ports = sorted({p for p in doc.get("ports") or [] if isinstance(p, int) and 0 < p < 65536})
        out.node(ipn, internetdb_ports=ports, cpes=_strings(doc.get("cpes")), tags=_strings(doc.get("tags")),
                 vulns=sorted(_strings(doc.get("vulns"))))
        for port in ports[:MAX_ITEMS]:
            svc = service_id(ip, port, "tcp")
            out.node(svc, port=port, transport="tcp")
            out.fact(ipn, "has_service", svc)
        given = doc.get("hostnames") if isinstance(doc.get("hostnames"), list) else []
        hostnames = [str(v) for v in given if isinstance(v, str)][:MAX_HOSTNAMES]
        if len(given) > MAX_HOSTNAMES:
            out.node(ipn, internetdb_hostnames_total=len(given))
        for name in hostnames:
            try:
                d = normalize_domain(name)
            except NormalizeError:
                continue
            # Names Shodan saw on this IP (reverse DNS, certificates, HTTP Host): co-hosted, not proven PTR.
            out.fact(ipn, "ptr", domain_id(d), source_field="hostnames", pivot=f"internetdb {ip}")
            out.leads.append(domain_id(d))
        out.leads = sorted(set(out.leads))
        return out
