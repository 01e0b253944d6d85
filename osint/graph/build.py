"""Build the attribution graph: the case file's entities and claims, plus the facts of the newest
answer to every question in the evidence store. No network, no clock: same inputs, same graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from typing import Any, Iterable

import networkx as nx

from ..case.indicators import possible_homograph
from ..case.normalize import domain_display, email_display, url_display
from ..common.timefmt import iso_utc, moment
from ..case.model import Case
from ..facts import Fact, split_node_id
from ..store.protocol import EvidenceReader, GraphAnswer
from ..textnorm import is_han, person_pinyin, to_pinyin
from ..vocabulary import (DEFAULT_CONFIDENCE, RELATIONS, address_id, brand_id, company_id, incident_id, ip_id,
                          person_id, region_id)
from .names import derive_names, texts_of
from .provenance import evidence_tuple, gathered, names, observation_ids

CASE_SOURCE = "case"  # the case file itself: never counted as independent corroboration
# How far one source's word on one relation goes, before any corroboration: the vocabulary's
# (source, relation) rules first, then the relation's default, then DEFAULT_CONFIDENCE.
SOURCE_RELATION_CONFIDENCE = {(source, r.name): c for r in RELATIONS.values() for source, c in r.by_source.items()}
RELATION_CONFIDENCE = {r.name: r.confidence for r in RELATIONS.values() if r.confidence is not None}
CLAIM_CONFIDENCE = 0.3  # an allegation, until evidence says more
# Facts the case file itself states about its companies (copied from the registry), and the
# district a credit code encodes.
CASE_FACT_CONFIDENCE = {r.name: r.case_confidence for r in RELATIONS.values() if r.case_confidence is not None}
SIMILAR_NAME_FACTOR = 0.8  # similar_name: the name-match score x 0.8
SSH_KEY_SHARED_LIMIT = 25  # more IPs than this behind one host key: a default image, not one operator

# Edge attributes the builder owns; a source's fact attribute of the same name is kept as fact_<name>.
EDGE_OWNED = frozenset({"kind", "evidence", "sources", "first_seen", "last_seen", "confidence", "claim",
                        "observed_at", "at_incident", "standing", "label", "weight", "derived", "via"})


def confidence(source: str, relation: str, attrs: dict[str, Any]) -> float:
    """The confidence one observation from `source` gives a fact (0..1); see the tables above."""
    if relation == "similar_name":
        score = attrs.get("score")
        if isinstance(score, (int, float)) and not isinstance(score, bool) and score == score:
            return round(min(max(float(score), 0.0), 1.0) * SIMILAR_NAME_FACTOR, 4)
    rule = SOURCE_RELATION_CONFIDENCE.get((source, relation))
    return rule if rule is not None else RELATION_CONFIDENCE.get(relation, DEFAULT_CONFIDENCE)


def combine(per_source: Iterable[float]) -> float:
    """Independent sources agreeing raise confidence: 1 - prod(1 - c), capped at 0.99."""
    miss = 1.0
    for c in per_source:
        miss *= 1.0 - c
    return round(min(1.0 - miss, 0.99), 4)


@dataclass
class _Merged:
    """Everything the observations say about one (subject, relation, object)."""

    evidence: set[int] = field(default_factory=set)
    per_source: dict[str, float] = field(default_factory=dict)
    first: tuple[datetime, str] | None = None
    last: tuple[datetime, str] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    observed_at: str = ""

    def add(self, source: str, obs_id: int, observed_at: str, fact: Fact) -> None:
        self.evidence.add(obs_id)
        c = confidence(source, fact.relation, fact.attrs)
        self.per_source[source] = max(c, self.per_source.get(source, 0.0))
        self.observed_at = max(self.observed_at, observed_at)
        if (m := moment(fact.first_seen)) and (self.first is None or m < self.first[0]):
            self.first = (m, fact.first_seen)
        if (m := moment(fact.last_seen, end=True)) and (self.last is None or m > self.last[0]):
            self.last = (m, fact.last_seen)
        for k, v in fact.attrs.items():  # observations arrive oldest first: the newest value wins
            self.attrs[f"fact_{k}" if k in EDGE_OWNED else k] = v

    def edge_attrs(self, relation: str, incident: datetime | None) -> dict[str, Any]:
        out = dict(self.attrs)
        out.update(kind=relation, claim=False, confidence=combine(self.per_source.values()),
                   evidence=observation_ids(self.evidence), sources=names(self.per_source),
                   observed_at=self.observed_at)
        if self.first:
            out["first_seen"] = self.first[1]
        if self.last:
            out["last_seen"] = self.last[1]
        if incident is not None and self.first and self.last:
            out["at_incident"] = self.first[0] <= incident <= self.last[0]
        return out


def build_graph(case: Case, store: EvidenceReader | None = None) -> nx.MultiDiGraph:
    """The case's attribution graph: its entities and claims, and (with a store) the facts of the
    newest parse of the newest answer to every question. `store=None` builds from the case alone.

    Graph attributes: case_id, title, incident_time (UTC), observations (answers used),
    unparsed_observations (answers with no parse yet: run `osint reparse`), failed_observations.
    """
    g = nx.MultiDiGraph()
    incident = add_case(g, case)
    g.graph.update(case_id=case.id, title=case.title, observations=0, unparsed_observations=0,
                   failed_observations=0)
    if incident is not None:
        g.graph["incident_time"] = iso_utc(incident)
    if store is not None:
        texts = _add_evidence(g, store, incident)
        _derive_same_ssh_key(g)
        derive_names(g, case, texts)
        from .fingerprints import derive_shared_fingerprints

        derive_shared_fingerprints(g)
    finish_labels(g)
    return g


def _answers(g: nx.MultiDiGraph, store: EvidenceReader) -> list[GraphAnswer]:
    """(observed_at, id, source, parsed) of every usable newest answer, oldest first."""
    rows, g.graph["failed_observations"] = store.graph_answers()
    out = [r for r in rows if r[3] is not None]
    g.graph["unparsed_observations"] = len(rows) - len(out)
    g.graph["observations"] = len(out)
    return out


def _add_evidence(g: nx.MultiDiGraph, store: EvidenceReader, incident: datetime | None) -> list[Any]:
    """Add every usable answer's facts and node attributes; return the texts that may name someone."""
    merged: dict[tuple[str, str, str], _Merged] = {}
    texts: list[Any] = []
    for observed_at, obs_id, source, parsed in _answers(g, store):
        texts.extend(texts_of(obs_id, source, observed_at, parsed))
        for raw in parsed.get("facts") or ():
            try:
                fact = Fact.from_json(raw)
            except (KeyError, TypeError):
                continue  # a malformed fact in an old parse: the rest of the answer still counts
            merged.setdefault((fact.subject, fact.relation, fact.object), _Merged()).add(
                source, obs_id, observed_at, fact)
        for nid, attrs in sorted((parsed.get("nodes") or {}).items()):
            data = ensure_node(g, nid)
            for k, v in (attrs or {}).items():
                if k in ("kind", "in_case", "standing") or (k == "label" and data.get("in_case")):
                    continue  # the case file names its own entities
                data[k] = v
    for (s, r, o) in sorted(merged):
        ensure_node(g, s)
        ensure_node(g, o)
        g.add_edge(s, o, key=r, **merged[(s, r, o)].edge_attrs(r, incident))
    return texts


