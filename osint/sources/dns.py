"""DNS: what a domain resolves to, who serves its mail and zone, what its SPF/DMARC/CAA say, and PTRs."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename
from ipwhois.net import IPV4_DNS_ZONE, IPV6_DNS_ZONE

from ..transport.base import Query
from ..transport.dns import system_nameservers
from ..vocabulary import domain_id, nameserver_id, netblock_id, org_id
from .base import Parsed, ParseError, Source
from .netcommon import (
    canonical_network,
    domain_name,
    domain_node,
    email_node,
    ip_node,
    is_apex,
    is_hostname,
    network_reserved,
    reserved_range,
)

NO_RESOLVER = "system-resolver:none"  # the transport answers UNREACHABLE for it
DOMAIN_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "CAA")
WWW_TYPES = ("A", "AAAA", "CNAME")
HOST_TYPES = ("A", "AAAA")
MAX_RECORDS = 200  # per answer; past this an answer is someone's wildcard or a DoS, not evidence
MAX_TXT_KEPT = 20


def resolver_endpoint(settings) -> str:
    """The server to ask: the `nameservers` option (first one), else the system's, else none."""
    servers = settings.get("nameservers") or system_nameservers()
    if isinstance(servers, str):
        servers = [servers]
    return servers[0] if servers else NO_RESOLVER


def dns_query(source: str, node: str, qname: str, rdtype: str, endpoint: str, depth: int,
              key: str | None = None, **extra: Any) -> Query:
    return Query(source, key or f"{rdtype} {qname}", node, "dns", {"qname": qname, "rdtype": rdtype, **extra},
                 endpoint, depth=depth)


# --- Team Cymru's IP-to-ASN names, for the asn source -------------------------------------------


def cymru_origin_name(addr: str) -> str:
    """'100.64.1.10' -> '10.1.64.100.origin.asn.cymru.com' (ipwhois's zone names, dnspython's reversal)."""
    ip = ip_address(addr)
    rev = dns.reversename.from_address(str(ip))
    if ip.version == 4:
        return IPV4_DNS_ZONE.format(rev.relativize(dns.reversename.ipv4_reverse_domain).to_text()).rstrip(".")
    return IPV6_DNS_ZONE.format(rev.relativize(dns.reversename.ipv6_reverse_domain).to_text()).rstrip(".")


def cymru_asn_name(asn: int | str) -> str:
    """64500 or 'AS64500' -> 'AS64500.asn.cymru.com'."""
    return f"AS{str(asn).upper().removeprefix('AS')}.asn.cymru.com"


# --- the source -----------------------------------------------------------------------------------


