"""What the report says, gathered from the case, the graph, the claims and the store.

Plain data (dicts, lists, strings), no HTML and no language: the template turns it into either
language. Everything here is read from the graph `osint graph` exports and from `osint attribute`,
so the report never says more than those do; the store is read only for the evidence appendix
(id, source, question, UTC time, outcome, SHA-256 of every observation an edge rests on).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

import networkx as nx

from ..common.timefmt import moment
from ..case.model import Case
from ..graph import attribute as attr
from ..graph.provenance import as_tuple, cited
from ..graph.collapse import collapse_fans
from ..graph.layout import positions
from ..graph.paths import EvidencePath
from ..graph.style import colour, node_size
from ..store.protocol import EvidenceReader
from ..textnorm import is_han
from ..vocabulary import edge_colour

# Node attributes the graph view does not list again (they are its label, colour or position).
_HIDDEN = {"kind", "label"}
MAX_LIST = 25  # names listed per table cell; a shared host's hundreds of names are counted, not listed


def _shared(graph: nx.MultiDiGraph, node: str) -> bool:
    """A CDN, parking or shared-hosting address: its hundreds of names say nothing about the case."""
    return node in graph and graph.nodes[node].get("shared_infrastructure") is True


def evidence_ids(evidence: Iterable[str] | None) -> list[int]:
    """The observation ids an edge's `evidence` names (('ev12', 'ev14') -> [12, 14])."""
    return [int(e[2:]) for e in cited(evidence)]


def _sources(data: dict[str, Any]) -> list[str]:
    """The sources an edge names (('dns', 'pdns') -> ['dns', 'pdns'])."""
    return list(as_tuple(data.get("sources")))


def _edge_data(graph: nx.MultiDiGraph, node: str, *, out_only: bool = False) -> list[dict[str, Any]]:
    """The data of a node's evidence (non-claim) edges: outgoing, then (unless out_only) incoming."""
    edges = list(graph.out_edges(node, data=True))
    if not out_only:
        edges += list(graph.in_edges(node, data=True))
    return [data for _, _, data in edges if not data.get("claim")]


def _node_evidence(graph: nx.MultiDiGraph, node: str, *, source: str | None = None, out_only: bool = False) -> list[int]:
    """The observation ids behind a node's evidence edges, only one source's if `source` is given."""
    return [i for data in _edge_data(graph, node, out_only=out_only) if source is None or source in _sources(data)
            for i in evidence_ids(data.get("evidence"))]


def _label(graph: nx.MultiDiGraph, node: str) -> str:
    return str(graph.nodes[node].get("label", node)) if node in graph else node


def _pinyin(graph: nx.MultiDiGraph, node: str) -> str | None:
    """The pinyin of a node whose label is Chinese (shown beside it in the English report)."""
    if node not in graph:
        return None
    data = graph.nodes[node]
    label = str(data.get("label", ""))
    if data.get("pinyin") and any(is_han(ch) for ch in label):
        return str(data["pinyin"])
    return None


def _name(graph: nx.MultiDiGraph, node: str) -> dict[str, Any]:
    return {"id": node, "label": _label(graph, node), "pinyin": _pinyin(graph, node),
            "kind": graph.nodes[node].get("kind", "") if node in graph else ""}


def _evidence_edges(graph: nx.MultiDiGraph, node: str, relation: str, *, out: bool = True) -> list[tuple[str, dict]]:
    """(the other node, edge data) for every evidence (non-claim) edge of one relation at a node."""
    edges = graph.out_edges(node, data=True) if out else graph.in_edges(node, data=True)
    found = []
    for u, v, data in edges:
        if data.get("kind") == relation and not data.get("claim"):
            found.append((v if out else u, data))
    return sorted(found, key=lambda x: str(x[0]))


def _date(text: Any) -> str | None:
    """An ISO date-time as 'YYYY-MM-DD HH:MM' UTC (or the date alone), for tables; None if unreadable."""
    when = moment(text)
    if when is None:
        return None
    if len(str(text)) <= 10:
        return when.date().isoformat()
    return when.strftime("%Y-%m-%d %H:%M")