def _owner_ip(g: nx.MultiDiGraph, node: str) -> str | None:
    kind, value = split_node_id(node)
    if kind == "ip":
        return node
    if kind != "service":
        return None
    for pred, _, data in g.in_edges(node, data=True):
        if data.get("kind") == "has_service" and pred.startswith("ip:"):
            return pred
    host = value.rpartition(":")[0]  # service:<ip>:<port>/<proto>
    return ip_id(host) if host else None


def _derive_same_ssh_key(g: nx.MultiDiGraph) -> None:
    """same_ssh_key between IPs whose host key (on the IP or one of its services) is the same."""
    found: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for key_node in sorted(n for n, k in g.nodes(data="kind") if k == "sshkey"):
        ips: dict[str, list[dict[str, Any]]] = {}
        for holder, _, data in g.in_edges(key_node, data=True):
            ip = _owner_ip(g, holder) if data.get("kind") == "serves_ssh_key" else None
            if ip:
                ips.setdefault(ip, []).append(data)
                if holder != ip and g.has_edge(ip, holder, "has_service"):
                    ips[ip].append(g.edges[ip, holder, "has_service"])
        if len(ips) > SSH_KEY_SHARED_LIMIT:
            g.nodes[key_node]["shared_infrastructure"] = True
            continue
        for a, b in combinations(sorted(ips), 2):
            found.setdefault((a, b), []).extend((key_node, d) for d in ips[a] + ips[b])
    for (a, b), supports in sorted(found.items()):
        datas = [d for _, d in supports]
        ensure_node(g, a)
        ensure_node(g, b)
        g.add_edge(a, b, key="same_ssh_key", kind="same_ssh_key", claim=False, derived=True,
                   via=names(k for k, _ in supports), evidence=evidence_tuple(gathered(datas, "evidence")),
                   sources=names(gathered(datas, "sources")),
                   confidence=min(float(d.get("confidence", DEFAULT_CONFIDENCE)) for _, d in supports),
                   observed_at=max(str(d.get("observed_at", "")) for _, d in supports))


