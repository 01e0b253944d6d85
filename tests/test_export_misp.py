"""MISP export: the event pymisp reads back holds every indicator of the graph, in MISP's standard
objects, each attribute tagged with the evidence it rests on; same graph, same bytes."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import networkx as nx
from hypothesis import HealthCheck, given, settings
from pymisp import MISPEvent

from osint.export import default_path, export
from osint.export.misp import ATTRIBUTE_TYPE, CATEGORY, indicator_value
from osint.graph import build_graph
from test_graph_fixtures import antbot, hostile_graph, seeds_case  # noqa: F401

# Which MISP attribute types carry which of our indicator categories.
TYPES_OF = {"ip": {"ip-dst", "ip-src"}, "host": {"domain", "hostname"},
            "email": {"email", "email-dst", "whois-registrant-email"}, "url": {"url"}, "asn": {"AS"},
            "certificate": {"x509-fingerprint-sha256"}}


def load(path: Path) -> MISPEvent:
    event = MISPEvent()
    event.load_file(str(path))
    return event


def every_attribute(event: MISPEvent) -> list:
    return list(event.attributes) + [a for o in event.objects for a in o.attributes]


def graph_indicators(g: nx.MultiDiGraph) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {c: set() for c in TYPES_OF}
    for node, kind in g.nodes(data="kind"):
        if kind in ATTRIBUTE_TYPE and (value := indicator_value(kind, node)):
            out[CATEGORY[kind]].add(value)
    return out


def event_indicators(event: MISPEvent) -> dict[str, set[str]]:
    return {c: {str(a.value) for a in every_attribute(event) if a.type in types} for c, types in TYPES_OF.items()}


def test_the_event_reads_back_with_every_indicator_of_the_graph(tmp_path: Path, antbot):
    case, store, ids = antbot
    g = build_graph(case, store)
    [path] = export(g, "misp", tmp_path / "case.misp.json")
    event = load(path)
    assert event.info == g.graph["title"] and str(event.date) == "2023-03-20"  # 01:00 UTC+8 is the 20th in UTC
    expected = graph_indicators(g)
    assert {c: len(v) for c, v in event_indicators(event).items()} == {c: len(v) for c, v in expected.items()}
    assert event_indicators(event) == expected
    assert sum(len(v) for v in expected.values()) > 20
    names = Counter(o.name for o in event.objects)
    assert {"domain-ip", "passive-dns", "whois", "x509", "ip-port", "url"} <= set(names)
    assert not any(a.to_ids for a in every_attribute(event))


def test_standard_objects_carry_what_the_evidence_says(tmp_path: Path, antbot):
    case, store, ids = antbot
    g = build_graph(case, store)
    [path] = export(g, "misp", tmp_path / "c.misp.json")
    event = load(path)

    def obj(name: str, relation: str, value: str):
        return next(o for o in event.objects if o.name == name
                    and any(a.object_relation == relation and str(a.value) == value for a in o.attributes))

    def attr(o, relation: str):
        return next(a for a in o.attributes if a.object_relation == relation)

    def tags(a) -> set[str]:
        return {t.name for t in a.tags}

    pdns = obj("passive-dns", "rrname", "antrade.io")
    assert str(attr(pdns, "rdata").value) == "101.36.108.79" and str(attr(pdns, "rrtype").value) == "A"
    assert attr(pdns, "time_first").value.isoformat() == "2022-11-01T00:00:00+00:00"
    assert str(attr(pdns, "count").value) == "42"
    assert f'osint:evidence="ev{ids["pdns"]}"' in tags(attr(pdns, "rdata"))
    whois = obj("whois", "domain", "antrade.io")
    assert str(attr(whois, "registrar").value) == "Lab Registrar"
    assert str(attr(whois, "registrant-email").value) == "admin@antrade.io"
    assert tags(attr(whois, "registrar")) == {f'osint:evidence="ev{ids["whois"]}"'}
    assert attr(whois, "creation-date").value.isoformat().startswith("2020-08-01")
    x509 = obj("x509", "x509-fingerprint-sha256", "ab" * 32)
    assert str(attr(x509, "dns_names").value) == "api.antrade.io"
    port = obj("ip-port", "dst-port", "443")
    assert str(attr(port, "ip").value) == "165.154.60.119" and str(attr(port, "AS").value) == "AS135377"
    assert f'osint:evidence="ev{ids["shodan_b"]}"' in tags(attr(port, "ip"))
    assert "osint:in-case" in tags(attr(port, "ip"))
    # An indicator that only the case file ties to the case says so.
    alleged = next(a for a in event.attributes if str(a.value) == "165.154.41.100")
    assert tags(alleged) == {"osint:in-case", "osint:claim"}
    # The superseded passive DNS answer is nobody's evidence.
    assert not any(f'"ev{ids["pdns_old"]}"' in t for a in every_attribute(event) for t in tags(a))


def test_same_graph_same_event_bytes(tmp_path: Path, antbot):
    case, store, _ = antbot
    [a] = export(build_graph(case, store), "misp", tmp_path / "a.json")
    [b] = export(build_graph(case, store), "misp", tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(a.read_text("utf-8"))["Event"]["uuid"]
    assert default_path("lab-case", "misp") == Path("graphs/lab-case.misp.json")


def test_a_hostile_graph_gives_a_clean_event(tmp_path: Path, hostile_graph):
    [path] = export(hostile_graph, "misp", tmp_path / "h.misp.json")
    text = path.read_bytes().decode("utf-8")
    assert not any(ch in text for ch in "\x00\x01\x07\x1b\x7f\x85\ufffe\uffff\ud800")
    event = load(path)
    assert event_indicators(event) == graph_indicators(hostile_graph)
    registrants = [a for o in event.objects if o.name == "whois" for a in o.attributes
                   if a.object_relation == "registrant-org"]
    assert registrants and "\u202e" in str(registrants[0].value)


def _hostile_graphs():
    from test_properties import hostile_graphs

    return hostile_graphs()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=_hostile_graphs())
def test_any_hostile_graph_gives_an_event_pymisp_reads(graph: nx.MultiDiGraph):
    with tempfile.TemporaryDirectory() as tmp:
        [path] = export(graph, "misp", Path(tmp) / "g.misp.json")
        text = path.read_bytes().decode("utf-8")
        assert not any(ch in text for ch in "\x00\x01\x07\x1b\x7f\ufffe\uffff")
        assert event_indicators(load(path)) == graph_indicators(graph)
