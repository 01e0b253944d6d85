"""Who holds the records, and what to ask them for: the hand-off from findings to preservation and
data requests.

Every record holder comes from the graph's evidence or from the case file, never from a list of
known companies:
- the hosting / network operator of each case IP: the RDAP registrant of its netblock, the holder of
  the ASN announcing it (Team Cymru's AS name), the organisation Shodan names; with the abuse and
  NOC contacts and the country the registries give;
- the registrar of each case domain (WHOIS/RDAP), with its abuse contact;
- the certificate authority that issued a certificate naming a case domain (certificate issuer);
- the exchange of the incident and the law-enforcement links the case file cites for it;
- the platform of each account the case file lists (Telegram, X, YouTube, Google Play...).
Each holder carries the identifiers concerned, the time window (the incident, and the spans when each
identifier was tied to the case: passive DNS, captures, certificates, registration), what to ask for,
and the evidence ids (or case-file sections) each item rests on. Holders are ordered by how much of
the case their records bear on: the number of case items (identifiers, the incident) they cover.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

import networkx as nx

from ..case.model import Case
from ..common.timefmt import utc_text
from ..facts import split_node_id
from ..graph.provenance import cited
from ..vocabulary import brand_id, incident_id
from .model import Ask, Contact, Country, Handoff, Holder, Identifier, Reference

ROLE_ORDER = ("exchange", "hosting", "registrar", "ca", "platform")
PLATFORM_NAMES = {"x": "X (Twitter)", "telegram": "Telegram", "youtube": "YouTube", "google_play": "Google Play",
                  "app_store": "Apple App Store", "github": "GitHub", "discord": "Discord", "facebook": "Facebook",
                  "instagram": "Instagram", "binance_square": "Binance Square"}
# What to ask each kind of holder for (message keys; the words are in osint/handoff/i18n.py).
ASKS = {
    "hosting": ("subscriber", "payment", "access_logs", "ip_assignment", "abuse_reports"),
    "registrar": ("registrant_account", "payment", "account_logins", "dns_changes"),
    "ca": ("certificate_orders", "validation_records", "payment"),
    "exchange": ("api_key_records", "api_key_usage", "counterparty_accounts", "broker_links"),
    "platform": ("account_registration", "account_logins", "payment"),
}
_ISSUER_O = re.compile(r"(?:^|,\s*)O=([^,]+)")
_ISSUER_C = re.compile(r"(?:^|,\s*)C=([A-Za-z]{2})\b")




def _observed(g: nx.MultiDiGraph, u: str, v: str, d: dict[str, Any]) -> bool:
    return d.get("claim") is not True and bool(cited(d.get("evidence")))


def _out(g: nx.MultiDiGraph, node: str, relation: str) -> list[tuple[str, dict[str, Any]]]:
    if node not in g:
        return []
    return sorted(((v, d) for _, v, d in g.out_edges(node, data=True)
                   if d.get("kind") == relation and _observed(g, node, v, d)), key=lambda e: e[0])


def _label(g: nx.MultiDiGraph, node: str) -> str:
    label = g.nodes[node].get("label") if node in g else None
    return str(label) if label else split_node_id(node)[1]


class _Collector:
    def __init__(self, g: nx.MultiDiGraph):
        self.g = g
        self.holders: dict[str, Holder] = {}

    def holder(self, key: str, name: str, role: str) -> Holder:
        if key not in self.holders:
            self.holders[key] = Holder(key=key, name=name, role=role)
        return self.holders[key]

    def identifier(self, h: Holder, ident: Identifier, how: str, evidence: Iterable[str]) -> None:
        for existing in h.identifiers:
            if existing.node == ident.node:
                existing.how = sorted(set(existing.how) | {how})
                existing.evidence = cited(existing.evidence, evidence)
                return
        ident.how = [how]
        ident.evidence = cited(ident.evidence, evidence)
        h.identifiers.append(ident)

    def contact(self, h: Holder, value: str, role: str, evidence: Iterable[str]) -> None:
        for c in h.contacts:
            if c.value == value and c.role == role:
                c.evidence = cited(c.evidence, evidence)
                return
        h.contacts.append(Contact(value=value, role=role, evidence=cited(evidence)))

    def country(self, h: Holder, code: str, basis: str, evidence: Iterable[str]) -> None:
        code = code.upper()
        for c in h.countries:
            if c.code == code and c.basis == basis:
                c.evidence = cited(c.evidence, evidence)
                return
        h.countries.append(Country(code=code, basis=basis, evidence=cited(evidence)))

    def org_details(self, h: Holder, org: str) -> None:
        """Countries and contacts the evidence gives for an organisation itself."""
        for region, d in _out(self.g, org, "located_in"):
            kind, code = split_node_id(region)
            if len(code) == 2:
                self.country(h, code, "holder", cited(d.get("evidence")))
        for email, d in _out(self.g, org, "uses_email"):
            self.contact(h, split_node_id(email)[1], str(d.get("role") or "contact"), cited(d.get("evidence")))


def _span(g: nx.MultiDiGraph, node: str) -> tuple[str | None, str | None]:
    """When the evidence ties an identifier to the world: the first/last seen of its observed edges
    (passive DNS, captures, certificates), and a domain's registration date."""
    firsts, lasts = [], []
    edges = list(g.in_edges(node, data=True)) + list(g.out_edges(node, data=True))
    for u, v, d in edges:
        if not _observed(g, u, v, d):
            continue
        if t := utc_text(d.get("first_seen")):
            firsts.append(t)
        if t := utc_text(d.get("last_seen"), end=True):
            lasts.append(t)
    data = g.nodes[node] if node in g else {}
    if t := utc_text(data.get("created")):
        firsts.append(t)
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