# -- the case file ------------------------------------------------------------------------------

def _text(value: Any) -> Any:
    """Enums as their values, dates as ISO text; everything else as it is."""
    if value is None:
        return None
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _set(data: dict[str, Any], **attrs: Any) -> None:
    data.update({k: _text(v) for k, v in attrs.items() if v not in (None, "", [], {})})


def ensure_node(g: nx.MultiDiGraph, nid: str, **attrs: Any) -> dict[str, Any]:
    """The node's attribute dict, creating the node (kind from its id, not in the case) if new."""
    if nid not in g:
        g.add_node(nid, kind=split_node_id(nid)[0], in_case=False)
    data = g.nodes[nid]
    _set(data, **attrs)
    return data


def _case_node(g: nx.MultiDiGraph, nid: str, **attrs: Any) -> dict[str, Any]:
    data = ensure_node(g, nid, **attrs)
    data["in_case"] = True
    return data


def _case_edge(g: nx.MultiDiGraph, s: str, relation: str, o: str, source: str, standing: Any,
               sources: str = CASE_SOURCE) -> None:
    g.add_edge(s, o, key=relation, kind=relation, claim=False, sources=(sources,), source=source,
               standing=_text(standing), confidence=CASE_FACT_CONFIDENCE.get(relation, DEFAULT_CONFIDENCE))


