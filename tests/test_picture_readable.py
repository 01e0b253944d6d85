"""A readable picture: fans of same-kind leaves are one counted node, and labels do not overlap."""

from __future__ import annotations

import networkx as nx

from osint.export.png import export_png
from osint.graph.collapse import collapse_fans
from osint.report.data import _graph_view


def _case_graph() -> nx.MultiDiGraph:
    """A case's core (brand, servers, sites, e-mails, companies) with a shared host's 300 names and a
    domain's 64 certificates, as realistic servers answer."""
    g = nx.MultiDiGraph(title="synthetic case")
    g.add_node("brand:labbot", kind="brand", label="LabBot", in_case=True)
    core = [f"ip:192.0.2.{i}" for i in range(10, 18)] + ["domain:example.com", "domain:www.example.com",
                                                         "domain:example.net", "email:business@example.com",
                                                         "email:support@example.net"]
    for node in core:
        kind, value = node.split(":", 1)
        g.add_node(node, kind=kind, label=value, in_case=True)
        g.add_edge(node, "brand:labbot", key="claim", kind="website_of", claim=True)
    for i, name in enumerate(("深圳实验蚁网络科技有限公司", "深圳实验蚁信息技术有限公司")):
        g.add_node(f"company:{i}", kind="company", label=name, in_case=True)
        g.add_edge(f"company:{i}", "brand:labbot", key="claim", kind="suspected_operator_of", claim=True)
    g.add_node("ip:203.0.113.30", kind="ip", label="203.0.113.30")
    g.add_edge("domain:example.com", "ip:203.0.113.30", key="resolves_to", kind="resolves_to", evidence=("ev1",),
               sources=("dns",))
    for i in range(300):
        g.add_node(f"domain:site-{i}.example", kind="domain", label=f"site-{i}.example")
        g.add_edge(f"domain:site-{i}.example", "ip:203.0.113.30", key="resolves_to", kind="resolves_to",
                   evidence=(f"ev{100 + i}",), sources=("pdns",))
    for i in range(64):
        g.add_node(f"certificate:crtsh-{i}", kind="certificate", label=f"crtsh-{i}")
        g.add_edge(f"certificate:crtsh-{i}", "domain:example.com", key="names", kind="names",
                   evidence=(f"ev{1000 + i}",), sources=("ct",))
    return g


def test_fans_collapse_into_counted_nodes_that_keep_their_members():
    g = _case_graph()
    view = collapse_fans(g)
    assert g.number_of_nodes() == 1 + 13 + 2 + 1 + 300 + 64  # the graph itself is untouched
    fans = {data["label"]: data for _, data in view.nodes(data=True) if data.get("collapsed")}
    assert set(fans) == {"300 domains", "64 certificates"}
    assert len(fans["300 domains"]["members"]) == 300 and "domain:site-7.example" in fans["300 domains"]["members"]
    assert view.number_of_nodes() == 1 + 13 + 2 + 1 + 2
    fan = next(n for n, d in view.nodes(data=True) if d.get("label") == "64 certificates")
    edge = next(iter(view.get_edge_data(fan, "domain:example.com").values()))
    assert edge["kind"] == "names" and edge["count"] == 64
    assert len(edge["evidence"]) == 64  # the evidence of every folded edge


def test_the_png_labels_every_case_node_and_no_two_labels_overlap(tmp_path):
    g = _case_graph()
    seen = {}
    export_png(g, tmp_path / "case.png", on_labels=lambda drawn, boxes: seen.update(drawn=drawn, boxes=boxes))
    assert (tmp_path / "case.png").stat().st_size > 10_000
    drawn, boxes = seen["drawn"], seen["boxes"]
    assert drawn.number_of_nodes() == 19  # 300 names and 64 certificates are two counted nodes
    case_nodes = [n for n, d in g.nodes(data=True) if d.get("in_case")]
    assert set(case_nodes) <= set(boxes), set(case_nodes) - set(boxes)
    assert {drawn.nodes[n]["label"] for n in boxes} >= {"300 domains", "64 certificates"}
    placed = list(boxes.items())
    for i, (a, box_a) in enumerate(placed):
        for b, box_b in placed[i + 1:]:
            assert not box_a.overlaps(box_b), f"labels of {a} and {b} overlap"


def test_the_report_graph_view_draws_the_fans_with_their_members():
    view = _graph_view(_case_graph())
    fans = [n["data"] for n in view["nodes"] if n["data"]["attrs"].get("collapsed")]
    assert sorted(f["label"] for f in fans) == ["300 domains", "64 certificates"]
    assert len(next(f for f in fans if f["label"] == "300 domains")["attrs"]["members"]) == 300
    assert len(view["nodes"]) == 19
    ids = {n["data"]["id"] for n in view["nodes"]}
    assert all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in view["edges"])
