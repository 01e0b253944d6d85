"""Shodan host data: the services an IP exposed, with their certificates and SSH keys."""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
from datetime import datetime
from typing import Any, Iterator

from shodan.helpers import get_ip

from ..case.normalize import NormalizeError, normalize_domain, normalize_ip
from ..common.timefmt import ISO_UTC, iso_utc_text
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import asn_id, certificate_id, domain_id, favicon_id, ip_id, org_id, region_id, service_id, sshkey_id
from .certsubject import subject_org
from .fingerprints import DEFAULT_FAVICONS

SEARCH_PIVOTS = ("favicon", "certificate", "page_title")
MAX_SEARCH_MATCHES = 100  # one page of results
from .base import Parsed, ParseError, Source

SHODAN_URL = "https://api.shodan.io"
SAN_OID = b"\x06\x03\x55\x1d\x11"  # 2.5.29.17 subjectAltName, DER-encoded
MAX_VULNS = 500


# -- certificates, without a crypto library --------------------------------------------------


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("DER element runs past the end")
    return tag, pos, pos + length


def san_dns_names(general_names: bytes) -> list[str]:
    """dNSName entries of a DER GeneralNames sequence (the subjectAltName extension's value)."""
    tag, start, end = _tlv(general_names, 0)
    if tag != 0x30:
        raise ValueError("subjectAltName is not a SEQUENCE")
    names, pos = [], start
    while pos < end:
        tag, vstart, vend = _tlv(general_names, pos)
        if tag == 0x82:  # [2] IA5String dNSName
            names.append(general_names[vstart:vend].decode("ascii", "replace"))
        pos = vend
    return names


def san_from_der_certificate(der: bytes) -> list[str]:
    """SAN dNSNames of a DER certificate: find the extension by its OID, read its OCTET STRING."""
    at = der.find(SAN_OID)
    if at < 0:
        return []
    pos = at + len(SAN_OID)
    tag, start, end = _tlv(der, pos)
    if tag == 0x01:  # the optional `critical` BOOLEAN
        tag, start, end = _tlv(der, end)
    if tag != 0x04:
        return []
    return san_dns_names(der[start:end])


def _shodan_bytes(text: str) -> bytes:
    # Shodan writes extension values as Python byte-string escapes ("0\\x81\\x9b\\x82...").
    return codecs.escape_decode(text.encode("latin-1", "backslashreplace"))[0]


def certificate_names(ssl: dict[str, Any]) -> list[str]:
    """Subject CN and SAN names of the served (leaf) certificate, as written."""
    cert = ssl.get("cert") or {}
    names = []
    cn = (cert.get("subject") or {}).get("CN")
    if isinstance(cn, str):
        names.append(cn)
    sans: list[str] = []
    for ext in cert.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "subjectAltName" and isinstance(ext.get("data"), str):
            try:
                sans = san_dns_names(_shodan_bytes(ext["data"]))
            except (ValueError, IndexError):
                sans = []
    if not sans and ssl.get("chain"):
        try:  # no decoded extension: read the leaf of the chain itself
            pem = ssl["chain"][0]
            body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
            sans = san_from_der_certificate(base64.b64decode(body))
        except (ValueError, IndexError, binascii.Error):
            sans = []
    return names + sans


def _dn(parts: Any) -> str | None:
    if isinstance(parts, dict):
        return ", ".join(f"{k}={v}" for k, v in parts.items() if isinstance(v, str)) or None
    return parts if isinstance(parts, str) else None