class DNSSource(Source):
    name = "dns"
    wire = "dns"
    description = "DNS records (A/AAAA/CNAME/MX/NS/TXT/SOA/CAA, SPF, DMARC, PTR) from a resolver"
    consumes = ("domain", "nameserver", "ip")
    produces = ("domain", "ip", "netblock", "nameserver", "email", "org")
    emits = ("resolves_to", "ptr", "nameserver", "mail_server", "spf_includes", "spf_allows", "dmarc_reports_to",
             "caa_issuer")
    default_endpoint = "system-resolver"
    default_rate = 20.0
    default_burst = 20
    default_concurrency = 16
    default_timeout = 5.0
    default_retries = 2
    ttl = 86400.0  # DNS changes; a day-old answer is still good evidence of what was
    version = "1"

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        server = resolver_endpoint(self.settings)
        if kind == "ip":
            addr = str(ip_address(value))
            rev = dns.reversename.from_address(addr).to_text(omit_final_dot=True)
            return [dns_query(self.name, node, rev, "PTR", server, depth, key=f"PTR {addr}")]
        name = domain_name(value)
        if not is_hostname(name):
            return []  # a name DNS cannot carry (from a sloppy record somewhere upstream)
        if kind == "nameserver":
            return [dns_query(self.name, node, name, t, server, depth) for t in HOST_TYPES]
        if kind != "domain":
            return []
        out = [dns_query(self.name, node, name, t, server, depth) for t in DOMAIN_TYPES]
        out.append(dns_query(self.name, node, f"_dmarc.{name}", "TXT", server, depth))
        if is_apex(name):
            out += [dns_query(self.name, node, f"www.{name}", t, server, depth) for t in WWW_TYPES]
        return out

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        try:
            msg = dns.message.from_wire(raw)
        except dns.exception.DNSException as exc:
            raise ParseError(f"dns: unreadable answer to {query.key}: {exc}") from exc
        out = Parsed()
        qname = dns.name.from_text(query.request["qname"])
        if msg.rcode() == dns.rcode.NXDOMAIN and not msg.answer:
            # Only the name we were asked about is worth marking; _dmarc or www misses are routine.
            if query.subject == domain_node(qname.to_text()):
                out.node(query.subject, dns_nxdomain=True)
            return out
        # Accept only records on the question's name or its CNAME chain: anything else in the
        # answer section is the server's say-so about names nobody asked it about.
        chain = {qname}
        for _ in msg.answer:  # the chain may be listed in any order
            grown = chain | {r[0].target for r in msg.answer if r.rdtype == dns.rdatatype.CNAME and r.name in chain}
            if grown == chain:
                break
            chain = grown
        rrsets = [r for r in msg.answer if r.name in chain]
        total = sum(len(r) for r in rrsets)
        cap = int(self.settings.get("max_records", MAX_RECORDS))
        if total > cap:
            owner = query.subject if query.subject.startswith("ip:") else domain_node(qname.to_text())
            out.node(owner, truncated_records=total)
        seen = 0
        for rrset in rrsets:
            for rdata in rrset:
                if seen >= cap:
                    return out
                seen += 1
                self._record(out, query, rrset.name, rrset.rdtype, rdata)
        return out

    # -- one record ----------------------------------------------------------------------------------

    def _record(self, out: Parsed, query: Query, owner: dns.name.Name, rdtype: int, rdata: Any) -> None:
        name = domain_name(owner.to_text())
        dom = domain_id(name)
        if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            _address(out, dom, rdata.address, rrtype=dns.rdatatype.to_text(rdtype))
        elif rdtype == dns.rdatatype.CNAME:
            if name.endswith((".in-addr.arpa", ".ip6.arpa")):
                return  # reverse-zone plumbing, not a host name anyone uses
            target = domain_node(rdata.target.to_text())
            out.fact(dom, "resolves_to", target, rrtype="CNAME")
            out.leads.append(target)
        elif rdtype == dns.rdatatype.MX:
            if rdata.exchange == dns.name.root:
                out.node(dom, null_mx=True)  # RFC 7505: this domain takes no mail
                return
            target = domain_node(rdata.exchange.to_text())
            out.fact(dom, "mail_server", target, preference=rdata.preference)
            out.leads.append(target)
        elif rdtype == dns.rdatatype.NS:
            target = nameserver_id(domain_name(rdata.target.to_text()))
            out.fact(dom, "nameserver", target)
            out.leads.append(target)
        elif rdtype == dns.rdatatype.PTR:
            # The PTR may sit behind a CNAME (RFC 2317 classless delegation): it is about the asked IP.
            subject = query.subject if query.subject.startswith("ip:") else None
            if subject is None:
                try:
                    subject = ip_node(dns.reversename.to_address(owner))
                except (dns.exception.DNSException, ValueError):
                    return
            target = domain_node(rdata.target.to_text())
            out.fact(subject, "ptr", target)
            out.leads.append(target)
        elif rdtype == dns.rdatatype.SOA:
            # The RNAME is usually the DNS host's hostmaster: kept on the node, not chased as a lead.
            out.node(dom, soa_mname=domain_name(rdata.mname.to_text()), soa_rname=_rname_email(rdata.rname),
                     soa_serial=rdata.serial)
        elif rdtype == dns.rdatatype.CAA:
            tag = rdata.tag.decode("ascii", "replace").lower()
            value = rdata.value.decode("utf-8", "replace").split(";")[0].strip()
            if tag in ("issue", "issuewild") and value:
                out.fact(dom, "caa_issuer", org_id(value.lower()), tag=tag)
            elif tag == "iodef" and value:
                out.node(dom, caa_iodef=value)
        elif rdtype == dns.rdatatype.TXT:
            text = b"".join(rdata.strings).decode("utf-8", "replace")
            if name.startswith("_dmarc."):
                _dmarc(out, domain_id(name.removeprefix('_dmarc.')), text)
                return
            kept = out.nodes.get(dom, {}).get("txt", [])
            if len(kept) < MAX_TXT_KEPT:  # site-verification tokens tie domains to one owner
                out.node(dom, txt=[*kept, text[:500]])
            if text.lower().startswith("v=spf1"):
                _spf(out, dom, text)