def _ident(g: nx.MultiDiGraph, node: str) -> Identifier:
    kind, value = split_node_id(node)
    data = g.nodes[node]
    first, last = _span(g, node)
    src = data.get("source")
    return Identifier(node=node, kind=kind, value=_label(g, node), in_case=data.get("in_case") is True,
                      first_seen=first, last_seen=last, case_sources=[str(src)] if src and data.get("in_case") else [])


def case_ips(g: nx.MultiDiGraph) -> list[str]:
    """The case's IPs: those the case file names, and those its domains resolved to."""
    ips = {n for n, d in g.nodes(data=True) if d.get("kind") == "ip" and d.get("in_case") is True}
    for dom in case_domains(g):
        ips |= {v for v, _ in _out(g, dom, "resolves_to") if v.startswith("ip:")}
    return sorted(ips)


def case_domains(g: nx.MultiDiGraph) -> list[str]:
    return sorted(n for n, d in g.nodes(data=True) if d.get("kind") == "domain" and d.get("in_case") is True)


def _hosting(c: _Collector) -> None:
    g = c.g
    for ip in case_ips(g):
        operators: list[tuple[str, str, list[str], list[str], str | None]] = []  # org, how, ev, netblocks, asn
        for block, d_in in _out(g, ip, "in_netblock"):
            for org, d_op in _out(g, block, "operated_by"):
                operators.append((org, "netblock_registrant", cited(d_in.get("evidence"), d_op.get("evidence")),
                                  [block], None))
        for asn, d_as in _out(g, ip, "announced_by"):
            for org, d_op in _out(g, asn, "operated_by"):
                if "asn" in (d_op.get("sources") or ()):
                    operators.append((org, "asn_holder", cited(d_as.get("evidence"), d_op.get("evidence")), [], asn))
        for org, d_op in _out(g, ip, "operated_by"):
            operators.append((org, "shodan_operator", cited(d_op.get("evidence")), [], None))
        for org, how, evidence, blocks, asn in operators:
            if not org.startswith("org:") and not org.startswith("company:"):
                continue
            h = c.holder(org, _label(g, org), "hosting")
            c.identifier(h, _ident(g, ip), how, evidence)
            for block in blocks:
                c.identifier(h, _ident(g, block), how, evidence)
                for email, d in _out(g, block, "abuse_contact"):
                    c.contact(h, split_node_id(email)[1], "abuse", cited(d.get("evidence")))
                for region, d in _out(g, block, "located_in"):
                    code = split_node_id(region)[1]
                    if len(code) == 2:
                        c.country(h, code, "registry", cited(d.get("evidence")))
            if asn:
                c.identifier(h, _ident(g, asn), how, evidence)
            c.org_details(h, org)


def _registrars(c: _Collector) -> None:
    g = c.g
    for dom in case_domains(g):
        for reg, d in _out(g, dom, "registered_with"):
            h = c.holder(reg, _label(g, reg), "registrar")
            c.identifier(h, _ident(g, dom), "registrar", cited(d.get("evidence")))
            for email, da in _out(g, reg, "abuse_contact"):
                c.contact(h, split_node_id(email)[1], "abuse", cited(da.get("evidence")))
            c.org_details(h, reg)


def _authorities(c: _Collector) -> None:
    g = c.g
    domains = case_domains(g)
    names = {split_node_id(d)[1] for d in domains}
    for cert, data in sorted(g.nodes(data=True)):
        if data.get("kind") != "certificate" or not isinstance(data.get("issuer"), str):
            continue
        named = [(v, d) for v, d in _out(g, cert, "certificate_names")
                 if split_node_id(v)[1] in names or any(split_node_id(v)[1].endswith("." + n) for n in names)]
        if not named:
            continue
        m = _ISSUER_O.search(data["issuer"])
        if not m:
            continue
        name = m.group(1).strip()
        h = c.holder(f"ca:{name}", name, "ca")
        evidence = cited(*(d.get("evidence") for _, d in named))
        ident = _ident(g, cert)
        sha = split_node_id(cert)[1]
        if re.fullmatch(r"[0-9a-f]{64}", sha):
            ident.value = f"SHA-256 {sha}"
        elif data.get("serial"):
            ident.value = f"serial {data['serial']}"
        if data.get("not_before"):
            ident.first_seen = utc_text(data["not_before"])
        if data.get("not_after"):
            ident.last_seen = utc_text(data["not_after"], end=True)
        c.identifier(h, ident, "certificate_issuer", evidence)
        for v, d in named:  # the certificate's validity is the window here, not the name's whole history
            named_ident = _ident(g, v)
            named_ident.first_seen = named_ident.last_seen = None
            c.identifier(h, named_ident, "certificate_name", cited(d.get("evidence")))
        if cm := _ISSUER_C.search(data["issuer"]):
            c.country(h, cm.group(1), "certificate_issuer", evidence)


