"""A certificate's subject names its holder: O (with OU, L, ST, C) of an organisation-validated certificate is
the company that proved its identity to the CA. The organisation becomes an `org` node that cn-registry compares
with the case's companies (pinyin and English names, with a score), as it does WHOIS registrants."""

from __future__ import annotations

from typing import Any

from ..vocabulary import org_id, region_id
from .base import Parsed

# What OpenSSL's and the distributions' sample configurations put in O: self-signed test certificates, not
# anyone's name.
PLACEHOLDER_ORGS = {"internet widgits pty ltd", "default company ltd", "acme co", "acme", "company", "org",
                    "organization", "my company", "example", "test", "none", "unknown", "unspecified",
                    "some-organization", "somecompany", "localhost", "self-signed", "dis", "-", "."}
FIELDS = {"O": "organization", "OU": "unit", "L": "locality", "ST": "province", "C": "country"}
_ALIASES = {"organizationName": "O", "organizationalUnitName": "OU", "localityName": "L",
            "stateOrProvinceName": "ST", "countryName": "C", "commonName": "CN"}


def subject_fields(subject: Any) -> dict[str, str]:
    """O, OU, L, ST, C of a subject given as a dict (Shodan) or an RFC 4514 string ('C=CN, O=..., CN=...')."""
    found: dict[str, str] = {}
    if isinstance(subject, dict):
        items = list(subject.items())
    elif isinstance(subject, str):
        items = [part.split("=", 1) for part in _split_dn(subject) if "=" in part]
    else:
        return found
    for key, value in items:
        key = _ALIASES.get(str(key).strip(), str(key).strip())
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if isinstance(v, str))
        if key in FIELDS and isinstance(value, str) and value.strip():
            found[key] = " ".join(value.split())[:200]
    return found


def _split_dn(text: str) -> list[str]:
    parts, cur, escaped = [], "", False
    for ch in text:
        if escaped:
            cur, escaped = cur + ch, False
        elif ch == "\\":
            escaped = True
        elif ch in ",+":
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def subject_org(out: Parsed, cert: str, subject: Any, first_seen: str | None = None,
                last_seen: str | None = None) -> str | None:
    """Add the subject's organisation to `out` (node, `certificate_subject` fact, lead); its node id or None."""
    fields = subject_fields(subject)
    name = fields.get("O")
    if not name:
        return None
    if name.strip().lower() in PLACEHOLDER_ORGS:
        out.node(cert, subject_placeholder_org=name)
        return None
    org = org_id(name)
    out.node(org, name=name)
    out.fact(cert, "certificate_subject", org, first_seen=first_seen, last_seen=last_seen,
             **{FIELDS[k]: v for k, v in fields.items() if k != "O"})
    country = fields.get("C", "").upper()
    if len(country) == 2 and country.isalpha():
        out.fact(org, "located_in", region_id(country), source_field="certificate subject C")
    out.leads.append(org)
    return org