def add_case(g: nx.MultiDiGraph, case: Case) -> datetime | None:
    """The case file's incidents, brands, companies, indicators and claims; returns the time of
    the main incident (UTC), which bounds `at_incident`."""
    for inc in case.incidents:
        when = inc.time.isoformat(sep=" ", timespec="minutes") if inc.time else inc.period
        _case_node(g, incident_id(inc.id), label=" ".join(x for x in (inc.exchange, "incident", when) if x),
                   time=iso_utc(inc.time) if inc.time else None, time_as_written=inc.time, period=inc.period,
                   incident_kind=inc.kind, exchange=inc.exchange, victim=inc.victim, assets=list(inc.assets),
                   losses=[f"{loss.amount} {loss.currency}" for loss in inc.losses],
                   report_type=inc.report_type, description=inc.description, source=inc.source,
                   standing=inc.standing)
    for brand in case.brands:
        broker = brand.broker
        _case_node(g, brand_id(brand.id), label=brand.name, name_zh=brand.name_zh,
                   pinyin=brand.name_pinyin, description=brand.description, founded=brand.founded,
                   location=brand.location, broker_exchange=broker and broker.exchange,
                   broker_program=broker and broker.program, fast_api=broker.fast_api if broker else None,
                   notes=brand.notes, source=brand.source, standing=brand.standing)
    for co in case.companies:
        decoded = co.decoded
        cid = company_id(co.uscc or co.name)
        _case_node(g, cid, label=co.name, pinyin=co.name_pinyin, uscc=co.uscc, status=co.status,
                   status_as_written=co.status_as_written, founded=co.founded,
                   deregistered=co.deregistered, abnormal_operations=co.abnormal_operations,
                   notes=co.notes, source=co.source, standing=co.standing,
                   first_seen=co.founded, last_seen=co.deregistered)
        if co.legal_representative:
            pid = person_id(co.legal_representative)
            original = co.legal_representative_original
            _case_node(g, pid, label=co.legal_representative, pinyin=co.legal_representative_pinyin,
                       as_written=original if original != co.legal_representative else None)
            _case_edge(g, pid, "legal_representative_of", cid, co.source, co.standing)
        if co.address:
            _case_node(g, address_id(co.address), label=co.address)
            _case_edge(g, cid, "registered_at", address_id(co.address), co.source, co.standing)
        if decoded is not None and decoded.division_code:
            rid = region_id(decoded.division_code)
            _case_node(g, rid, label=decoded.division_name or decoded.division_code,
                       province=decoded.province_name)
            _case_edge(g, cid, "in_district", rid, co.source, co.standing, sources="uscc")
    for ind in case.indicators():
        _case_node(g, ind.node_id, label=ind.display, value=ind.value,
                   as_written=ind.original if ind.original != ind.value else None,
                   case_label=ind.label, note=ind.note,
                   # only an account has a platform, a handle and a profile URL
                   platform=getattr(ind, "platform", None), handle=getattr(ind, "handle", None),
                   profile_url=getattr(ind, "url", None), source=ind.source, standing=ind.standing)
    for claim in case.claims:
        relation = _text(claim.relation)
        for nid in (claim.subject, claim.object):
            if nid not in g:
                _case_node(g, nid)
        attrs = dict(kind=relation, claim=True, standing=_text(claim.standing), source=claim.source,
                     text=claim.text, sources=(CASE_SOURCE,), confidence=CLAIM_CONFIDENCE)
        if claim.quote:
            attrs["quote"] = claim.quote
        g.add_edge(claim.subject, claim.object, key=f"claim:{relation}", **attrs)
    t = case.incident.time if case.incident is not None else None
    return t.astimezone(timezone.utc) if t is not None else None


def default_label(nid: str) -> str:
    kind, value = split_node_id(nid)
    if kind in ("domain", "nameserver"):
        return domain_display(value)
    if kind == "email":
        return email_display(value)
    if kind == "url":
        return url_display(value)
    return value or nid


def finish_labels(g: nx.MultiDiGraph) -> None:
    """Every node gets a label; Chinese labels also a pinyin reading; a host name whose letters
    mix scripts (Cyrillic 'а' in 'exаmple.com') is flagged possible_homograph, whichever source
    named it (web pages flag their own; certificates, DNS and WHOIS name hosts too)."""
    for nid, data in g.nodes(data=True):
        kind, value = split_node_id(nid)
        if kind in ("domain", "nameserver") and "xn--" in value and possible_homograph(domain_display(value)):
            data["possible_homograph"] = True
        if not isinstance(data.get("label"), str) or not data["label"].strip():
            data["label"] = default_label(nid)
        label = data["label"]
        if "pinyin" not in data and any(is_han(ch) for ch in label):
            data["pinyin"] = person_pinyin(label) if data.get("kind") == "person" else to_pinyin(label)
