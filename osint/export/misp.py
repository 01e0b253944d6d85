"""A MISP event (JSON, {"Event": {...}}) built with the maintained pymisp library, for the CERTs and
police units that share indicators through MISP.

The graph's findings go into MISP's standard objects:
- `domain-ip`: a domain and the addresses it resolved to (first/last seen);
- `passive-dns`: one per resolution or reverse name that passive DNS saw (rrname, rrtype, rdata,
  time_first, time_last, count);
- `whois`: a domain's registrar, registrant, registrant e-mail, name servers and dates;
- `x509`: a certificate by SHA-256 with the names it carries;
- `ip-port`: an open port on an IP (with its ASN and country when the graph has them);
- `url`: a web page and its host.
Every indicator of the graph (IP, domain, name server, e-mail, URL, ASN, certificate) is at least one
attribute: those no object holds are standalone attributes. Each attribute is tagged with the
evidence ids it rests on (`osint:evidence="ev12"`), with `osint:in-case` when the case file names it,
and with `osint:claim` on the indicators whose link to the case is only an allegation. Nothing is
marked for IDS (`to_ids` false): these are investigation leads, often shared hosting.

Uuids are UUIDv5 of what each thing is and the event carries no clock time: the same graph gives the
same bytes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any, Iterable

import networkx as nx

from ..common.files import atomic_write
from ..common.timefmt import utc_text
from ..graph.provenance import as_tuple, cited
from .common import clean_text, one_line, scalar, sorted_edges, sorted_nodes
from .stix import OSINT_NAMESPACE

EVIDENCE_TAG = 'osint:evidence="{}"'
IN_CASE_TAG = "osint:in-case"
CLAIM_TAG = "osint:claim"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ASN = re.compile(r"^AS\d{1,10}$", re.IGNORECASE)
_SERVICE = re.compile(r"^(.+):(\d{1,5})/(tcp|udp)$")
# The standalone attribute type of each indicator kind (MISP's own type names).
ATTRIBUTE_TYPE = {"ip": "ip-dst", "domain": "domain", "nameserver": "hostname", "email": "email",
                  "url": "url", "asn": "AS", "certificate": "x509-fingerprint-sha256"}
# In which object relation each kind's value appears (to count what the objects already hold).
CATEGORY = {"ip": "ip", "domain": "host", "nameserver": "host", "email": "email", "url": "url", "asn": "asn",
            "certificate": "certificate"}
_HOLDS = {"ip-dst": "ip", "ip-src": "ip", "domain": "host", "hostname": "host", "email": "email",
          "email-dst": "email", "whois-registrant-email": "email", "url": "url", "AS": "asn",
          "x509-fingerprint-sha256": "certificate"}


def _uuid(*parts: Any) -> str:
    name = "\x00".join(str(p) for p in ("misp", *parts)).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return str(uuid.uuid5(OSINT_NAMESPACE, name))


def _value(node: Any) -> str:
    text = str(node)
    return one_line(text.partition(":")[2] if ":" in text else text)


def _evidence(*datas: dict[str, Any]) -> list[str]:
    return cited(*(d.get("evidence") for d in datas))


def indicator_value(kind: str, node: Any) -> str | None:
    """The MISP value of an indicator node, or None when its value is not one of its kind."""
    value = _value(node)
    if kind == "ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return None
    if kind in ("domain", "nameserver"):
        return value if value and " " not in value and "@" not in value else None
    if kind == "email":
        return value if re.fullmatch(r"[^@\s]+@[^@\s]+", value) else None
    if kind == "url":
        return value if re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.IGNORECASE) else None
    if kind == "asn":
        return value.upper() if _ASN.match(value) else None
    if kind == "certificate":
        return value.lower() if _SHA256.match(value.lower()) else None
    return None


class _Builder:
    def __init__(self, graph: nx.MultiDiGraph):
        from pymisp import MISPEvent

        self.g = graph
        self.kinds = {n: one_line(d.get("kind") or "") for n, d in graph.nodes(data=True)}
        self.event = MISPEvent()
        self.held: dict[str, set[str]] = {}  # kind -> values some object already carries

    def tags(self, evidence: Iterable[str], *nodes: Any, claim: bool = False) -> list[dict[str, str]]:
        out = [EVIDENCE_TAG.format(e) for e in evidence]
        if any(self.g.nodes[n].get("in_case") is True for n in nodes if n in self.g):
            out.append(IN_CASE_TAG)
        if claim:
            out.append(CLAIM_TAG)
        return [{"name": t} for t in out]

    def obj(self, template: str, key: Any, attrs: list[tuple[str, Any, list[str], tuple[Any, ...]]],
            comment: str | None = None) -> None:
        """One standard object: (relation, value, evidence ids, nodes it names) per attribute."""
        from pymisp import MISPObject

        o = MISPObject(template, standalone=False)
        o.uuid = _uuid("object", template, key)
        if comment:
            o.comment = clean_text(comment)
        for relation, value, evidence, nodes in attrs:
            text = _text(value)
            if text is None:
                continue
            a = o.add_attribute(relation, value=text, uuid=_uuid("attribute", template, key, relation, text),
                                to_ids=False, disable_correlation=False, Tag=self.tags(evidence, *nodes))
            if a is not None and (held := _HOLDS.get(a.type)):
                self.held.setdefault(held, set()).add(text)
        if o.attributes:
            self.event.add_object(o)

    def out_edges(self, node: Any, kind: str) -> list[tuple[Any, dict[str, Any]]]:
        return sorted(((v, d) for _, v, d in self.g.out_edges(node, data=True)
                       if d.get("kind") == kind and d.get("claim") is not True), key=lambda e: str(e[0]))


def _text(value: Any) -> str | None:
    v = scalar(value)
    if v is None:
        return None
    text = one_line(v if isinstance(v, str) else json.dumps(v))
    return text or None


def misp_event(graph: nx.MultiDiGraph):
    """The graph as a pymisp MISPEvent."""
    b = _Builder(graph)
    g, ev = graph, b.event
    case_id = _text(g.graph.get("case_id")) or "case"
    ev.uuid = _uuid("event", case_id)
    ev.info = _text(g.graph.get("title")) or case_id
    incident = utc_text(g.graph.get("incident_time"))
    if incident:
        ev.set_date(incident[:10])
    ev.distribution = 0  # this organisation only: a case file is not for wide sharing
    ev.threat_level_id = 2
    ev.analysis = 1
    ev.published = False
    ev.add_tag(f'osint:case="{case_id}"')

    nodes = sorted_nodes(g)
    kind_of = b.kinds
    # domain-ip and passive-dns, from resolutions (A/AAAA) and reverse names.
    for node in nodes:
        if kind_of[node] != "domain" or not (domain := indicator_value("domain", node)):
            continue
        ips = [(v, d) for v, d in b.out_edges(node, "resolves_to") if indicator_value("ip", v)]
        if ips:
            firsts = sorted(t for _, d in ips if (t := utc_text(d.get("first_seen"))))
            lasts = sorted(t for _, d in ips if (t := utc_text(d.get("last_seen"))))
            attrs = [("domain", domain, _evidence(*(d for _, d in ips)), (node,))]
            attrs += [("ip", indicator_value("ip", v), _evidence(d), (v,)) for v, d in ips]
            if firsts:
                attrs.append(("first-seen", firsts[0], [], ()))
            if lasts:
                attrs.append(("last-seen", lasts[-1], [], ()))
            b.obj("domain-ip", node, attrs)
    for u, v, key, d in sorted_edges(g):
        if d.get("claim") is True or d.get("kind") not in ("resolves_to", "ptr"):
            continue
        if "pdns" not in as_tuple(d.get("sources")):
            continue
        target = indicator_value(kind_of.get(v, ""), v)
        source = indicator_value(kind_of.get(u, ""), u)
        if not target or not source:
            continue
        rrtype = _text(d.get("rrtype")) or ("PTR" if d.get("kind") == "ptr" else "A")
        if d.get("kind") == "ptr":
            rrname = ".".join(reversed(source.split("."))) + ".in-addr.arpa" if ":" not in source else source
        else:
            rrname = source
        evidence = _evidence(d)
        attrs = [("rrname", rrname, evidence, (u,)), ("rrtype", rrtype, [], ()), ("rdata", target, evidence, (v,))]
        for rel, attr in (("time_first", "first_seen"), ("time_last", "last_seen")):
            if t := utc_text(d.get(attr)):
                attrs.append((rel, t, [], ()))
        if isinstance(d.get("count"), int) and not isinstance(d.get("count"), bool):
            attrs.append(("count", d["count"], [], ()))
        b.obj("passive-dns", (u, v, key), attrs)
    # whois: registrar, registrant, e-mail, name servers, dates.
    for node in nodes:
        if kind_of[node] != "domain" or not (domain := indicator_value("domain", node)):
            continue
        data = g.nodes[node]
        attrs: list[tuple[str, Any, list[str], tuple[Any, ...]]] = []
        for v, d in b.out_edges(node, "registered_with"):
            attrs.append(("registrar", g.nodes[v].get("label") or _value(v), _evidence(d), (v,)))
        for v, d in b.out_edges(node, "registrant"):
            rel = "registrant-name" if kind_of.get(v) == "person" else "registrant-org"
            attrs.append((rel, g.nodes[v].get("label") or _value(v), _evidence(d), (v,)))
        for v, d in b.out_edges(node, "uses_email"):
            if str(d.get("role") or "registrant") == "registrant" and (email := indicator_value("email", v)):
                attrs.append(("registrant-email", email, _evidence(d), (v,)))
        for v, d in b.out_edges(node, "nameserver"):
            if ns := indicator_value("nameserver", v):
                attrs.append(("nameserver", ns, _evidence(d), (v,)))
        if not attrs:
            continue
        for rel, attr in (("creation-date", "created"), ("expiration-date", "expires"),
                          ("modification-date", "updated")):
            if t := utc_text(data.get(attr)):
                attrs.append((rel, t, [], ()))
        # A whois object can name one registrar and one registrant of each kind: the first, by name.
        seen: set[str] = set()
        single = {"registrar", "registrant-org", "registrant-name", "registrant-email"}
        kept = []
        for a in attrs:
            if a[0] in single and a[0] in seen:
                continue
            seen.add(a[0])
            kept.append(a)
        evidence = sorted({e for a in kept for e in a[2]}, key=lambda e: int(e[2:]))
        b.obj("whois", node, [("domain", domain, evidence, (node,))] + kept)
    # x509: a certificate and the names it carries.
    for node in nodes:
        if kind_of[node] != "certificate":
            continue
        data = g.nodes[node]
        sha = indicator_value("certificate", node)
        if not sha and not _text(data.get("serial")):
            continue  # neither a fingerprint nor a serial number: nothing MISP can key it by
        names = [(v, d) for v, d in b.out_edges(node, "certificate_names") if indicator_value("domain", v)]
        served = [d for _, _, d in g.in_edges(node, data=True) if d.get("kind") == "serves_certificate"]
        evidence = _evidence(*served, *(d for _, d in names))
        attrs = [("x509-fingerprint-sha256", sha, evidence, (node,))] if sha else [
            ("text", f"CT log entry {_value(node)}", evidence, (node,))]
        attrs += [("dns_names", indicator_value("domain", v), _evidence(d), (v,)) for v, d in names]
        for rel, attr in (("validity-not-before", "not_before"), ("validity-not-after", "not_after"),
                          ("issuer", "issuer"), ("subject", "subject"), ("serial-number", "serial")):
            value = utc_text(data.get(attr)) if rel.startswith("validity") else _text(data.get(attr))
            if value:
                attrs.append((rel, value, [], ()))
        b.obj("x509", node, attrs)
    # ip-port: each open port of an IP.
    for node in nodes:
        if kind_of[node] != "ip" or not (ip := indicator_value("ip", node)):
            continue
        asns = [(v, d) for v, d in b.out_edges(node, "announced_by") if indicator_value("asn", v)]
        countries = [(v, d) for v, d in b.out_edges(node, "located_in") if re.fullmatch(r"[A-Z]{2}", _value(v))]
        for svc, d in b.out_edges(node, "has_service"):
            m = _SERVICE.match(_value(svc))
            if not m or int(m.group(2)) > 65535:
                continue
            attrs = [("ip", ip, _evidence(d), (node,)), ("dst-port", int(m.group(2)), _evidence(d), (svc,)),
                     ("protocol", m.group(3), [], ())]
            attrs += [("AS", indicator_value("asn", v), _evidence(a), (v,)) for v, a in asns]
            attrs += [("country-code", _value(v), _evidence(c), (v,)) for v, c in countries[:1]]
            if t := utc_text(d.get("first_seen")):
                attrs.append(("first-seen", t, [], ()))
            if t := utc_text(d.get("last_seen")):
                attrs.append(("last-seen", t, [], ()))
            b.obj("ip-port", svc, attrs)
    # url: a page and its host.
    for node in nodes:
        if kind_of[node] != "url" or not (url := indicator_value("url", node)):
            continue
        hosts = [(v, d) for v, d in b.out_edges(node, "hosted_on") if indicator_value("domain", v)]
        mentions = [d for _, _, d in g.out_edges(node, data=True) if d.get("claim") is not True]
        attrs = [("url", url, _evidence(*mentions), (node,))]
        attrs += [("host", indicator_value("domain", v), _evidence(d), (v,)) for v, d in hosts[:1]]
        b.obj("url", node, attrs)
    # Every other indicator: a standalone attribute, tagged with the evidence of its edges.
    for node in nodes:
        kind = kind_of[node]
        value = indicator_value(kind, node) if kind in ATTRIBUTE_TYPE else None
        if value is None or value in b.held.get(CATEGORY[kind], set()):
            continue
        edges = [d for _, _, d in g.in_edges(node, data=True)] + [d for _, _, d in g.out_edges(node, data=True)]
        evidence = _evidence(*(d for d in edges if d.get("claim") is not True))
        claim = any(d.get("claim") is True for d in edges) and not evidence
        comment = _text(g.nodes[node].get("case_label") or g.nodes[node].get("note"))
        ev.add_attribute(ATTRIBUTE_TYPE[kind], value, uuid=_uuid("attribute", node), to_ids=False,
                             Tag=b.tags(evidence, node, claim=claim), **({"comment": comment} if comment else {}))
        b.held.setdefault(CATEGORY[kind], set()).add(value)
    return ev


def misp_event_text(graph: nx.MultiDiGraph) -> str:
    """The event as MISP's JSON ({"Event": {...}}), sorted keys, one stable order."""
    event = json.loads(misp_event(graph).to_json(sort_keys=True))
    return json.dumps({"Event": event}, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def export_misp(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> list[Path]:
    """Write the graph as a MISP event to `path`, atomically. Returns the file written."""
    text = misp_event_text(graph)
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return [Path(path)]
