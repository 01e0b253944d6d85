"""GEXF for Gephi: valid against the official GEXF 1.3 RelaxNG schema, readable by two independent
readers (networkx, graphology-gexf), typed values with nothing empty or "None", time spells,
parallel edges, hostile text, atomic and byte-identical output."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from osint.export import export, export_gexf
from osint.export.gexf import NS, VIZ, write_gexf
from osint.graph import build_graph
from test_graph_fixtures import REPO, antbot, hostile_graph, seeds_case  # noqa: F401

SCHEMA = Path(__file__).parents[1].parent / "shared" / "gexf" / "1.3" / "gexf.rng"
READER = REPO / "tests" / "js" / "read_gexf.mjs"
GRAPHOLOGY = REPO / "node_modules" / "graphology-gexf"
G = f"{{{NS}}}"


def assert_valid(path: Path) -> etree._ElementTree:
    """Well-formed, and valid against GEXF 1.3 where the shared schemas are present."""
    doc = etree.parse(str(path))  # raises on anything not well-formed
    if SCHEMA.exists():
        schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
        assert schema.validate(doc), schema.error_log
    return doc


HAVE_GRAPHOLOGY = shutil.which("node") is not None and GRAPHOLOGY.exists()


def read_with_graphology(path: Path) -> dict | None:
    """What graphology-gexf reads; None where node or node_modules is missing (the check is then
    skipped: see test_graphology_is_installed)."""
    if not HAVE_GRAPHOLOGY:
        return None
    out = subprocess.run(["node", str(READER), str(path)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not HAVE_GRAPHOLOGY, reason="node or node_modules/graphology-gexf missing: run `npm ci`")
def test_graphology_is_installed(tmp_path: Path, seeds_case):
    path = tmp_path / "g.gexf"
    g = build_graph(seeds_case, None)
    export_gexf(g, path)
    assert read_with_graphology(path)["nodes"] == g.number_of_nodes()


@pytest.mark.skipif(not SCHEMA.exists(), reason="../shared/gexf is not there")
def test_schema_is_the_official_one_and_rejects_networkx_output(tmp_path: Path, seeds_case):
    # What the issue is about: networkx's own writer does not pass, ours does.
    g = build_graph(seeds_case, None)
    plain = nx.MultiDiGraph()
    plain.add_edges_from((u, v, k) for u, v, k in g.edges(keys=True))
    nx.write_gexf(plain, tmp_path / "nx.gexf", version="1.2draft")
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    assert not schema.validate(etree.parse(str(tmp_path / "nx.gexf")))


def test_case_graph_is_valid_and_reads_back_in_networkx_and_graphology(tmp_path: Path, antbot):
    case, store, _ = antbot
    g = build_graph(case, store)
    path = tmp_path / "case.gexf"
    assert export_gexf(g, path) == [path]
    assert_valid(path)

    back = nx.read_gexf(path)
    assert (back.number_of_nodes(), back.number_of_edges()) == (g.number_of_nodes(), g.number_of_edges())
    edge = next(d for _, _, d in back.edges(data=True) if d.get("kind") == "resolves_to" and "pdns" in d["sources"])
    assert edge["confidence"] == 0.99 and edge["claim"] is False and edge["at_incident"] is True
    assert edge["evidence"] and edge["spells"] == [("2022-11-01", "2023-05-01")]
    assert back.nodes["ip:101.36.108.79"]["in_case"] is True

    js = read_with_graphology(path)
    if js is not None:
        assert (js["nodes"], js["edges"], js["labelled"]) == (g.number_of_nodes(), g.number_of_edges(),
                                                              g.number_of_nodes())


def test_every_value_is_declared_typed_and_present(tmp_path: Path, antbot):
    case, store, _ = antbot
    path = tmp_path / "case.gexf"
    export_gexf(build_graph(case, store), path)
    doc = assert_valid(path)
    declared = {(a.getparent().get("class"), a.get("id")): a.get("type") for a in doc.iter(f"{G}attribute")}
    assert declared[("edge", "confidence")] == "double" and declared[("edge", "claim")] == "boolean"
    assert declared[("node", "in_case")] == "boolean" and declared[("edge", "evidence")] == "string"
    for value in doc.iter(f"{G}attvalue"):
        cls = value.getparent().getparent().tag.removeprefix(G)
        assert (cls, value.get("for")) in declared
        assert value.get("value").strip() not in ("", "None", "null", "nan", "NaN")
        if declared[(cls, value.get("for"))] == "double":
            float(value.get("value"))
    graph = doc.find(f"{G}graph")
    assert (graph.get("mode"), graph.get("timeformat"), graph.get("defaultedgetype")) == ("dynamic", "date", "directed")
    for edge in doc.iter(f"{G}edge"):
        assert edge.get("id") and edge.get("label") and edge.get("kind") and 0 < float(edge.get("weight")) <= 1
    for node in doc.iter(f"{G}node"):
        assert node.get("label")
        assert node.find(f"{{{VIZ}}}color") is not None and float(node.find(f"{{{VIZ}}}size").get("value")) > 0
    ids = [e.get("id") for e in doc.iter(f"{G}edge")]
    assert len(ids) == len(set(ids))


def test_parallel_edges_survive_as_distinct_kinds(tmp_path: Path, seeds_case):
    g = build_graph(seeds_case, None)
    # The same relation as a claim and as evidence, between the same two nodes.
    g.add_edge("brand:antbot", "email:business@antrade.io", key="uses_email", kind="uses_email", claim=False,
               evidence=("ev1",), sources=("web",), confidence=0.5)
    path = tmp_path / "p.gexf"
    export_gexf(g, path)
    doc = assert_valid(path)
    kinds = sorted(e.get("kind") for e in doc.iter(f"{G}edge")
                   if (e.get("source"), e.get("target")) == ("brand:antbot", "email:business@antrade.io"))
    assert kinds == ["claim:uses_email", "uses_email"]
    assert nx.read_gexf(path).number_of_edges() == g.number_of_edges()
    js = read_with_graphology(path)
    if js is not None:
        assert js["edges"] == g.number_of_edges() and js["multi"] is True


def test_spells_are_days_and_an_inverted_span_gets_none(tmp_path: Path):
    g = nx.MultiDiGraph()
    g.add_node("ip:192.0.2.1", kind="ip", label="192.0.2.1", first_seen="2023-01-05")
    g.add_node("domain:a.test", kind="domain", label="a.test")
    g.add_edge("domain:a.test", "ip:192.0.2.1", key="resolves_to", kind="resolves_to",
               first_seen="2023-03-20T23:30:00-05:00", last_seen="2023-04-01T00:00:00Z", confidence=0.9)
    g.add_edge("ip:192.0.2.1", "domain:a.test", key="ptr", kind="ptr",
               first_seen="2024-01-01T00:00:00Z", last_seen="2023-01-01T00:00:00Z", confidence=0.8)
    g.add_edge("ip:192.0.2.1", "domain:a.test", key="mentions", kind="mentions", first_seen="not a date")
    path = tmp_path / "t.gexf"
    export_gexf(g, path)
    doc = assert_valid(path)
    spells = {e.get("kind"): [(s.get("start"), s.get("end")) for s in e.iter(f"{G}spell")] for e in doc.iter(f"{G}edge")}
    assert spells == {"resolves_to": [("2023-03-21", "2023-04-01")], "ptr": [], "mentions": []}
    node = next(n for n in doc.iter(f"{G}node") if n.get("id") == "ip:192.0.2.1")
    assert [(s.get("start"), s.get("end")) for s in node.iter(f"{G}spell")] == [("2023-01-05", None)]


def test_a_graph_without_time_is_static(tmp_path: Path):
    g = nx.MultiDiGraph()
    g.add_edge("a", "b", key="x")
    path = tmp_path / "s.gexf"
    export_gexf(g, path)
    graph = assert_valid(path).find(f"{G}graph")
    assert graph.get("mode") == "static" and graph.get("timeformat") is None


def test_hostile_text_is_cleaned_never_written(tmp_path: Path, hostile_graph):
    path = tmp_path / "h.gexf"
    export_gexf(hostile_graph, path)
    raw = path.read_bytes()
    for bad in (b"\x00", b"\x01", b"\x07", b"\x1b", b"\x7f", "\ufffe".encode(), "\x85".encode()):
        assert bad not in raw
    doc = assert_valid(path)
    labels = [n.get("label") for n in doc.iter(f"{G}node")]
    assert any("\u202e" in label and "\U0001F4A3" in label and "<b>&amp;</b>" in label for label in labels)
    assert max(len(label) for label in labels) >= 10_000
    back = nx.read_gexf(path)
    assert back.number_of_nodes() == hostile_graph.number_of_nodes()
    assert back.number_of_edges() == hostile_graph.number_of_edges()
    js = read_with_graphology(path)
    if js is not None:
        assert (js["nodes"], js["edges"]) == (hostile_graph.number_of_nodes(), hostile_graph.number_of_edges())


def test_a_failed_export_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch):
    path = tmp_path / "g.gexf"
    path.write_text("old")
    g = nx.MultiDiGraph()
    g.add_edge("a", "b")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("osint.export.gexf._write_edge", boom)
    with pytest.raises(RuntimeError):
        export(g, "gexf", path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.gexf"]


def test_the_committed_case_graph_is_what_the_case_file_gives(tmp_path: Path, seeds_case):
    committed = REPO / "graphs" / "antbot-binance-2023.case-only.gexf"
    assert committed.exists(), "graphs/antbot-binance-2023.case-only.gexf is missing: build it (graphs/README.md)"
    export_gexf(build_graph(seeds_case, None), tmp_path / "fresh.gexf")
    assert (tmp_path / "fresh.gexf").read_bytes() == committed.read_bytes(), (
        "graphs/antbot-binance-2023.case-only.gexf is out of date: rebuild it with the command in graphs/README.md")
    assert_valid(committed)


values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
                   st.lists(st.one_of(st.text(), st.integers()), max_size=3))


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.text(max_size=30), min_size=1, max_size=6),
       attrs=st.dictionaries(st.sampled_from(["label", "context", "first_seen", "score", "x"]), values, max_size=4))
def test_any_text_and_values_give_a_valid_gexf(ids, attrs):
    g = nx.MultiDiGraph()
    for i, nid in enumerate(ids):
        g.add_node(nid, kind="org", **attrs)
        g.add_edge(nid, ids[0], key=f"k{i}", kind="mentions", **attrs)
    buf = io.BytesIO()
    write_gexf(g, buf)
    doc = etree.fromstring(buf.getvalue())  # well-formed whatever came in
    if SCHEMA.exists():
        schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
        assert schema.validate(doc), schema.error_log
    assert len(doc.findall(f".//{G}node")) == g.number_of_nodes()
    assert len(doc.findall(f".//{G}edge")) == g.number_of_edges()