def _exchange(c: _Collector, case: Case, g: nx.MultiDiGraph) -> None:
    inc = case.incident
    name = inc.exchange if inc is not None else None
    if not name:
        return
    h = c.holder(f"exchange:{name}", name, "exchange")
    if inc.source:
        h.case_sources.append(str(inc.source))
    node = incident_id(inc.id)
    when = utc_text(inc.time.isoformat()) if inc.time else None
    h.identifiers.append(Identifier(node=node, kind="incident", value=" ".join(
        x for x in (name, inc.kind, when or inc.period) if x), in_case=True, first_seen=when,
        last_seen=when, how=["incident"], case_sources=[str(inc.source)] if inc.source else []))
    low = name.lower()
    for ref in case.references:
        # Only the links the case file gives for law-enforcement requests (a portal, Kodex), not
        # every page of the exchange it cites.
        text = f"{ref.label} {ref.url}".lower()
        if any(w in text for w in ("执法", "law enforcement", "law-enforcement", "kodex")):
            h.references.append(Reference(label=ref.label, url=ref.url, source=ref.source))
            h.case_sources.append(str(ref.source))
    for brand in case.brands:
        broker = brand.broker
        if broker and low in str(broker.exchange).lower():
            h.case_sources.append(str(broker.source))
            h.identifiers.append(Identifier(node=brand_id(brand.id), kind="brand", value=brand.name, in_case=True,
                                            how=["broker"], case_sources=[str(broker.source)]))


def _platforms(c: _Collector, case: Case, g: nx.MultiDiGraph) -> None:
    exchange = ((case.incident.exchange if case.incident else None) or "").lower()
    for brand in case.brands:
        for acc in brand.accounts:
            platform = str(getattr(acc.platform, "value", acc.platform))
            name = PLATFORM_NAMES.get(platform, platform)
            if exchange and exchange in platform.lower():
                h = c.holder(f"exchange:{case.incident.exchange}", case.incident.exchange, "exchange")
            else:
                h = c.holder(f"platform:{platform}", name, "platform")
            node = acc.node_id
            ident = _ident(g, node) if node in g else Identifier(node=node, kind="account", value=acc.display,
                                                                 in_case=True)
            ident.value = str(acc.url or acc.display)
            ident.case_sources = [str(acc.source)]
            c.identifier(h, ident, "case_account", [])
            h.case_sources.append(str(acc.source))


def _finish(h: Holder, incident: str | None) -> None:
    firsts = [i.first_seen for i in h.identifiers if i.first_seen]
    lasts = [i.last_seen for i in h.identifiers if i.last_seen]
    if incident:
        firsts.append(incident)
        lasts.append(incident)
    h.window_start = min(firsts) if firsts else None
    h.window_end = max(lasts) if lasts else None
    h.identifiers.sort(key=lambda i: (not i.in_case, i.kind, i.node))
    h.contacts.sort(key=lambda x: (x.role != "abuse", x.role, x.value))
    h.countries.sort(key=lambda x: (x.basis, x.code))
    h.evidence = cited(*(i.evidence for i in h.identifiers), *(x.evidence for x in h.contacts),
                       *(x.evidence for x in h.countries))
    h.case_sources = sorted(set(h.case_sources) | {s for i in h.identifiers for s in i.case_sources})
    # Case items: what the case file names (the incident, its IPs, domains, accounts) and the IPs its
    # domains resolved to.
    h.coverage = sum(1 for i in h.identifiers if i.in_case or i.kind == "ip")
    for key in ASKS[h.role]:
        if key == "broker_links" and not any(i.kind == "brand" for i in h.identifiers):
            continue
        if key == "abuse_reports" and not h.contacts:
            continue
        h.asks.append(Ask(key=key, evidence=list(h.evidence), case_sources=list(h.case_sources)))


def record_holders(case: Case, g: nx.MultiDiGraph) -> Handoff:
    """Every record holder the evidence (and the case file) names, with what to ask each."""
    c = _Collector(g)
    inc = case.incident
    incident = utc_text(inc.time.isoformat()) if inc is not None and inc.time else None
    _exchange(c, case, g)
    _hosting(c)
    _registrars(c)
    _authorities(c)
    _platforms(c, case, g)
    holders = [h for h in c.holders.values() if h.identifiers]
    for h in holders:
        _finish(h, incident)
    holders.sort(key=lambda h: (-h.coverage, ROLE_ORDER.index(h.role), h.name))
    return Handoff(case_id=case.id, title=case.title, incident_time=incident,
                   incident_source=str(inc.source) if inc is not None and inc.source else None,
                   exchange=inc.exchange if inc is not None else None, holders=holders)
