"""Certificate Transparency through crt.sh: every certificate logged for a domain, and the names in it."""

from __future__ import annotations

import json
from typing import Any

from ..case.normalize import NormalizeError, normalize_domain, normalize_ip
from ..common.timefmt import iso_utc_text
from ..transport.base import Fetched, Query
from ..vocabulary import certificate_id, domain_id
from .base import Parsed, ParseError, Source, classify_list
from .netcommon import registrable_domain

CRTSH_URL = "https://crt.sh/"
MAX_CERTIFICATES = 2000

def _serial(value: Any) -> str | None:
    """Lowercase hex without leading zeros, the form the Shodan source writes too, so the two meet."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().removeprefix("0x").lstrip("0") or "0"


def _names(entry: dict[str, Any]) -> dict[str, bool]:
    """Node ids (domains, and IP addresses a certificate names in its SAN) of one entry -> whether it
    is only named by a wildcard."""
    found: dict[str, bool] = {}
    raw = [str(entry.get("common_name") or "")] + str(entry.get("name_value") or "").split("\n")
    for text in raw:
        text = text.strip().lower()
        if not text or "@" in text:  # e-mail SANs (S/MIME) are not host names
            continue
        wildcard = text.startswith("*.")
        try:
            name = "ip:" + normalize_ip(text)
        except NormalizeError:
            try:
                name = "domain:" + normalize_domain(text[2:] if wildcard else text)
            except NormalizeError:
                continue
        found[name] = found.get(name, True) and wildcard
    return found


def read_crtsh(raw: bytes) -> list[dict[str, Any]]:
    doc = json.loads(raw)
    if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
        raise ValueError("not a crt.sh JSON list of certificates")
    return doc


class CTSource(Source):
    name = "ct"
    description = "Certificate Transparency logs via crt.sh: certificates issued for a domain and its subdomains"
    consumes = ("domain", "org")
    produces = ("certificate", "domain", "org")
    emits = ("certificate_names", "certificate_subject")
    needs_key = False
    key_env = None
    default_endpoint = CRTSH_URL
    default_rate = 0.5  # crt.sh is a shared volunteer service that throttles hard
    default_burst = 1
    default_concurrency = 1
    default_timeout = 60.0  # its database queries for big domains are slow
    default_retries = 3
    default_max_bytes = 20_000_000  # popular domains have tens of thousands of entries
    ttl = 3 * 86400.0
    version = "2"  # 2: IP addresses in SANs
    credential_keys = ()

    @property
    def base_url(self) -> str:
        return self.settings.get("url") or self.settings.get("endpoint") or CRTSH_URL

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind == "org" and value:
            return self._org_queries(node, value, depth)
        if kind != "domain" or not value:
            return []
        # One question per registrable domain: %.example.com already covers www.example.com.
        domain = registrable_domain(value, special_use=True)
        if domain is None:
            return []
        request = {"url": self.base_url, "params": {"q": f"%.{domain}", "output": "json"},
                   "headers": {"Accept": "application/json"}}
        return [Query(self.name, f"crtsh %.{domain}", domain_id(domain), "http", request, self.base_url,
                      (), True, depth)]

    def _org_queries(self, node: str, name: str, depth: int) -> list[Query]:
        """crt.sh's search by subject organisation (O=), for organisations named like a case company only:
        a hosting company's certificates say nothing about the suspects, and every search costs crt.sh."""
        from .cnregistry import SIMILARITY_THRESHOLD, name_similarity

        case = self.context.case
        if self.settings.get("search_orgs", True) in (False, "off", "none") or case is None or len(name) > 200:
            return []
        threshold = float(self.settings.get("org_threshold", SIMILARITY_THRESHOLD))
        if not any(name_similarity(name, c.name) >= threshold for c in getattr(case, "companies", [])):
            return []
        request = {"url": self.base_url, "params": {"O": name, "output": "json"},
                   "headers": {"Accept": "application/json"}}
        return [Query(self.name, f"crtsh O={name}", node, "http", request, self.base_url, (), True, depth)]

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        # crt.sh answers its overload with HTML pages and a 200 now and then.
        return classify_list(fetched, read_crtsh, "crt.sh sent no JSON list")

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if (meta.get("status") or 200) >= 400 or not raw.strip():
            return Parsed()
        try:
            entries = read_crtsh(raw)
        except ValueError as exc:
            raise ParseError(f"ct: cannot read the answer to {query.key}: {exc}") from None
        out = Parsed()
        if len(entries) > MAX_CERTIFICATES:
            # Newest first: recent certificates describe the infrastructure as it is.
            entries = sorted(entries, key=lambda e: str(e.get("entry_timestamp") or ""), reverse=True)
            out.node(query.subject, ct_certificates_total=len(entries))
            entries = entries[:MAX_CERTIFICATES]
        by_org = query.subject if query.subject.startswith("org:") else None
        for entry in entries:
            crtsh_id = entry.get("id")
            if not isinstance(crtsh_id, int):
                continue
            cert = certificate_id(f"crtsh-{crtsh_id}")
            not_before, not_after = iso_utc_text(entry.get("not_before")), iso_utc_text(entry.get("not_after"))
            out.node(cert, crtsh_id=crtsh_id, serial=_serial(entry.get("serial_number")),
                     issuer=entry.get("issuer_name"), issuer_ca_id=entry.get("issuer_ca_id"),
                     common_name=entry.get("common_name"), not_before=not_before, not_after=not_after, logged=iso_utc_text(entry.get("entry_timestamp")))
            if by_org:  # crt.sh matched the subject's O: the certificate names the organisation
                out.fact(cert, "certificate_subject", by_org, first_seen=not_before, last_seen=not_after,
                         via=f"crt.sh O={by_org[4:]}")
            for name, wildcard in _names(entry).items():
                out.fact(cert, "certificate_names", name, first_seen=not_before, last_seen=not_after,
                         wildcard=wildcard or None)
                out.leads.append(name)
        out.leads = sorted(set(out.leads) - {query.subject})
        return out