def _asn1_time(text: Any) -> str | None:
    """'20230112000000Z' (Shodan's notAfter form) -> '2023-01-12T00:00:00Z'."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").strftime(ISO_UTC)
    except ValueError:
        return None


def ssh_sha256(key_b64: Any) -> str | None:
    """The OpenSSH-style SHA256 fingerprint of a base64 public key blob."""
    if not isinstance(key_b64, str):
        return None
    try:
        blob = base64.b64decode(key_b64, validate=False)
    except (ValueError, binascii.Error):
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _domain(name: Any) -> tuple[str, bool] | None:
    if not isinstance(name, str):
        return None
    wildcard = name.startswith("*.")
    try:
        return normalize_domain(name[2:] if wildcard else name), wildcard
    except NormalizeError:
        return None


def _banners(host: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for banner in host.get("data") or []:
        if isinstance(banner, dict) and isinstance(banner.get("port"), int):
            yield banner


def _vulns(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str)]
    return []


# -- the source ----------------------------------------------------------------------------


class ShodanSource(Source):
    name = "shodan"
    description = "Shodan host data: open services, TLS certificates, SSH keys, operator and location of an IP"
    consumes = ("ip", "favicon", "certificate", "page_title")  # the last three: search pivots
    produces = ("service", "certificate", "sshkey", "domain", "org", "asn", "region", "favicon", "ip")
    emits = ("ptr", "announced_by", "operated_by", "located_in", "has_service", "serves_certificate",
             "certificate_names", "certificate_subject", "serves_ssh_key", "has_favicon")
    needs_key = True
    key_env = "SHODAN_API_KEY"
    default_endpoint = SHODAN_URL
    default_rate = 1.0  # Shodan's documented limit for the host API
    default_burst = 1
    default_concurrency = 1
    default_timeout = 30.0
    ttl = 7 * 86400.0
    version = "1"
    credential_keys = ("api_key",)

    @property
    def base_url(self) -> str:
        return (self.settings.get("url") or self.settings.get("endpoint") or SHODAN_URL).rstrip("/")

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind in SEARCH_PIVOTS and value:
            return self._search_queries(node, kind, value, depth)
        if kind != "ip" or not value:
            return []
        # The key is added on the wire by the transport (auth), never written into `request`.
        request = {"url": f"{self.base_url}/shodan/host/{value}", "headers": {"Accept": "application/json"}}
        return [Query(self.name, f"host {value}", node, "http", request, self.base_url,
                      ("param", "key", "api_key"), True, depth)]

    def credit_cost(self, query: Query) -> int:
        """Query credits a question spends (`credits = N` caps the team's): a search one, a host lookup none."""
        return 1 if query.key.startswith("search ") else 0

    def check_queries(self) -> list[Query]:
        """For `osint sources --check`: the key's own account call, which costs no query credit."""
        request = {"url": f"{self.base_url}/api-info", "headers": {"Accept": "application/json"}}
        return [Query(self.name, "api-info", "check:shodan", "http", request, self.base_url,
                      ("param", "key", "api_key"), True, 0)]
    def _search_queries(self, node: str, kind: str, value: str, depth: int) -> list[Query]:
        """Shodan search by what an operator reuses: the favicon hash, the certificate, the page title.

        Each search spends query credits, so only specific pivots are asked (`search = false` turns them off)."""
        if self.settings.get("search", True) in (False, "off", "none"):
            return []
        if kind == "favicon" and re.fullmatch(r"-?\d{1,10}", value) and int(value) not in DEFAULT_FAVICONS:
            q = f"http.favicon.hash:{value}"
        elif kind == "certificate" and re.fullmatch(r"[0-9a-f]{64}", value):
            q = f"ssl.cert.fingerprint:{value}"
        elif kind == "page_title" and len(value) >= 8 and '"' not in value:
            q = f'http.title:"{value}"'
        else:
            return []
        request = {"url": f"{self.base_url}/shodan/host/search", "params": {"query": q},
                   "headers": {"Accept": "application/json"}}
        return [Query(self.name, f"search {q}", node, "http", request, self.base_url,
                      ("param", "key", "api_key"), True, depth)]

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        status = fetched.meta.get("status")
        if fetched.outcome is Outcome.REFUSED and status == 401:
            fetched.error = "Shodan rejected the API key (401); check SHODAN_API_KEY"
        elif fetched.outcome is Outcome.REFUSED and status == 403:
            reason = _error_text(fetched.raw) or "check the plan of the key"
            fetched.error = f"Shodan refused the request (403): {reason}"
        elif fetched.outcome is Outcome.ANSWERED:
            try:
                doc = json.loads(fetched.raw or b"")
            except (ValueError, UnicodeError, RecursionError) as exc:
                fetched.outcome, fetched.error = Outcome.BAD_ANSWER, f"Shodan sent no JSON: {exc}"
                return fetched
            if not isinstance(doc, dict):
                fetched.outcome, fetched.error = Outcome.BAD_ANSWER, "Shodan sent JSON that is not a host record"
            elif query.key.startswith("search ") and "error" not in doc:
                if not isinstance(doc.get("matches"), list):
                    fetched.outcome, fetched.error = Outcome.BAD_ANSWER, "Shodan sent no search matches"
                elif not doc["matches"]:
                    fetched.outcome = Outcome.NO_RECORD
            elif "error" in doc and "ip_str" not in doc:
                text = str(doc["error"])[:300]
                if "no information" in text.lower():
                    fetched.outcome, fetched.error = Outcome.NO_RECORD, None
                else:
                    fetched.outcome, fetched.error = Outcome.ERROR, f"Shodan: {text}"
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if (meta.get("status") or 200) >= 400 or not raw.strip():
            return Parsed()  # 404 "No information available for that IP."
        host = json.loads(raw)
        if query.key.startswith("search "):
            return self._parse_search(query, host)
        if not isinstance(host, dict):
            raise ParseError(f"shodan: the answer to {query.key} is not a host record")
        if "error" in host and "ip_str" not in host:
            return Parsed()
        out = Parsed()
        ip = normalize_ip(get_ip(host) if ("ip_str" in host or "ipv6" in host) else query.subject.partition(":")[2])
        ipn = ip_id(ip)
        seen = iso_utc_text(host.get("last_update"))

        vulns = set(_vulns(host.get("vulns")))
        for b in _banners(host):
            vulns.update(_vulns(b.get("vulns")))
            vulns.update(_vulns((b.get("opts") or {}).get("vulns")))
        out.node(ipn, shodan_last_update=seen, vulns=sorted(vulns)[:MAX_VULNS],
                 tags=sorted(str(t) for t in host.get("tags") or []), os=host.get("os"),
                 ports=sorted({p for p in host.get("ports") or [] if isinstance(p, int)}),
                 city=host.get("city"), country=host.get("country_name"))

        # Shodan's `hostnames` come from reverse DNS; its `domains` are only their parents.
        for name in host.get("hostnames") or []:
            d = _domain(name)
            if d:
                out.fact(ipn, "ptr", domain_id(d[0]), last_seen=seen, source_field="hostnames")
                out.leads.append(domain_id(d[0]))
        if isinstance(host.get("asn"), str) and host["asn"].upper().startswith("AS"):
            asn = asn_id(host['asn'][2:])
            out.fact(ipn, "announced_by", asn, last_seen=seen)
            if host.get("isp"):
                out.fact(asn, "operated_by", org_id(host['isp']), last_seen=seen, source_field="isp")
        if host.get("org"):
            out.fact(ipn, "operated_by", org_id(host['org']), last_seen=seen, source_field="org")
        if isinstance(host.get("country_code"), str) and len(host["country_code"]) == 2:
            region = region_id(host['country_code'].upper())
            out.fact(ipn, "located_in", region, last_seen=seen)
            out.node(region, name=host.get("country_name"))

        certs_done: set[str] = set()  # one certificate often sits on several ports
        for banner in _banners(host):
            self._service(out, ipn, ip, banner, certs_done)
        out.leads = sorted(set(out.leads))
        return out

    def _parse_search(self, query: Query, doc: Any) -> Parsed:
        """Every banner a search matched: its IP and service, as a host answer would give them; the IPs are
        leads found by the pivot (the question's subject), unless so many share it that it says nothing."""
        if not isinstance(doc, dict) or not isinstance(doc.get("matches"), list):
            raise ParseError(f"shodan: the answer to {query.key} is not a search result")
        out = Parsed()
        total = doc.get("total") if isinstance(doc.get("total"), int) else len(doc["matches"])
        shared = total > self.context.enrich.shared_infra_threshold
        out.node(query.subject, shodan_search_total=total, shared_infrastructure=True if shared else None)
        certs_done: set[str] = set()
        for banner in doc["matches"][:MAX_SEARCH_MATCHES]:
            if not isinstance(banner, dict) or not isinstance(banner.get("port"), int):
                continue
            try:
                ip = normalize_ip(get_ip(banner))
            except (NormalizeError, KeyError, ValueError, TypeError):
                continue
            ipn = ip_id(ip)
            self._service(out, ipn, ip, banner, certs_done)
            out.node(ipn, found_by=query.key.removeprefix("search "))
            if not shared:
                out.leads.append(ipn)
        # The banners' own pivots (names, icons, certificates) wait until the new IPs are asked about.
        out.leads = sorted({n for n in out.leads if n.startswith("ip:")})
        return out

    def _service(self, out: Parsed, ipn: str, ip: str, b: dict[str, Any], certs_done: set[str]) -> None:
        transport = b.get("transport") if b.get("transport") in ("tcp", "udp") else "tcp"
        svc = service_id(ip, b['port'], transport)
        when = iso_utc_text(b.get("timestamp"))
        http = b.get("http") if isinstance(b.get("http"), dict) else {}
        favicon = http.get("favicon") if isinstance(http.get("favicon"), dict) else {}
        out.node(svc, port=b["port"], transport=transport, product=b.get("product"), version=b.get("version"),
                 module=(b.get("_shodan") or {}).get("module"), http_title=http.get("title"),
                 http_server=http.get("server"), http_host=http.get("host"),
                 favicon_hash=favicon.get("hash"), cpe=[c for c in b.get("cpe23") or b.get("cpe") or []
                                                       if isinstance(c, str)][:20],
                 last_seen=when)
        out.fact(ipn, "has_service", svc, last_seen=when)
        h = favicon.get("hash")
        if isinstance(h, int) and not isinstance(h, bool):
            if h in DEFAULT_FAVICONS:
                out.node(ipn, favicon_mmh3=h, favicon_default=DEFAULT_FAVICONS[h])
            else:  # the icon as Shodan hashed it: the same node the web source makes from the bytes
                out.node(favicon_id(h), label=f"favicon {h}", mmh3=h)
                out.fact(ipn, "has_favicon", favicon_id(h), last_seen=when, url=favicon.get("location"))
                out.leads.append(favicon_id(h))

        if isinstance(b.get("ssl"), dict):
            self._certificate(out, svc, b["ssl"], when, certs_done)
        ssh = b.get("ssh") if isinstance(b.get("ssh"), dict) else None
        if ssh and isinstance(ssh.get("fingerprint"), str):
            kn = sshkey_id(ssh['fingerprint'].lower())
            out.fact(svc, "serves_ssh_key", kn, last_seen=when)
            out.node(kn, key_type=ssh.get("type"), sha256=ssh_sha256(ssh.get("key")), hassh=ssh.get("hassh"))

    def _certificate(self, out: Parsed, svc: str, ssl: dict[str, Any], when: str | None,
                     certs_done: set[str]) -> None:
        cert = ssl.get("cert") or {}
        sha = ((cert.get("fingerprint") or {}).get("sha256") or "").lower()
        if not sha:
            return
        cn = certificate_id(sha)
        out.fact(svc, "serves_certificate", cn, last_seen=when)
        if cn in certs_done:
            return
        certs_done.add(cn)
        serial = cert.get("serial")
        not_before, not_after = _asn1_time(cert.get("issued")), _asn1_time(cert.get("expires"))
        out.node(cn, subject=_dn(cert.get("subject")), issuer=_dn(cert.get("issuer")),
                 not_before=not_before, not_after=not_after,
                 sha1=(cert.get("fingerprint") or {}).get("sha1"), sig_alg=cert.get("sig_alg"),
                 # Shodan gives big serials as floats, which lose digits: keep exact ones only.
                 serial=format(serial, "x") if isinstance(serial, int) else None,
                 expired=cert.get("expired"))
        subject_org(out, cn, cert.get("subject"), not_before, not_after)
        out.leads.append(cn)  # a pivot: who else serves this certificate
        names: dict[str, bool] = {}
        for raw_name in certificate_names(ssl):
            d = _domain(raw_name)
            if d:
                names[d[0]] = names.get(d[0], True) and d[1]  # wildcard only if never named exactly
        for name, wildcard in names.items():
            out.fact(cn, "certificate_names", domain_id(name), first_seen=not_before, last_seen=not_after,
                     wildcard=wildcard or None)
            out.leads.append(domain_id(name))


def _error_text(raw: bytes | None) -> str | None:
    try:
        doc = json.loads(raw or b"")
    except (ValueError, UnicodeError, RecursionError):
        return None
    return str(doc.get("error"))[:200] if isinstance(doc, dict) and doc.get("error") else None