def _address(out: Parsed, subject: str, addr: str, **attrs: Any) -> None:
    target = ip_node(addr)
    out.fact(subject, "resolves_to", target, **attrs)
    reserved = reserved_range(addr)
    if reserved:
        out.node(target, private_address=True, reserved_range=reserved)
    else:
        out.leads.append(target)


def _rname_email(rname: dns.name.Name) -> str:
    """'hostmaster.example.com.' -> 'hostmaster@example.com' (the first unescaped dot is the @)."""
    labels = [label.decode("ascii", "replace") for label in rname.labels if label]
    return f"{labels[0]}@{'.'.join(labels[1:]).lower()}" if len(labels) > 1 else ".".join(labels)


def _spf(out: Parsed, subject: str, text: str) -> None:
    """Read SPF's mechanisms roughly: who may send mail for `subject` (RFC 7208, no macros)."""
    for term in text.split()[1:]:
        qualifier = "+"
        if term[:1] in "+-~?":
            qualifier, term = term[0], term[1:]
        if qualifier == "-":
            continue  # a "fail" mechanism names who may NOT send
        if "=" in term.split(":")[0]:
            modifier, _, value = term.partition("=")
            if modifier.lower() == "redirect" and value and "%" not in value:
                _spf_domain(out, subject, "spf_includes", value, "redirect")
            continue
        mech, _, value = term.partition(":")
        mech = mech.split("/")[0].lower()
        value = value.strip()
        if mech in ("ip4", "ip6") and value:
            _spf_address(out, subject, value, mech, qualifier)
        elif mech == "include" and value and "%" not in value:
            _spf_domain(out, subject, "spf_includes", value, mech, qualifier)
        elif mech in ("a", "mx") and value and "%" not in value:
            # Contract extension: spf_allows domain->domain when the mechanism names a host.
            _spf_domain(out, subject, "spf_allows", value.split("/")[0], mech, qualifier)


def _spf_domain(out: Parsed, subject: str, relation: str, value: str, mech: str, qualifier: str = "+") -> None:
    if not is_hostname(value):
        return
    target = domain_node(value)
    out.fact(subject, relation, target, mechanism=mech, qualifier=None if qualifier == "+" else qualifier)
    out.leads.append(target)


def _spf_address(out: Parsed, subject: str, value: str, mech: str, qualifier: str) -> None:
    try:
        net = canonical_network(value)
    except ValueError:
        return
    single = net.prefixlen == net.max_prefixlen
    target = ip_node(str(net.network_address)) if single else netblock_id(net)
    out.fact(subject, "spf_allows", target, mechanism=mech, qualifier=None if qualifier == "+" else qualifier)
    reserved = network_reserved(str(net))
    if reserved:
        out.node(target, private_address=True, reserved_range=reserved)
    elif single:
        out.leads.append(target)


def _dmarc(out: Parsed, subject: str, text: str) -> None:
    if not text.lower().startswith("v=dmarc1"):
        return
    tags = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = value.strip()
    out.node(subject, dmarc_policy=tags.get("p", "").lower() or None)
    for tag in ("rua", "ruf"):
        for uri in tags.get(tag, "").split(","):
            uri = uri.strip()
            if not uri.lower().startswith("mailto:"):
                continue
            target = email_node(uri[7:].split("!")[0])  # "!10m" is a size limit, not the address
            if target:
                out.fact(subject, "dmarc_reports_to", target, tag=tag)
                out.leads.append(target)
