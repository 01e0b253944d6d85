"""Which autonomous system announces an IP, and whose it is, from Team Cymru's IP-to-ASN DNS service."""

from __future__ import annotations

import re
from ipaddress import ip_address, ip_network
from typing import Any

import dns.exception
import dns.message
import dns.rdatatype
from ipwhois.asn import IPASN
from ipwhois.exceptions import ASNParseError, ASNRegistryError

from ..transport.base import Query
from ..vocabulary import asn_id, netblock_id, node_id, org_id, region_id
from .base import Parsed, ParseError
from .dns import cymru_asn_name, cymru_origin_name, dns_query, resolver_endpoint
from .netcommon import AddressSource, OfflineNet, ip_node, reserved_nodes

# An AS name reads "HANDLE Organisation name, CC" or just "HANDLE, CC".
_AS_NAME = re.compile(r"^\s*(?P<handle>[^\s,]+)(?:\s+-\s+|\s+)?(?P<org>.*?)(?:,\s*(?P<cc>[A-Z]{2}))?\s*$")
_PARSER = IPASN(OfflineNet("1.1.1.1"))  # its parsers never look at the address


class ASNSource(AddressSource):
    name = "asn"
    wire = "dns"
    description = "Origin AS, announced prefix and AS name from Team Cymru's DNS interface"
    consumes = ("ip",)
    produces = ("asn", "netblock", "org", "region")
    emits = ("in_netblock", "announced_by", "operated_by", "located_in")
    default_endpoint = "system-resolver"
    default_rate = 10.0
    default_burst = 10
    default_concurrency = 8
    default_timeout = 5.0
    default_retries = 2
    ttl = 86400.0  # routing changes daily; yesterday's origin is still evidence of yesterday
    version = "2"  # 2: "not announced" (NA) answers read

    def address_queries(self, node: str, addr: str, depth: int) -> list[Query]:
        return [dns_query(self.name, node, cymru_origin_name(addr), "TXT", resolver_endpoint(self.settings), depth,
                          key=f"origin {addr}", address=addr)]

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if query.transport == "local":
            return Parsed(nodes=reserved_nodes(raw))
        try:
            msg = dns.message.from_wire(raw)
        except dns.exception.DNSException as exc:
            raise ParseError(f"asn: unreadable answer to {query.key}: {exc}") from exc
        texts = [b"".join(rd.strings).decode("utf-8", "replace")
                 for rrset in msg.answer if rrset.rdtype == dns.rdatatype.TXT for rd in rrset]
        if not texts:
            return Parsed()  # NXDOMAIN: Cymru knows no route for it
        if "asn" in query.request:
            return self._as_name(query, texts)
        return self._origin(query, texts)

    def _origin(self, query: Query, texts: list[str]) -> Parsed:
        out = Parsed()
        addr = query.request["address"]
        ip = ip_address(addr)
        readable = 0
        for text in texts:
            parts = [p.strip() for p in text.split("|")]
            if len(parts) >= 4 and parts[0].upper() == "NA":
                # "NA | NA | CO | lacnic | 2015-01-01": allocated, but no route announces it now.
                readable += 1
                out.node(ip_node(addr), announced=False, allocation_registry=parts[3] or None,
                         allocated=(parts[4] if len(parts) > 4 else "") or None)
                if re.fullmatch(r"[A-Z]{2}", parts[2].upper() if parts[2] else ""):
                    out.fact(ip_node(addr), "located_in", region_id(parts[2].upper()), source_field="allocation")
                continue
            try:
                fields = _PARSER.parse_fields_dns(text)
                prefix = ip_network(fields["asn_cidr"], strict=False)
            except (ASNRegistryError, ASNParseError, ValueError):
                continue
            readable += 1
            block = netblock_id(prefix)
            out.node(block, registry=fields["asn_registry"], allocated=fields["asn_date"] or None)
            if ip in prefix:
                out.fact(ip_node(addr), "in_netblock", block)
            if fields["asn_country_code"]:
                out.fact(block, "located_in", region_id(fields['asn_country_code']))
            for number in fields["asn"].split():  # several origins: a multi-origin (MOAS) prefix
                if not number.isdigit():
                    continue
                asn = asn_id(number)
                out.fact(block, "announced_by", asn)
                out.fact(ip_node(addr), "announced_by", asn)
                key = f"asname AS{number}"
                if key not in {f.key for f in out.followups}:
                    out.followups.append(dns_query(self.name, asn, cymru_asn_name(number), "TXT", query.endpoint,
                                                   query.depth, key=key, asn=f"AS{number}"))
        if not readable:
            raise ParseError(f"asn: no readable Team Cymru record for {addr}: {texts[0][:100]!r}")
        return out

    def _as_name(self, query: Query, texts: list[str]) -> Parsed:
        out = Parsed()
        asn = node_id("asn", query.request["asn"])
        try:
            fields = _PARSER.parse_fields_verbose_dns(texts[0])
        except (ASNRegistryError, ASNParseError) as exc:
            raise ParseError(f"asn: unreadable AS name record for {asn}: {exc}") from exc
        description = fields.get("asn_description") or ""
        m = _AS_NAME.match(description)
        handle = m.group("handle") if m else description
        org_name = (m.group("org").strip() if m else "") or handle
        country = fields.get("asn_country_code") or (m.group("cc") if m else None)
        out.node(asn, as_name=handle, description=description or None, registry=fields.get("asn_registry"),
                 allocated=fields.get("asn_date") or None, country=country)
        if org_name:
            org = org_id(org_name)
            out.fact(asn, "operated_by", org, source="cymru as name")
            if country:
                out.fact(org, "located_in", region_id(country), source="cymru as name")
        return out
