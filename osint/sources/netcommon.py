"""What the network sources agree on: node ids, registrable domains and reserved address ranges."""

from __future__ import annotations

import ipaddress
import json
import re
from ipaddress import ip_address, ip_network

import whois as pywhois
from ipwhois.exceptions import HTTPLookupError
from ipwhois.net import Net
from ipwhois.utils import ipv4_is_defined, ipv6_is_defined

from ..case.normalize import NormalizeError, canonical_host, normalize_email
from ..transport.base import Query
from ..vocabulary import domain_id, email_id, ip_id
from .base import Source

# RFC 6761 / RFC 2606 and friends: names no registry will ever hold.
SPECIAL_USE_TLDS = frozenset({"test", "example", "invalid", "localhost", "local", "onion", "arpa", "internal",
                              "home", "lan", "corp"})
_DOC6 = ip_network("2001:db8::/32")
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\.[a-z0-9-]{2,63}$", re.I)


# --- node ids ---------------------------------------------------------------------------------


def ip_node(text: str) -> str:
    return ip_id(ip_address(text.strip()))


def domain_name(text: str) -> str:
    """The canonical host name (lowercase A-labels, no trailing dot): the case file's form too."""
    return canonical_host(text)


def domain_node(text: str) -> str:
    return domain_id(domain_name(text))


def is_hostname(text: str) -> bool:
    """True when DNS can carry it as a name (no empty, over-long or blank-holding labels)."""
    name = domain_name(text)
    if not name or len(name) > 253 or any(c.isspace() for c in name):
        return False
    return all(0 < len(label) <= 63 for label in name.split("."))


def email_node(text: str) -> str | None:
    """'Dmarc@Example.NET' -> 'email:dmarc@example.net' (as the case file writes it); None when it
    is not an address."""
    text = text.strip().strip("<>").rstrip(".,;")
    try:
        return email_id(normalize_email(text))  # the case file's canonical form, Unicode domains included
    except NormalizeError:
        pass
    if not _EMAIL.match(text):
        return None
    local, _, host = text.rpartition("@")
    return email_id(f"{local.lower()}@{canonical_host(host)}")


# --- names as registries see them --------------------------------------------------------------


def registrable_domain(name: str, *, special_use: bool = False) -> str | None:
    """The name a registry holds ('www.example.co.uk' -> 'example.co.uk'), by python-whois's suffix list.

    Returns None for bare suffixes, and for special-use names (.test, .example, ...) unless
    `special_use`: no registry can answer about them, though DNS may.
    """
    name = domain_name(name)
    labels = name.split(".")
    if not is_hostname(name) or len(labels) < 2 or (labels[-1] in SPECIAL_USE_TLDS and not special_use):
        return None
    found = pywhois.extract_domain(name)
    if "." not in found:  # a TLD the suffix list does not know: assume one label under it
        found = ".".join(labels[-2:])
    return found if name == found or name.endswith("." + found) else None


def is_apex(name: str) -> bool:
    """True for apex names ('example.com', 'lab.test'), False for hosts under them ('www.example.com')."""
    return registrable_domain(name, special_use=True) == domain_name(name)




def reserved_range(addr: str) -> str | None:
    """The name of the reserved range holding `addr` ('TEST-NET-1 (RFC 5737)'), or None if public.

    Uses ipwhois's own table, so that whatever we call reserved is exactly what ipwhois refuses to
    look up. 100.64.0.0/10 (shared address space) is not in it, which is why the lab uses it.
    """
    ip = ip_address(addr)
    if ip.version == 6 and ip in _DOC6:
        return "Documentation (RFC 3849)"  # ipwhois files it under "Unique Local Unicast"
    defined = ipv4_is_defined(str(ip)) if ip.version == 4 else ipv6_is_defined(str(ip))
    return f"{defined[1]} ({defined[2]})" if defined[0] else None


def network_reserved(cidr: str) -> str | None:
    return reserved_range(str(ip_network(cidr, strict=False).network_address))


def reserved_query(source: str, node: str, addr: str, depth: int) -> Query:
    """A question answered locally, so that a reserved address still gets its evidence on record."""
    return Query(source, f"reserved {addr}", node, "local", {"address": addr}, "local", depth=depth)


def reserved_answer(query: Query) -> bytes:
    addr = query.request["address"]
    name = reserved_range(addr)
    if name is None:
        raise ValueError(f"{addr} is not in a reserved range")
    return json.dumps({"address": addr, "reserved_range": name}, sort_keys=True).encode()


def reserved_nodes(raw: bytes) -> dict[str, dict]:
    d = json.loads(raw)
    return {ip_node(d["address"]): {"private_address": True, "reserved_range": d["reserved_range"]}}


# --- ipwhois without its network ---------------------------------------------------------------


class OfflineNet(Net):
    """An ipwhois Net that can only parse: no resolver, no HTTP, no rate-limit sleeps.

    ipwhois's parsers need a Net; the real one builds a DNS resolver from /etc/resolv.conf (which
    fails on hosts without one) and would fetch missing entities itself, sleeping 120 s on 429.
    """

    def __init__(self, address: str):  # noqa: D107 - Net.__init__ is skipped on purpose
        self.address = ip_address(address)
        self.address_str = str(self.address)
        self.version = self.address.version
        self.timeout = 0
        self.dns_resolver = None
        self.opener = None

    def get_http_json(self, *args, **kwargs):  # pragma: no cover - only reached on a misuse
        raise HTTPLookupError("offline parser: no lookups")

    def get_asn_dns(self, *args, **kwargs):  # pragma: no cover
        raise HTTPLookupError("offline parser: no lookups")


def canonical_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ip_network(text.strip(), strict=False)


class AddressSource(Source):
    """A source that asks about IP addresses. Reserved ranges are recorded as such, never asked."""

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind != "ip":
            return []
        addr = str(ip_address(value))
        if reserved_range(addr):
            # Nobody's registry or routing table holds it; say so on record instead of asking.
            return [reserved_query(self.name, node, addr, depth)]
        return self.address_queries(node, addr, depth)

    def address_queries(self, node: str, addr: str, depth: int) -> list[Query]:
        """The questions about one public address."""
        raise NotImplementedError

    def local_answer(self, query: Query) -> bytes:
        return reserved_answer(query)
