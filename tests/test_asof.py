"""`--as-of`: which edges held at a date, on a hand-built graph (the CLI is in test_archive_e2e)."""

from __future__ import annotations

import networkx as nx
import pytest

from osint.errors import OsintError
from osint.graph.asof import as_of, parse_as_of


def _graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_node("brand:lab", kind="brand", in_case=True)
    g.add_node("ip:192.0.2.10", kind="ip", in_case=True)
    edges = [
        ("ip:192.0.2.10", "brand:lab", "alleged_server_of", {"claim": True}),
        ("domain:a.example", "ip:192.0.2.10", "resolves_to",  # passive DNS span
         {"sources": ("pdns",), "first_seen": "2022-01-01", "last_seen": "2023-02-01"}),
        ("domain:b.example", "ip:192.0.2.10", "resolves_to",  # seen today by DNS: no span
         {"sources": ("dns",), "observed_at": "2026-01-05T10:00:00Z"}),
        ("certificate:crtsh-1", "domain:a.example", "certificate_names",  # still valid: open end
         {"sources": ("ct",), "first_seen": "2023-03-01T00:00:00Z"}),
        ("org:Lab Org", "company:91440300MA5LAB018T", "similar_name", {"sources": ("cn-registry",), "score": 0.9}),
        ("company:91440300MA5LAB018T", "address:x", "registered_at", {"sources": ("case",)}),
    ]
    for u, v, k, d in edges:
        g.add_edge(u, v, key=k, kind=k, claim=d.pop("claim", False), **d)
    return g


def kinds(g):
    return {(u, k) for u, _, k in g.edges(keys=True)}


def test_only_what_held_then_stays():
    g = _graph()
    then = as_of(g, *parse_as_of("2022-06-01"))
    assert kinds(then) == {("ip:192.0.2.10", "alleged_server_of"), ("domain:a.example", "resolves_to"),
                           ("org:Lab Org", "similar_name"), ("company:91440300MA5LAB018T", "registered_at")}
    assert "domain:b.example" not in then and "brand:lab" in then  # case nodes stay, orphans go
    assert then.graph["as_of"] == "2022-06-01T00:00:00Z/2022-06-01T23:59:59Z"
    later = as_of(g, *parse_as_of("2023-03-21T01:00:00+08:00"))
    assert ("certificate:crtsh-1", "certificate_names") in kinds(later)
    assert ("domain:a.example", "resolves_to") not in kinds(later)
    today = as_of(g, *parse_as_of("2026-01-05"))
    assert ("domain:b.example", "resolves_to") in kinds(today)  # observed that day
    assert g.number_of_edges() == 6  # the graph itself is untouched


def test_dates_are_read_as_written():
    start, end = parse_as_of("2023-03-21T01:00:00+08:00")
    assert start == end and start.isoformat() == "2023-03-20T17:00:00+00:00"
    assert parse_as_of("incident", "2023-03-20T17:00:00Z")[0] == start
    with pytest.raises(OsintError, match="not a date"):
        parse_as_of("yesterday")
    with pytest.raises(OsintError, match="no incident time"):
        parse_as_of("incident", None)
