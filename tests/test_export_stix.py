"""STIX 2.1 export: what a CERT's platform reads. Valid by the OASIS validator, every indicator an
observable, every edge a relationship citing its evidence, claims told apart, same graph same bytes."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from stix2validator import ValidationOptions, validate_string

from osint.export import default_path, export
from osint.graph import build_graph
from test_graph_fixtures import antbot, hostile_graph, seeds_case  # noqa: F401

# SCO type(s) of each indicator kind of the graph.
SCO_OF = {"ip": "ipv4-addr", "domain": "domain-name", "nameserver": "domain-name", "email": "email-addr",
          "url": "url", "asn": "autonomous-system", "certificate": "x509-certificate"}


def validate(path: Path) -> list[str]:
    """The validator's errors (warnings are advice: UUIDv4 ids, open vocabularies)."""
    result = validate_string(path.read_text("utf-8"), ValidationOptions(version="2.1"))
    results = getattr(result, "object_results", None) or [result]
    errors = [str(e) for r in results for e in (r.errors or [])]
    assert result.is_valid == (not errors), errors
    return errors


def objects(path: Path) -> list[dict]:
    doc = json.loads(path.read_text("utf-8"))
    assert doc["type"] == "bundle"
    return doc["objects"]


def test_the_lab_case_is_a_valid_stix_bundle_with_every_indicator(tmp_path: Path, antbot):
    case, store, ids = antbot
    g = build_graph(case, store)
    [path] = export(g, "stix", tmp_path / "case.stix.json")
    assert validate(path) == []
    objs = objects(path)
    by_id = {o["id"]: o for o in objs}
    assert len(by_id) == len(objs)
    # The maintained library reads it back, custom extension and all.
    parsed = stix2.parse(path.read_text("utf-8"), allow_custom=True)
    assert len(parsed.objects) == len(objs)
    # Every indicator node is one observable of its standard type, keeping our node id.
    for kind, sco in SCO_OF.items():
        nodes = {n for n, k in g.nodes(data="kind") if k == kind}
        found = {o["x_osint_node_id"] for o in objs if o["type"] == sco and o.get("x_osint_kind") == kind}
        assert found == nodes, kind
    ip = next(o for o in objs if o.get("x_osint_node_id") == "ip:101.36.108.79")
    assert ip["type"] == "ipv4-addr" and ip["value"] == "101.36.108.79" and ip["x_osint_in_case"] is True
    cert = next(o for o in objs if o["type"] == "x509-certificate")
    assert cert["hashes"] == {"SHA-256": "ab" * 32}
    assert next(o for o in objs if o["type"] == "autonomous-system")["number"] == 135377
    # Companies and organisations are identities, the theft an incident, the case a report over all.
    names = {o["name"] for o in objs if o["type"] == "identity"}
    assert "UCloud" in names and "Lab Registrar" in names
    assert [o["type"] for o in objs].count("incident") == 1
    [report] = [o for o in objs if o["type"] == "report"]
    assert report["x_osint_case_id"] == "antbot-binance-2023" and report["published"].startswith("2023-03-")
    assert set(report["object_refs"]) == {o["id"] for o in objs} - {report["id"]} - {
        o["id"] for o in objs if o["type"] == "grouping"}
    # One relationship per edge, between the objects of its two nodes.
    rels = [o for o in objs if o["type"] == "relationship"]
    assert len(rels) == g.number_of_edges()
    node_of = {o["id"]: o.get("x_osint_node_id") for o in objs}
    assert Counter((node_of[r["source_ref"]], node_of[r["target_ref"]]) for r in rels) == Counter(
        (u, v) for u, v in g.edges())


