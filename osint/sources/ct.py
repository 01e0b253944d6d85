"""Certificate Transparency through crt.sh: every certificate logged for a domain, and the names in it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ..case.normalize import NormalizeError, normalize_domain
from ..store import Outcome
from ..transport.base import Fetched, Query
from .base import Parsed, ParseError, Source

CRTSH_URL = "https://crt.sh/"
MAX_CERTIFICATES = 2000

# Public suffixes under which the registrable domain has three labels. Not the whole Public
# Suffix List: the ones this casework meets (Chinese, Hong Kong, and the common others).
_SECOND_LEVEL = {
    "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn", "ah.cn", "bj.cn", "gd.cn", "sh.cn",
    "sz.cn", "zj.cn", "js.cn", "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk", "idv.hk",
    "com.tw", "net.tw", "org.tw", "idv.tw", "com.sg", "com.my", "co.jp", "ne.jp", "or.jp",
    "co.kr", "or.kr", "co.uk", "org.uk", "me.uk", "ltd.uk", "com.au", "net.au", "org.au",
    "co.nz", "com.br", "com.ru", "com.ua", "co.in", "co.id", "com.ph", "com.vn", "co.th", "in.th",
    "com.tr", "com.mx", "com.ar", "co.za", "com.mo",
}


def registrable_domain(name: str) -> str:
    """example.com for www.api.example.com; example.com.cn for www.example.com.cn."""
    labels = name.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _iso(text: Any) -> str | None:
    """crt.sh writes naive UTC times ('2019-12-07T00:00:00')."""
    if not isinstance(text, str) or not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _serial(value: Any) -> str | None:
    """Lowercase hex without leading zeros, the form the Shodan source writes too, so the two meet."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().removeprefix("0x").lstrip("0") or "0"


def _names(entry: dict[str, Any]) -> dict[str, bool]:
    """Domain names of one entry -> whether it is only named by a wildcard."""
    found: dict[str, bool] = {}
    raw = [str(entry.get("common_name") or "")] + str(entry.get("name_value") or "").split("\n")
    for text in raw:
        text = text.strip().lower()
        if not text or "@" in text:  # e-mail SANs (S/MIME) are not host names
            continue
        wildcard = text.startswith("*.")
        try:
            name = normalize_domain(text[2:] if wildcard else text)
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
    consumes = ("domain",)
    produces = ("certificate", "domain")
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
    version = "1"
    credential_keys = ()

    @property
    def base_url(self) -> str:
        return self.settings.get("url") or self.settings.get("endpoint") or CRTSH_URL

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind != "domain" or not value:
            return []
        # One question per registrable domain: %.example.com already covers www.example.com.
        domain = registrable_domain(value)
        request = {"url": self.base_url, "params": {"q": f"%.{domain}", "output": "json"},
                   "headers": {"Accept": "application/json"}}
        return [Query(self.name, f"crtsh %.{domain}", f"domain:{domain}", "http", request, self.base_url,
                      (), True, depth)]

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED:
            return fetched
        try:
            entries = read_crtsh(fetched.raw or b"")
        except (ValueError, UnicodeError, RecursionError) as exc:
            # crt.sh answers its overload with HTML pages and a 200 now and then.
            fetched.outcome = Outcome.BAD_ANSWER
            fetched.error = f"crt.sh sent no JSON list: {str(exc)[:200]}"
            return fetched
        if not entries:
            fetched.outcome = Outcome.NO_RECORD
        return fetched

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
        for entry in entries:
            crtsh_id = entry.get("id")
            if not isinstance(crtsh_id, int):
                continue
            cert = f"certificate:crtsh-{crtsh_id}"
            not_before, not_after = _iso(entry.get("not_before")), _iso(entry.get("not_after"))
            out.node(cert, crtsh_id=crtsh_id, serial=_serial(entry.get("serial_number")),
                     issuer=entry.get("issuer_name"), issuer_ca_id=entry.get("issuer_ca_id"),
                     common_name=entry.get("common_name"), not_before=not_before, not_after=not_after, logged=_iso(entry.get("entry_timestamp")))
            for name, wildcard in _names(entry).items():
                out.fact(cert, "certificate_names", f"domain:{name}", first_seen=not_before, last_seen=not_after,
                         wildcard=wildcard or None)
                out.leads.append(f"domain:{name}")
        out.leads = sorted(set(out.leads) - {query.subject})
        return out
