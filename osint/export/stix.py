"""STIX 2.1 for threat-intelligence platforms (OpenCTI, MISP's STIX import, a CERT's TIP), written
with the maintained `stix2` library.

- indicators become cyber observables: ipv4-addr/ipv6-addr (netblocks too, as CIDR values),
  domain-name (host names and name servers), email-addr, url, autonomous-system, x509-certificate
  (by SHA-256), network-traffic (an open port: dst_ref, dst_port, protocols), user-account;
- companies, organisations, registrars, brands and people become `identity` objects, regions
  `location`, the theft an `incident`;
- every edge is a `relationship` (relation names hyphenated, `resolves_to` -> `resolves-to`) with
  our confidence x 100 as STIX confidence, first/last seen as start/stop time, and each evidence id
  as an external reference (source_name "osint-evidence", external_id "ev12"); a `note` on each
  evidence-backed relationship says which observations, sources and times it rests on;
- claims of the case file are relationships with `x_osint_claim: true`, gathered in a `grouping`
  ("claims of the case file, not evidence"); the case itself is a `report` over every object;
- kinds STIX has no object for (phone, crypto address, SSH key, ICP filing, postal address...)
  are `x-osint-entity` observables keeping our kind and value.

Ids are deterministic: observables get the UUIDv5 the STIX spec defines from their values, every
other object a UUIDv5 of our node id / edge under one namespace, and every timestamp comes from the
graph (its newest observation, else the incident): the same graph gives the same bytes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import networkx as nx

from ..common.files import atomic_write
from ..common.timefmt import utc_text
from ..graph.provenance import cited
from .common import clean_text, flat_provenance, one_line, scalar, sorted_edges, sorted_nodes

# Our own namespace for the ids of objects STIX does not derive from their values.
OSINT_NAMESPACE = uuid.UUID("6b1c6f5e-2c0a-5b8e-9a51-0f3d7c4e8a15")
EXTENSION_ID = f"extension-definition--{uuid.uuid5(OSINT_NAMESPACE, 'extension-definition')}"
TOOL_ID = f"identity--{uuid.uuid5(OSINT_NAMESPACE, 'identity' + chr(0) + 'osint')}"
TOPLEVEL = {EXTENSION_ID: {"extension_type": "toplevel-property-extension"}}
NEW_SCO = {EXTENSION_ID: {"extension_type": "new-sco"}}
EXTENSION_PROPERTIES = ["x_osint_at_incident", "x_osint_case_id", "x_osint_claim", "x_osint_evidence",
                        "x_osint_first_seen", "x_osint_in_case", "x_osint_kind", "x_osint_label",
                        "x_osint_last_seen", "x_osint_node_id", "x_osint_sources"]
EXTENSION_SCHEMA = (
    "osint graph properties. x_osint_node_id: the node id of the osint graph (docs/CONTRACTS.md); x_osint_kind: "
    "its kind, or the edge's relation; x_osint_label: its label; x_osint_in_case: named by the case file; "
    "x_osint_claim: true for an allegation of the case file, not evidence; x_osint_evidence: the ids of the "
    "observations an edge rests on (`osint evidence show ev12`); x_osint_sources: the sources that gave them; "
    "x_osint_first_seen/x_osint_last_seen: when the fact held, where start_time/stop_time cannot say it; "
    "x_osint_at_incident: the fact held at the time of the incident; x_osint_case_id: the case. The "
    "x-osint-entity observable (kind, value) is a node of a kind STIX 2.1 has no observable for.")
EPOCH = "1970-01-01T00:00:00Z"
EVIDENCE_SOURCE = "osint-evidence"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ASN = re.compile(r"^AS(\d{1,10})$", re.IGNORECASE)
_SERVICE = re.compile(r"^(.+):(\d{1,5})/(tcp|udp)$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DIVISION = re.compile(r"^\d{6}$")

IDENTITY_CLASS = {"company": "organization", "org": "organization", "registrar": "organization",
                  "brand": "organization", "person": "individual"}
# Kinds exported as observables in their standard STIX shape (the "indicators" of the graph).
INDICATOR_TYPES = {"ip": ("ipv4-addr", "ipv6-addr"), "netblock": ("ipv4-addr", "ipv6-addr"),
                   "domain": ("domain-name",), "nameserver": ("domain-name",), "email": ("email-addr",),
                   "url": ("url",), "asn": ("autonomous-system",), "certificate": ("x509-certificate",)}


def _custom_entity():
    from stix2 import CustomObservable, properties

    try:
        @CustomObservable("x-osint-entity", [
            ("kind", properties.StringProperty(required=True)),
            ("value", properties.StringProperty(required=True)),
        ], id_contrib_props=["kind", "value"])
        class OsintEntity:
            """A node of a kind STIX has no observable for."""
        return OsintEntity
    except Exception:  # already registered by an earlier export in this process
        from stix2.registry import class_for_type

        return class_for_type("x-osint-entity", "2.1", "observables")


def _sid(kind: str, *parts: Any) -> str:
    # Raw text, not cleaned: two nodes that differ only by a control character stay two objects.
    name = "\x00".join(str(p) for p in parts).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return f"{kind}--{uuid.uuid5(OSINT_NAMESPACE, kind + chr(0) + name)}"




def _as_of(graph: nx.MultiDiGraph) -> str:
    """One time for created/modified: the newest observation behind the graph, else the incident."""
    newest = max((t for _, _, t in graph.edges(data="observed_at") if utc_text(t)), default=None, key=utc_text)
    return utc_text(newest) or utc_text(graph.graph.get("incident_time")) or EPOCH


def _text(value: Any) -> str | None:
    v = scalar(value)
    if v is None:
        return None
    text = clean_text(v if isinstance(v, str) else json.dumps(v))
    return text if text.strip() else None


def _evidence(data: dict[str, Any]) -> list[str]:
    return cited(data.get("evidence"))


def _value(node: Any) -> str:
    text = str(node)
    return text.partition(":")[2] if ":" in text else text


def _hostname(value: str) -> bool:
    """A name STIX accepts as a domain-name value (an IDNA host name: no '_spf', no spaces)."""
    import idna

    try:
        idna.encode(value)
    except (idna.IDNAError, UnicodeError, ValueError):
        return False
    return True


def _observable(kind: str, node: Any, data: dict[str, Any], common: dict[str, Any], ip_ids: dict[str, str]):
    """The standard observable for a node, or None when its value does not fit one."""
    from stix2 import v21

    value = one_line(_value(node))
    if kind == "ip":
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            return None
        cls = v21.IPv4Address if addr.version == 4 else v21.IPv6Address
        return cls(value=str(addr), **common)
    if kind == "netblock":
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
        cls = v21.IPv4Address if net.version == 4 else v21.IPv6Address
        return cls(value=str(net), **common)
    if kind in ("domain", "nameserver") and _hostname(value):
        return v21.DomainName(value=value, **common)
    if kind == "email" and re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        return v21.EmailAddress(value=value, **common)
    if kind == "url" and re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.IGNORECASE):
        return v21.URL(value=value, **common)
    if kind == "asn" and (m := _ASN.match(value)) and int(m.group(1)) < 2**32:
        name = _text(data.get("name") or (data.get("label") if data.get("label") != value else None))
        return v21.AutonomousSystem(number=int(m.group(1)), **({"name": name} if name else {}), **common)
    if kind == "certificate":
        # By SHA-256 when the id is one; else (a CT log entry) by serial number and issuer.
        props: dict[str, Any] = {}
        if _SHA256.match(value.lower()):
            props["hashes"] = {"SHA-256": value.lower()}
        elif isinstance(data.get("sha256"), str) and _SHA256.match(data["sha256"].lower()):
            props["hashes"] = {"SHA-256": data["sha256"].lower()}
        for prop, attr in (("serial_number", "serial"), ("issuer", "issuer"), ("subject", "subject")):
            if text := _text(data.get(attr)):
                props[prop] = one_line(text)
        before, after = utc_text(data.get("not_before")), utc_text(data.get("not_after"))
        if before and after and before <= after:
            props.update(validity_not_before=before, validity_not_after=after)
        if "hashes" in props or "serial_number" in props:
            return v21.X509Certificate(**props, **common)
        return None
    if kind == "service" and (m := _SERVICE.match(value)) and int(m.group(2)) <= 65535:
        ip_ref = ip_ids.get(m.group(1))
        if ip_ref:
            return v21.NetworkTraffic(dst_ref=ip_ref, dst_port=int(m.group(2)), protocols=[m.group(3)], **common)
        return None
    if kind == "account":
        platform, _, handle = value.partition(":")
        if platform and handle:
            return v21.UserAccount(account_type=platform.lower(), account_login=handle, **common)
    return None


def stix_objects(graph: nx.MultiDiGraph) -> list[Any]:
    """The graph as STIX 2.1 objects (the bundle's contents, in a stable order)."""
    from stix2 import v21

    entity_cls = _custom_entity()
    as_of = _as_of(graph)
    # One parsed timestamp object for every created/modified: the library then skips parsing the text.
    from stix2.utils import parse_into_datetime

    as_of_time = parse_into_datetime(as_of, precision="millisecond")
    stamps = {"created": as_of_time, "modified": as_of_time}
    references: dict[str, Any] = {}  # evidence id -> its ExternalReference, built once
    case_id = _text(graph.graph.get("case_id")) or "case"
    nodes = sorted_nodes(graph)
    ids: dict[Any, str] = {}
    objects: dict[str, Any] = {}

    def keep(obj: Any) -> str:
        objects.setdefault(obj.id, obj)
        return obj.id

    # IPs first: an open port (network-traffic) refers to its IP's observable.
    ip_ids: dict[str, str] = {}
    order = sorted(nodes, key=lambda n: (graph.nodes[n].get("kind") != "ip", str(n)))
    for node in order:
        data = graph.nodes[node]
        kind = one_line(data.get("kind") or "") or "other"
        label = _text(data.get("label")) or one_line(node) or "node"
        common: dict[str, Any] = {"allow_custom": True, "extensions": TOPLEVEL, "x_osint_node_id": one_line(node) or "node",
                                  "x_osint_kind": kind}
        if data.get("in_case") is True:
            common["x_osint_in_case"] = True
        obj = _observable(kind, node, data, common, ip_ids)
        if obj is None and kind in IDENTITY_CLASS:
            extra = {k: v for k, v in (("description", _text(data.get("description"))),) if v}
            obj = v21.Identity(id=_sid("identity", node), name=label, identity_class=IDENTITY_CLASS[kind],
                               **stamps, **extra, **common)
        elif obj is None and kind == "region":
            code = _value(node)
            where = ({"country": code} if _COUNTRY.match(code)
                     else {"country": "CN", "administrative_area": code} if _DIVISION.match(code) else None)
            if where:
                obj = v21.Location(id=_sid("location", node), name=label, **where, **stamps, **common)
        elif obj is None and kind == "incident":
            extra = {k: v for k, v in (("description", _text(data.get("description"))),) if v}
            obj = v21.Incident(id=_sid("incident", node), name=label, **stamps, **extra, **common)
        if obj is None:
            obj = entity_cls(kind=kind, value=one_line(_value(node)) or one_line(node) or "node",
                             x_osint_label=label, **dict(common, extensions=NEW_SCO))
        ids[node] = keep(obj)
        if kind == "ip" and obj.type in ("ipv4-addr", "ipv6-addr"):
            ip_ids[obj.value] = obj.id

    keep(v21.Identity(id=TOOL_ID, name="osint", identity_class="system",
                      description="osint: evidence-backed infrastructure graphs for crypto-theft cases", **stamps))
    keep(v21.ExtensionDefinition(id=EXTENSION_ID, created_by_ref=TOOL_ID, name="osint graph properties",
                                 description="What the osint graph says about each object and relationship.",
                                 schema=EXTENSION_SCHEMA, version="1.0.0",
                                 extension_types=["new-sco", "toplevel-property-extension"],
                                 extension_properties=EXTENSION_PROPERTIES, **stamps))
    claims: list[str] = []
    for u, v, key, data in sorted_edges(graph):
        kind = one_line(data.get("kind") or key or "") or "related"
        rel_type = re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "related-to"
        if rel_type.startswith("claim-"):
            rel_type = rel_type[len("claim-"):] or "related-to"
        evidence = _evidence(data)
        claim = data.get("claim") is True
        conf = data.get("confidence")
        props: dict[str, Any] = {"allow_custom": True, "extensions": TOPLEVEL, "x_osint_claim": claim, "x_osint_kind": kind}
        if isinstance(conf, (int, float)) and not isinstance(conf, bool) and conf == conf and abs(conf) != float("inf"):
            props["confidence"] = int(round(min(max(float(conf), 0.0), 1.0) * 100))
        if evidence:
            props["x_osint_evidence"] = evidence
            props["external_references"] = [
                references.get(e) or references.setdefault(e, v21.ExternalReference(
                    source_name=EVIDENCE_SOURCE, external_id=e, description=f"osint evidence show {e}"))
                for e in evidence]
        if sources := _text(flat_provenance(data).get("sources")):
            props["x_osint_sources"] = sources
        first, last = utc_text(data.get("first_seen")), utc_text(data.get("last_seen"))
        if first and last and first < last:
            props.update(start_time=first, stop_time=last)
        else:
            props.update({k: t for k, t in (("x_osint_first_seen", first), ("x_osint_last_seen", last)) if t})
        if isinstance(data.get("at_incident"), bool):
            props["x_osint_at_incident"] = data["at_incident"]
        text = _text(data.get("text")) if claim else None
        where = _text(data.get("source")) if claim else None
        if claim:
            standing = _text(data.get("standing")) or "a claim"
            props["description"] = clean_text(" ".join(
                x for x in (f"Claim of the case file ({standing})" + (f", {where}" if where else "") + ":", text)
                if x))
        rel = v21.Relationship(id=_sid("relationship", u, v, key, kind), relationship_type=rel_type,
                               source_ref=ids[u], target_ref=ids[v], **stamps, **props)
        keep(rel)
        if claim:
            claims.append(rel.id)
        if evidence:
            observed = utc_text(data.get("observed_at"))
            lines = [f"evidence: {', '.join(evidence)}"]
            if sources:
                lines.append(f"sources: {sources}")
            if observed:
                lines.append(f"newest observation: {observed}")
            if first or last:
                lines.append(f"seen: {first or '?'} .. {last or '?'}")
            keep(v21.Note(id=_sid("note", rel.id), abstract=f"{kind}: {', '.join(evidence)}",
                          content="\n".join(lines), object_refs=[rel.id], x_osint_evidence=evidence,
                          allow_custom=True, extensions=TOPLEVEL, **stamps))

    title = _text(graph.graph.get("title")) or case_id
    everything = sorted(objects)
    if claims:
        keep(v21.Grouping(id=_sid("grouping", case_id, "claims"), name=f"{title}: claims of the case file",
                          description="Allegations and suspicions stated in the case file, not evidence.",
                          context="suspicious-activity", object_refs=sorted(claims), **stamps))
    published = utc_text(graph.graph.get("incident_time")) or as_of
    if everything:
        keep(v21.Report(id=_sid("report", case_id), name=title, published=published,
                        report_types=["threat-report"], object_refs=everything,
                        x_osint_case_id=case_id, allow_custom=True, extensions=TOPLEVEL, **stamps))
    return [objects[k] for k in sorted(objects)]


def stix_bundle_text(graph: nx.MultiDiGraph) -> str:
    """The STIX 2.1 bundle as JSON text (UTF-8, sorted keys, one stable order)."""
    case_id = _text(graph.graph.get("case_id")) or "case"
    objects = stix_objects(graph)
    # The objects were each checked as they were built; the bundle is only their envelope, so it is
    # written here rather than by v21.Bundle, which would check all of them a second time.
    bundle_id = _sid("bundle", case_id)
    parts = ['{\n "id": ', json.dumps(bundle_id), ',\n "objects": [']
    for i, obj in enumerate(objects):
        text = obj.serialize(sort_keys=True, indent=1, ensure_ascii=False)
        parts.append(("\n  " if i == 0 else ",\n  ") + text.replace("\n", "\n  "))
    parts.append('\n ],\n "type": "bundle"\n}\n')
    return "".join(parts)


def export_stix(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> list[Path]:
    """Write the graph as a STIX 2.1 bundle to `path`, atomically. Returns the file written."""
    text = stix_bundle_text(graph)
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return [Path(path)]