def test_every_relationship_cites_its_evidence_and_its_time(tmp_path: Path, antbot):
    case, store, ids = antbot
    g = build_graph(case, store)
    [path] = export(g, "stix", tmp_path / "c.stix.json")
    objs = objects(path)
    rels = {(o["x_osint_kind"], o["source_ref"], o["target_ref"]): o for o in objs if o["type"] == "relationship"}
    pdns = next(o for o in rels.values() if o["x_osint_kind"] == "resolves_to" and "pdns" in o.get("x_osint_sources", ""))
    assert pdns["relationship_type"] == "resolves-to" and pdns["confidence"] == 99
    assert pdns["start_time"] == "2022-11-01T00:00:00Z" and pdns["stop_time"] == "2023-05-01T12:00:00Z"
    assert pdns["x_osint_at_incident"] is True
    expected = [f"ev{ids['dns_a']}", f"ev{ids['pdns']}"]
    assert pdns["x_osint_evidence"] == sorted(expected, key=lambda e: int(e[2:]))
    assert [(r["source_name"], r["external_id"]) for r in pdns["external_references"]] == [
        ("osint-evidence", e) for e in pdns["x_osint_evidence"]]
    cited = {r["external_id"] for o in objs for r in o.get("external_references", [])}
    assert f"ev{ids['pdns_old']}" not in cited  # superseded: not evidence of anything
    # Each evidence-backed relationship has a note naming its observations, sources and time.
    notes = {n["object_refs"][0]: n for n in objs if n["type"] == "note"}
    evidenced = [r for r in rels.values() if r.get("x_osint_evidence")]
    assert evidenced and all(notes[r["id"]]["x_osint_evidence"] == r["x_osint_evidence"] for r in evidenced)
    assert "newest observation: 2024-03-01T00:00:00Z" in notes[pdns["id"]]["content"]
    # Every edge's evidence survives: the union over relationships is the graph's.
    graph_ev = {e for _, _, d in g.edges(data=True) for e in d.get("evidence") or ()}
    assert {e for r in rels.values() for e in r.get("x_osint_evidence", [])} == graph_ev


def test_claims_are_told_apart_from_observations(tmp_path: Path, antbot):
    case, store, _ = antbot
    g = build_graph(case, store)
    [path] = export(g, "stix", tmp_path / "c.stix.json")
    objs = objects(path)
    rels = [o for o in objs if o["type"] == "relationship"]
    claims = [r for r in rels if r["x_osint_claim"]]
    assert len(claims) == sum(1 for *_, c in g.edges(data="claim") if c is True) > 0
    assert all(r["confidence"] == 30 and r["description"].startswith("Claim of the case file") for r in claims)
    assert not any("x_osint_evidence" in r for r in claims)
    [grouping] = [o for o in objs if o["type"] == "grouping"]
    assert sorted(grouping["object_refs"]) == sorted(r["id"] for r in claims)
    alleged = next(r for r in claims if r["relationship_type"] == "alleged-server-of")
    assert "§" in alleged["description"]


def test_a_reexport_is_byte_identical_and_ids_do_not_move(tmp_path: Path, antbot):
    case, store, _ = antbot
    [a] = export(build_graph(case, store), "stix", tmp_path / "a.json")
    [b] = export(build_graph(case, store), "stix", tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    # The case file alone: the objects it shares with the enriched graph keep their ids.
    [c] = export(build_graph(case, None), "stix", tmp_path / "c.json")
    ids_a = {o.get("x_osint_node_id"): o["id"] for o in objects(a) if "x_osint_node_id" in o}
    ids_c = {o.get("x_osint_node_id"): o["id"] for o in objects(c) if "x_osint_node_id" in o}
    assert ids_c and all(ids_a[n] == i for n, i in ids_c.items())
    assert default_path("antbot-binance-2023", "stix") == Path("graphs/antbot-binance-2023.stix.json")


def test_a_hostile_graph_is_still_valid_stix(tmp_path: Path, hostile_graph):
    [path] = export(hostile_graph, "stix", tmp_path / "h.stix.json")
    assert validate(path) == []
    text = path.read_bytes().decode("utf-8")
    assert not any(ch in text for ch in "\x00\x01\x07\x1b\x7f\x85\ufffe\uffff\ud800")
    assert "\u202e" in text and "\U0001F4A3" in text
    rels = [o for o in objects(path) if o["type"] == "relationship"]
    assert len(rels) == hostile_graph.number_of_edges()


def _hostile_graphs():
    from test_properties import hostile_graphs

    return hostile_graphs()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=_hostile_graphs())
def test_any_hostile_graph_gives_a_valid_bundle_with_every_node_and_edge(graph: nx.MultiDiGraph):
    with tempfile.TemporaryDirectory() as tmp:
        [path] = export(graph, "stix", Path(tmp) / "g.stix.json")
        assert validate(path) == []
        objs = objects(path)
        nodes = [o for o in objs if "x_osint_node_id" in o]
        # Two hostile ids that clean to the same text are one node, in every format.
        assert 0 < len(nodes) <= graph.number_of_nodes()
        assert sum(o["type"] == "relationship" for o in objs) == graph.number_of_edges()
