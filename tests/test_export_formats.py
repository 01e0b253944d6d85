"""GraphML, node-link JSON and CSV: every export re-read by an independent reader, hostile text
survives cleanly, spreadsheets cannot run formulas, and the same graph gives the same bytes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import networkx as nx
import pytest

from osint.export import DATA_FORMATS, ExportError, FORMATS, default_path, export
from osint.export.csv import csv_paths, neutralise
from osint.graph import build_graph
from test_graph_fixtures import antbot, hostile_graph, seeds_case  # noqa: F401


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def counts_of(fmt: str, files: list[Path]) -> tuple[int, int]:
    """(nodes, edges) as an independent reader sees the file(s)."""
    if fmt == "gexf":
        g = nx.read_gexf(files[0])
        return g.number_of_nodes(), g.number_of_edges()
    if fmt == "graphml":
        g = nx.read_graphml(files[0], force_multigraph=True)
        return g.number_of_nodes(), g.number_of_edges()
    if fmt == "json":
        doc = json.loads(files[0].read_text("utf-8"))
        g = nx.node_link_graph(doc, edges="links")
        assert (g.number_of_nodes(), g.number_of_edges()) == (len(doc["nodes"]), len(doc["links"]))
        return len(doc["nodes"]), len(doc["links"])
    nodes, edges = read_csv(files[0]), read_csv(files[1])
    return len(nodes), len(edges)


@pytest.mark.parametrize("fmt", DATA_FORMATS)
def test_every_format_reads_back_with_every_node_and_edge(tmp_path: Path, antbot, fmt):
    case, store, _ = antbot
    g = build_graph(case, store)
    files = export(g, fmt, tmp_path / f"case.{fmt}")
    assert all(f.exists() for f in files)
    assert counts_of(fmt, files) == (g.number_of_nodes(), g.number_of_edges())


def test_png_of_a_hostile_graph_is_a_picture(tmp_path: Path, hostile_graph):
    [path] = export(hostile_graph, "png", tmp_path / "h.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.mark.parametrize("fmt", DATA_FORMATS)
def test_hostile_text_in_every_format(tmp_path: Path, hostile_graph, fmt):
    files = export(hostile_graph, fmt, tmp_path / f"h.{fmt}")
    assert counts_of(fmt, files) == (hostile_graph.number_of_nodes(), hostile_graph.number_of_edges())
    for f in files:
        text = f.read_bytes().decode("utf-8")  # no lone surrogate could be encoded
        assert not any(ch in text for ch in "\x00\x01\x07\x1b\x7f\x85\ufffe\uffff\ud800")
        assert "\u202e" in text and "\U0001F4A3" in text
        assert "None" not in text.replace("NoneType", "") and "NaN" not in text and "Infinity" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_graph_same_bytes(tmp_path: Path, antbot, fmt):
    case, store, _ = antbot
    first = export(build_graph(case, store), fmt, tmp_path / "a" / f"case.{fmt}")
    second = export(build_graph(case, store), fmt, tmp_path / "b" / f"case.{fmt}")
    assert [f.read_bytes() for f in first] == [f.read_bytes() for f in second]


def test_graphml_values_keep_their_types(tmp_path: Path, antbot):
    case, store, _ = antbot
    [path] = export(build_graph(case, store), "graphml", tmp_path / "c.graphml")
    g = nx.read_graphml(path, force_multigraph=True)
    edge = next(d for _, _, d in g.edges(data=True) if d.get("kind") == "resolves_to" and "pdns" in d.get("sources", ""))
    assert edge["confidence"] == 0.99 and edge["at_incident"] is True and edge["evidence"].startswith("ev")
    assert g.nodes["ip:101.36.108.79"]["in_case"] is True and g.nodes["ip:101.36.108.79"]["color"] == "#4DAF4A"


def test_json_is_node_link_with_colours_and_ids(tmp_path: Path, antbot):
    case, store, _ = antbot
    [path] = export(build_graph(case, store), "json", tmp_path / "c.json")
    doc = json.loads(path.read_text("utf-8"))
    assert doc["directed"] is True and doc["multigraph"] is True and doc["graph"]["case_id"] == "antbot-binance-2023"
    node = next(n for n in doc["nodes"] if n["id"] == "brand:antbot")
    assert node["color"] == "#FF7F00" and node["size"] > 10 and node["label"] == "AntBot"
    ids = {n["id"] for n in doc["nodes"]}
    assert all(link["source"] in ids and link["target"] in ids and link["id"] for link in doc["links"])
    assert len({link["id"] for link in doc["links"]}) == len(doc["links"])


def test_csv_is_gephi_spreadsheet_format(tmp_path: Path, antbot):
    case, store, _ = antbot
    g = build_graph(case, store)
    nodes_path, edges_path = export(g, "csv", tmp_path / "out")
    assert (nodes_path.name, edges_path.name) == ("nodes.csv", "edges.csv")
    nodes, edges = read_csv(nodes_path), read_csv(edges_path)
    assert list(nodes[0])[:3] == ["Id", "Label", "Kind"]
    assert list(edges[0])[:11] == ["Source", "Target", "Type", "Id", "Label", "Kind", "Weight", "Evidence",
                                   "Sources", "First seen", "Last seen"]
    ids = {n["Id"] for n in nodes}
    assert all(e["Source"] in ids and e["Target"] in ids and e["Type"] == "Directed" for e in edges)
    row = next(e for e in edges if e["Label"] == "resolves_to" and "pdns" in e["Sources"])
    assert row["First seen"] == "2022-11-01T00:00:00Z" and row["At incident"] == "true" and row["Weight"] == "0.99"
    assert nodes_path.read_bytes()[:2] == b"Id"  # no byte-order mark in front of Gephi's Id column


def test_csv_cells_never_start_a_formula(tmp_path: Path, hostile_graph):
    nodes_path, edges_path = export(hostile_graph, "csv", tmp_path / "h.csv")
    assert (nodes_path.name, edges_path.name) == ("h.nodes.csv", "h.edges.csv")
    for path in (nodes_path, edges_path):
        for row in read_csv(path):
            for header, value in row.items():
                if header not in ("Weight", "Confidence", "Neg", "Score", "Big", "Count"):
                    assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (header, value)
    titles = [r["Title"] for r in read_csv(nodes_path) if r.get("Title")]
    assert titles == ["'=cmd|' /C calc'!A0"]
    assert neutralise("-1") == "'-1" and neutralise("ok") == "ok"


def test_csv_paths():
    assert csv_paths("graphs/case.csv") == (Path("graphs/case.nodes.csv"), Path("graphs/case.edges.csv"))
    assert csv_paths("graphs/out") == (Path("graphs/out/nodes.csv"), Path("graphs/out/edges.csv"))
    assert default_path("antbot-binance-2023", "gexf") == Path("graphs/antbot-binance-2023.gexf")


def test_an_unknown_format_is_a_user_error(tmp_path: Path):
    with pytest.raises(ExportError, match="choose one of gexf, graphml, json, csv"):
        export(nx.MultiDiGraph(), "dot", tmp_path / "x.dot")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unwritable_output_is_one_clear_error_and_leaves_nothing(tmp_path: Path, antbot, fmt):
    from osint.errors import OutputError

    case, store, _ = antbot
    g = build_graph(case, store)
    out = tmp_path / "out"
    out.mkdir()
    blocker = out / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError, match=r"^cannot write .*a-file/case\.[\w.]+: .*a-file is not a folder$"):
        export(g, fmt, blocker / f"case.{fmt}")
    taken = out / "taken"
    (taken / "taken.nodes.csv" if fmt == "csv" else taken).mkdir(parents=True)
    target = taken if fmt != "csv" else taken / "taken.csv"  # csv writes <prefix>.nodes.csv: a folder here
    with pytest.raises(OutputError, match=r"^cannot write .*: Is a directory$"):
        export(g, fmt, target)
    assert sorted(p.name for p in out.rglob("*")) == sorted(
        ["a-file", "taken"] + (["taken.nodes.csv"] if fmt == "csv" else []))