def _hops(graph: nx.MultiDiGraph, path: EvidencePath | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    hops = []
    for h in path.hops:
        hops.append({"from": _name(graph, h.frm), "to": _name(graph, h.to), "relation": h.relation,
                     "forward": h.forward, "claim": h.claim, "sources": list(h.sources),
                     "evidence": evidence_ids(h.evidence), "note": _both(h.note_text),
                     "first_seen": _date(h.first_seen), "last_seen": _date(h.last_seen)})
    return hops


def _summary(graph: nx.MultiDiGraph, case: Case) -> dict[str, Any]:
    incidents, brands, companies = [], [], []
    for node, data in sorted(graph.nodes(data=True), key=lambda x: str(x[0])):
        if not data.get("in_case"):
            continue
        kind = data.get("kind")
        if kind == "incident":
            incidents.append({**_name(graph, node), "time": data.get("time"),
                              "time_as_written": data.get("time_as_written"), "kind_text": data.get("incident_kind"),
                              "exchange": data.get("exchange"), "victim": data.get("victim"),
                              "assets": list(data.get("assets") or []), "losses": list(data.get("losses") or []),
                              "report_type": data.get("report_type"), "source": data.get("source")})
        elif kind == "brand":
            brands.append({**_name(graph, node), "name_zh": data.get("name_zh"), "source": data.get("source")})
        elif kind == "company":
            reps = [_name(graph, u) for u, _ in _evidence_edges(graph, node, "legal_representative_of", out=False)]
            addresses = [_name(graph, v) for v, _ in _evidence_edges(graph, node, "registered_at")]
            districts = [_name(graph, v) for v, _ in _evidence_edges(graph, node, "in_district")]
            companies.append({**_name(graph, node), "uscc": data.get("uscc"), "status": data.get("status"),
                              "founded": data.get("founded"), "deregistered": data.get("deregistered"),
                              "abnormal_operations": bool(data.get("abnormal_operations")),
                              "representatives": reps, "addresses": addresses, "districts": districts,
                              "source": data.get("source"), "standing": data.get("standing")})
    return {"id": case.id, "title": case.title, "incidents": incidents, "brands": brands, "companies": companies}


def _both(text: Any) -> dict[str, str] | None:
    """A message in both report languages: {'en': ..., 'zh': ...}; the template picks one."""
    en = text("en")
    return None if en is None else {"en": en, "zh": text("zh")}


def _claims(graph: nx.MultiDiGraph, results: list[attr.ClaimResult]) -> list[dict[str, Any]]:
    return [{"subject": _name(graph, r.subject), "relation": r.relation, "object": _name(graph, r.object),
             "status": r.status, "n_sources": r.n_sources, "sources": sorted(r.sources), "lines": r.lines,
             "reason": _both(r.reason_text),
             "notes": [{"en": en, "zh": zh} for en, zh in zip(r.notes_text("en"), r.notes_text("zh"))],
             "rests_on": [c.to_dict() for c in r.rests_on], "source": r.source, "standing": r.standing, "text": r.text,
             "best": _hops(graph, r.best), "n_paths": len(r.paths)} for r in results]


def _leads(graph: nx.MultiDiGraph, leads: list[attr.Lead]) -> list[dict[str, Any]]:
    return [{"node": _name(graph, lead.node), "near": _name(graph, lead.near), "distance": lead.distance,
             "path": _hops(graph, lead.path)} for lead in leads]


def _seen(graph: nx.MultiDiGraph, node: str) -> tuple[str | None, str | None, list[int]]:
    """The earliest first_seen and latest last_seen over a node's evidence edges, and their evidence."""
    first: tuple[datetime, str] | None = None
    last: tuple[datetime, str] | None = None
    evidence: set[int] = set()
    for data in _edge_data(graph, node):
        evidence.update(evidence_ids(data.get("evidence")))
        for key, pick in (("first_seen", min), ("last_seen", max)):
            when = moment(data.get(key), end=key == "last_seen")
            if when is None:
                continue
            if key == "first_seen":
                first = pick(first, (when, data[key])) if first else (when, data[key])
            else:
                last = pick(last, (when, data[key])) if last else (when, data[key])
    return (_date(first[1]) if first else None, _date(last[1]) if last else None, sorted(evidence))


def _via_netblock(graph: nx.MultiDiGraph, ip: str, relation: str) -> list[str]:
    """Targets of a relation from the IP itself and from the netblocks (and their ASNs) it sits in."""
    holders = [ip] + [nb for nb, _ in _evidence_edges(graph, ip, "in_netblock")]
    holders += [a for h in list(holders) for a, _ in _evidence_edges(graph, h, "announced_by")]
    found: list[str] = []
    for holder in holders:
        for target, _ in _evidence_edges(graph, holder, relation):
            if target not in found:
                found.append(target)
    return found


def _ips(graph: nx.MultiDiGraph) -> list[dict[str, Any]]:
    rows = []
    for node, data in graph.nodes(data=True):
        if data.get("kind") != "ip":
            continue
        asns = _via_netblock(graph, node, "announced_by")
        operators = _via_netblock(graph, node, "operated_by")
        countries = [_label(graph, r) for r, _ in _evidence_edges(graph, node, "located_in")]
        if data.get("country") and data["country"] not in countries:
            countries.append(str(data["country"]))
        ports = {int(p) for p in data.get("ports") or [] if str(p).isdigit()}
        for service, _ in _evidence_edges(graph, node, "has_service"):
            port = graph.nodes[service].get("port")
            if isinstance(port, int):
                ports.add(port)
        hostnames = [v for v, _ in _evidence_edges(graph, node, "ptr")]
        hostnames += [u for u, _ in _evidence_edges(graph, node, "resolves_to", out=False) if u not in hostnames]
        first, last, evidence = _seen(graph, node)
        names_total = max(len(hostnames), int(data.get("pdns_names_total") or 0))
        rows.append({**_name(graph, node), "in_case": bool(data.get("in_case")),
                     "shared": _shared(graph, node), "hostnames_more": names_total - min(len(hostnames), MAX_LIST),
                     "asns": [{"id": a, "label": _label(graph, a), "name": graph.nodes[a].get("as_name")} for a in asns],
                     "operators": [_name(graph, o) for o in operators], "countries": countries,
                     "ports": sorted(ports), "hostnames": [_name(graph, h) for h in hostnames[:MAX_LIST]],
                     "first_seen": first, "last_seen": last, "evidence": evidence,
                     "private_address": bool(data.get("private_address"))})
    return sorted(rows, key=lambda r: (not r["in_case"], r["id"]))


def _domains(graph: nx.MultiDiGraph) -> list[dict[str, Any]]:
    rows = []
    for node, data in graph.nodes(data=True):
        if data.get("kind") != "domain":
            continue
        addresses = []
        for target, edge in _evidence_edges(graph, node, "resolves_to"):
            addresses.append({"target": _name(graph, target), "rrtype": edge.get("rrtype"),
                              "first_seen": _date(edge.get("first_seen")), "last_seen": _date(edge.get("last_seen")),
                              "at_incident": edge.get("at_incident"), "sources": _sources(edge),
                              "evidence": evidence_ids(edge.get("evidence"))})
        addresses.sort(key=lambda a: (a["first_seen"] or "9999", a["target"]["id"]))
        registrars = [_name(graph, r) for r, _ in _evidence_edges(graph, node, "registered_with")]
        nameservers = [_name(graph, n) for n, _ in _evidence_edges(graph, node, "nameserver")]
        registrants = [_name(graph, r) for r, _ in _evidence_edges(graph, node, "registrant")]
        whois = data.get("creation_date") or data.get("expiration_date") or registrars
        # Names only seen inside a certificate or a page, with nothing else known, stay out of the table:
        # they are in the graph and the leads; the table is for names something was learnt about.
        telling = [a for a in addresses if not _shared(graph, a["target"]["id"])]
        if not (data.get("in_case") or whois or telling or nameservers):
            continue
        _, _, evidence = _seen(graph, node)
        rows.append({**_name(graph, node), "in_case": bool(data.get("in_case")), "registrars": registrars,
                     "created": _date(data.get("creation_date")), "expires": _date(data.get("expiration_date")),
                     "updated": _date(data.get("updated_date")), "nameservers": nameservers,
                     "registrants": registrants, "addresses": addresses, "evidence": evidence,
                     "possible_homograph": bool(data.get("possible_homograph"))})
    return sorted(rows, key=lambda r: (not r["in_case"], r["id"]))


def _timeline(graph: nx.MultiDiGraph) -> list[dict[str, Any]]:
    """Dated events: companies founded and deregistered, domains registered and expiring, passive
    DNS spans, certificate validity and the incident, each with its start, end and evidence."""
    events: list[dict[str, Any]] = []

    def add(kind: str, node: str, start: Any, end: Any, *, what: str, other: str | None = None,
            evidence: Iterable[int] = (), sources: Iterable[str] = ()) -> None:
        s, e = moment(start), moment(end, end=True)
        if s is None and e is None:
            return
        events.append({"kind": kind, "node": _name(graph, node), "other": _name(graph, other) if other else None,
                       "what": what, "start": s.isoformat() if s else None, "end": e.isoformat() if e else None,
                       "start_text": _date(start), "end_text": _date(end),
                       "evidence": sorted(set(evidence)), "sources": sorted(set(sources))})

    for node, data in graph.nodes(data=True):
        kind = data.get("kind")
        if kind == "incident" and data.get("time"):
            add("incident", node, data["time"], None, what="incident")
        elif kind == "company":
            if data.get("founded") or data.get("deregistered"):
                registry = any("cn-registry" in _sources(d) for d in _edge_data(graph, node))
                add("company", node, data.get("founded"), data.get("deregistered"), what="company",
                    evidence=_node_evidence(graph, node, source="cn-registry"),
                    sources=["cn-registry"] if registry else [])
        elif kind == "domain" and (data.get("creation_date") or data.get("expiration_date")):
            add("domain", node, data.get("creation_date"), data.get("expiration_date"), what="domain",
                evidence=_node_evidence(graph, node, source="whois", out_only=True), sources=["whois"])
        elif kind == "certificate" and (data.get("not_before") or data.get("not_after")):
            names = [v for v, _ in _evidence_edges(graph, node, "certificate_names")]
            add("certificate", node, data.get("not_before"), data.get("not_after"), what="certificate",
                other=names[0] if names else None, evidence=_node_evidence(graph, node))
        elif kind == "url":
            # What web archives saw of the page: from its first capture to its last (each fact read from
            # a capture is dated by the captures of that content).
            spans = [(moment(d.get("first_seen")), moment(d.get("last_seen"), end=True), d)
                     for d in _edge_data(graph, node, out_only=True) if "archive" in _sources(d)]
            firsts = [(m, d["first_seen"]) for m, _, d in spans if m]
            lasts = [(m, d["last_seen"]) for _, m, d in spans if m]
            if firsts or lasts:
                add("capture", node, min(firsts)[1] if firsts else None, max(lasts)[1] if lasts else None,
                    what="capture", evidence=_node_evidence(graph, node, source="archive", out_only=True),
                    sources=["archive"])
    for u, v, data in graph.edges(data=True):
        if data.get("kind") in ("resolves_to", "ptr") and "pdns" in _sources(data) \
                and (data.get("first_seen") or data.get("last_seen")) and not (_shared(graph, u) or _shared(graph, v)):
            add("pdns", u, data.get("first_seen"), data.get("last_seen"), what=str(data["kind"]), other=v,
                evidence=evidence_ids(data.get("evidence")), sources=_sources(data))
    events.sort(key=lambda e: (e["start"] or e["end"] or "", e["kind"], e["node"]["id"]))
    return events


def _graph_view(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Nodes and edges as the interactive view draws them (cytoscape's element format).

    Fans of same-kind leaves are one counted node ("64 certificates"), as in the PNG; its `members`
    attribute lists them, and the report's tables and appendix still hold every one.
    """
    graph = collapse_fans(graph)
    pos = positions(graph)
    scale = 60.0 * max(10.0, graph.number_of_nodes() ** 0.5)  # layout units -> pixels, roomier for big graphs
    nodes, edges = [], []
    for node in sorted(graph.nodes, key=str):
        data = graph.nodes[node]
        kind = str(data.get("kind", ""))
        x, y = pos.get(str(node), (0.0, 0.0))
        attrs = {str(k): v for k, v in sorted(data.items(), key=lambda kv: str(kv[0])) if k not in _HIDDEN}
        nodes.append({"data": {"id": str(node), "label": _label(graph, node), "pinyin": _pinyin(graph, node),
                               "kind": kind, "colour": colour(kind), "size": node_size(graph.degree(node)),
                               "in_case": bool(data.get("in_case")), "attrs": attrs},
                      "position": {"x": round(x * scale, 1), "y": round(-y * scale, 1)}})
    for i, (u, v, key, data) in enumerate(sorted(graph.edges(keys=True, data=True),
                                                 key=lambda e: (str(e[0]), str(e[1]), str(e[2])))):
        claim = bool(data.get("claim"))
        edges.append({"data": {"id": f"e{i}", "source": str(u), "target": str(v),
                               "relation": str(data.get("kind", key)), "claim": claim,
                               "colour": edge_colour(str(data.get("kind", key)), claim=claim),
                               "sources": _sources(data),
                               "evidence": evidence_ids(data.get("evidence")),
                               "first_seen": _date(data.get("first_seen")), "last_seen": _date(data.get("last_seen")),
                               "standing": data.get("standing"), "case_source": data.get("source") if claim else None}})
    return {"nodes": nodes, "edges": edges}


def _appendix(graph: nx.MultiDiGraph, store: EvidenceReader | None) -> list[dict[str, Any]]:
    """Every observation an edge rests on, as the store has it (without its raw bytes)."""
    wanted: set[int] = set()
    for _, _, data in graph.edges(data=True):
        wanted.update(evidence_ids(data.get("evidence")))
    stored = {obs.id: obs for obs in store.list(ids=wanted)} if store is not None and wanted else {}
    rows = []
    for obs_id in sorted(wanted):
        obs = stored.get(obs_id)
        if obs is None:
            rows.append({"id": obs_id, "missing": True})
            continue
        rows.append({"id": obs.id, "source": obs.source, "question": obs.query_key, "subject": obs.subject,
                     "endpoint": obs.endpoint, "observed_at": obs.observed_at, "outcome": str(obs.outcome.value),
                     "sha256": obs.sha256, "size": obs.raw_size, "run": obs.run_id, "tool_version": obs.tool_version,
                     "missing": False})
    return rows


def collect(case: Case, graph: nx.MultiDiGraph, store: EvidenceReader | None = None, *, generated_at: str | None = None) -> dict[str, Any]:
    """Everything the report shows, for one case: see the module docstring."""
    results = attr.attribute(graph, case)
    leads = attr.new_leads(graph)
    counts = {s: sum(1 for r in results if r.status == s) for s in attr.STATUSES}
    return {
        "case": _summary(graph, case),
        "claims": _claims(graph, results),
        "claim_counts": counts,
        "leads": _leads(graph, leads),
        "ips": _ips(graph),
        "domains": _domains(graph),
        "timeline": _timeline(graph),
        "graph": _graph_view(graph),
        "evidence": _appendix(graph, store),
        "stats": {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
                  "observations": graph.graph.get("observations", 0),
                  "failed_observations": graph.graph.get("failed_observations", 0)},
        "generated_at": generated_at,
    }
