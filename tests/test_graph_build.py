"""The graph builder: case entities and claims, evidence merged into one edge per fact, provenance on
every edge, time spans and the incident, derived edges, and no clock in the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from osint.graph import build_graph, confidence
from osint.graph.build import SSH_KEY_SHARED_LIMIT, combine
from test_graph_fixtures import StoreWriter, antbot, fact, fake_case, seeds_case  # noqa: F401


def test_case_only_graph_holds_every_case_entity_and_claim(seeds_case):
    g = build_graph(seeds_case, None)
    kinds = {n: d["kind"] for n, d in g.nodes(data=True)}
    assert kinds["incident:antbot-binance-2023"] == "incident"
    assert kinds["brand:antbot"] == "brand"
    assert kinds["company:91440300MA5GDKFU7E"] == "company"
    assert kinds["person:任俊飞"] == "person"  # the look-alike ⻜ folded by the loader
    assert kinds["region:440300"] == "region"
    for ip in ("101.36.108.79", "122.10.161.141", "165.154.44.65"):
        assert kinds[f"ip:{ip}"] == "ip"
    assert all(d["in_case"] is True for _, d in g.nodes(data=True))
    assert g.graph["incident_time"] == "2023-03-20T17:00:00Z"

    claims = [(u, v, k, d) for u, v, k, d in g.edges(keys=True, data=True) if d["claim"]]
    assert len(claims) == len(seeds_case.claims)
    u, v, k, d = next(c for c in claims if c[0] == "ip:101.36.108.79")
    assert (v, k, d["kind"], d["source"], d["standing"]) == (
        "brand:antbot", "claim:alleged_server_of", "alleged_server_of", "complaint §五", "alleged by the victim")
    assert d["confidence"] < 0.5 and d["sources"] == ("case",)

    person = g.nodes["person:任俊飞"]
    assert person["pinyin"] == "Ren Junfei" and person["as_written"] == "任俊⻜"
    company = g.nodes["company:91440300MA5GDKFU7E"]
    assert company["label"] == "深圳小红蚁信息技术有限公司"
    assert company["pinyin"].startswith("Shenzhen Xiaohongyi")
    assert company["first_seen"] == "2020-09-25" and company["abnormal_operations"] is True
    assert g.nodes["company:91440300MA5GAKDP7P"]["last_seen"] == "2020-12-16"
    edge = g.edges["person:任俊飞", "company:91440300MA5GDKFU7E", "legal_representative_of"]
    assert edge["claim"] is False and edge["sources"] == ("case",)
    assert g.has_edge("company:91440300MA5GDKFU7E", "region:440300", "in_district")
    assert g.has_edge("company:91440300MA5GDKFU7E", "address:深圳市龙华区龙华街道清湖社区金鼎盛科创园A座15层1502",
                      "registered_at")
    assert all(isinstance(d.get("label"), str) and d["label"] for _, d in g.nodes(data=True))


def test_evidence_merges_into_one_edge_per_fact_with_every_observation(antbot):
    case, store, ids = antbot
    g = build_graph(case, store)
    edge = g.edges["domain:antrade.io", "ip:101.36.108.79", "resolves_to"]
    assert edge["evidence"] == (f"ev{ids['pdns']}", f"ev{ids['dns_a']}")
    assert edge["sources"] == ("dns", "pdns")
    assert edge["first_seen"] == "2022-11-01T00:00:00Z" and edge["last_seen"] == "2023-05-01T12:00:00Z"
    assert edge["at_incident"] is True and edge["claim"] is False
    assert edge["observed_at"] == "2024-03-01T00:00:00Z"
    assert edge["confidence"] == combine([0.9, 0.9])
    assert edge["rrtype"] == "A" and edge["count"] == 42
    assert g.number_of_edges("domain:antrade.io", "ip:101.36.108.79") == 1


def test_only_the_newest_answer_to_each_question_counts(antbot):
    case, store, _ = antbot
    g = build_graph(case, store)
    assert "ip:198.51.100.99" not in g  # only the superseded pdns answer had it
    assert g.graph["observations"] == 10
    assert g.graph["unparsed_observations"] == 1
    assert g.graph["failed_observations"] == 1


def test_node_attributes_from_sources_merge_and_case_labels_stand(tmp_path: Path, seeds_case):
    w = StoreWriter(tmp_path / "e.sqlite")
    w.answer("whois", "q1", {"nodes": {"domain:antrade.io": {"created": "2020-01-01", "label": "spoofed",
                                                             "kind": "ip", "status": ["ok"]}}}, at="2024-01-01T00:00:00Z")
    w.answer("rdap", "q2", {"nodes": {"domain:antrade.io": {"created": "2020-08-01"},
                                      "org:Found Co": {"label": "Found Co.", "country": "CN"}}}, at="2024-02-01T00:00:00Z")
    w.answer("whois", "q3", {"nodes": {"domain:antrade.io": {"created": "2019-01-01"}}}, at="2023-01-01T00:00:00Z")
    g = build_graph(seeds_case, w.store)
    node = g.nodes["domain:antrade.io"]
    assert node["created"] == "2020-08-01"  # the newest observation wins, whatever the insertion order
    assert node["status"] == ["ok"]
    assert node["label"] == "antrade.io" and node["kind"] == "domain" and node["in_case"] is True
    assert g.nodes["org:Found Co"]["label"] == "Found Co." and g.nodes["org:Found Co"]["in_case"] is False
    w.store.close()


@pytest.mark.parametrize(("first", "last", "covers"), [
    ("2023-03-01", "2023-03-20", True),  # a bare end date runs to the end of its day (17:00Z is inside)
    ("2023-03-01", "2023-03-19", False),
    ("2023-03-20T17:00:01Z", "2023-04-01T00:00:00Z", False),
    ("2023-03-21T00:59:00+08:00", "2023-03-21T01:00:00+08:00", True),
])
def test_at_incident_is_whether_the_span_covers_the_incident(tmp_path: Path, first, last, covers):
    w = StoreWriter(tmp_path / "e.sqlite")
    w.answer("pdns", "q", {"facts": [fact("domain:x.test", "resolves_to", "ip:192.0.2.1", first, last)]},
             at="2024-01-01T00:00:00Z")
    g = build_graph(fake_case(), w.store)
    assert g.edges["domain:x.test", "ip:192.0.2.1", "resolves_to"]["at_incident"] is covers
    w.store.close()


def test_an_open_span_does_not_claim_the_incident(tmp_path: Path):
    w = StoreWriter(tmp_path / "e.sqlite")
    w.answer("shodan", "q", {"facts": [fact("ip:192.0.2.1", "ptr", "domain:x.test", last="2023-06-01T00:00:00Z")]},
             at="2024-01-01T00:00:00Z")
    g = build_graph(fake_case(), w.store)
    assert "at_incident" not in g.edges["ip:192.0.2.1", "domain:x.test", "ptr"]
    w.store.close()


def test_same_ssh_key_links_the_ips_behind_one_host_key(antbot):
    case, store, ids = antbot
    g = build_graph(case, store)
    edge = g.edges["ip:165.154.60.119", "ip:165.154.60.7", "same_ssh_key"]
    assert edge["via"] == ("sshkey:SHA256:labkey",) and edge["derived"] is True
    assert edge["evidence"] == (f"ev{ids['shodan_a']}", f"ev{ids['shodan_b']}") and edge["sources"] == ("shodan",)


def test_a_host_key_on_too_many_ips_is_shared_not_a_link(tmp_path: Path):
    w = StoreWriter(tmp_path / "e.sqlite")
    facts = [fact(f"ip:192.0.2.{i}", "serves_ssh_key", "sshkey:SHA256:default") for i in range(SSH_KEY_SHARED_LIMIT + 1)]
    w.answer("shodan", "q", {"facts": facts}, at="2024-01-01T00:00:00Z")
    g = build_graph(fake_case(), w.store)
    assert not any(k == "same_ssh_key" for _, _, k in g.edges(keys=True))
    assert g.nodes["sshkey:SHA256:default"]["shared_infrastructure"] is True
    w.store.close()


def test_confidence_rules():
    assert confidence("pdns", "resolves_to", {}) == 0.9
    assert confidence("whois", "registrant", {}) == 0.7
    assert confidence("web", "mentions", {}) == 0.5
    assert confidence("cnregistry", "similar_name", {"score": 0.5}) == 0.4
    assert confidence("newsource", "new_relation", {}) == 0.5
    assert combine([0.5, 0.5]) == 0.75 and combine([0.999, 0.999]) == 0.99


def test_source_attributes_never_overwrite_provenance(tmp_path: Path):
    w = StoreWriter(tmp_path / "e.sqlite")
    w.answer("web", "q", {"facts": [fact("url:http://x.test/", "mentions", "domain:y.test", kind="forged",
                                         evidence="ev999", context="text"),
                                    {"s": "url:http://x.test/", "r": "mentions"}]},  # malformed: skipped
             at="2024-01-01T00:00:00Z")
    g = build_graph(fake_case(), w.store)
    edge = g.edges["url:http://x.test/", "domain:y.test", "mentions"]
    assert edge["kind"] == "mentions" and edge["evidence"] == ("ev1",)
    assert edge["fact_kind"] == "forged" and edge["fact_evidence"] == "ev999" and edge["context"] == "text"
    w.store.close()


def test_building_is_deterministic(antbot):
    case, store, _ = antbot
    first, second = build_graph(case, store), build_graph(case, store)
    dump = lambda g: (sorted((n, sorted(d.items())) for n, d in g.nodes(data=True)),  # noqa: E731
                      sorted((u, v, k, sorted(d.items())) for u, v, k, d in g.edges(keys=True, data=True)), g.graph)
    assert dump(first) == dump(second)
