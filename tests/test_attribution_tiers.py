"""Claims are questions, evidence the only answer: corroborated, supported via another claim, linked to
each other — on the synthetic lab case, with answers read by the real parsers (WHOIS, cn-registry)
or shaped as the web and DNS parsers write them (docs/CONTRACTS.md).

The lab case's brand is LabBot (实验蚁); its websites example.com, www.example.com and example.net;
its companies 深圳实验蚁网络科技有限公司 (…018T) and 深圳实验蚁信息技术有限公司 (…026M)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.world import CASE
from osint.case import load_case
from osint.config import EnrichSettings, SourceSettings
from osint.graph import build_graph
from osint.graph.attribute import attribute, claim_ends, explain
from osint.graph.messages import render
from osint.sources.base import SourceContext
from osint.sources.cnregistry import CNRegistrySource
from osint.sources.whois import WhoisSource
from test_graph_fixtures import StoreWriter, fact

AT = "2024-01-01T00:00:00Z"
BRAND = "brand:labbot"
PROXY = "Domain Protection Services, Inc."


def _whois(case, domain: str, text: str) -> dict:
    src = WhoisSource(SourceSettings(options={"server": "127.0.0.1:1"}), SourceContext(case=case, enrich=EnrichSettings()))
    [query] = src.queries(f"domain:{domain}", 0)
    return src.parse(query, text.encode(), {}).to_json()


def _cn_registry(case, org: str) -> dict:
    src = CNRegistrySource(SourceSettings(), SourceContext(case=case, enrich=EnrichSettings()))
    [query] = src.queries(f"org:{org}", 0)
    return src.parse(query, src.local_answer(query), {}).to_json()


def _record(domain: str, org: str) -> str:
    return (f"Domain Name: {domain.upper()}\nRegistrar: Example Registrar, Inc.\nCreation Date: 2020-10-01T00:00:00Z\n"
            f"Registrant Organization: {org}\nRegistrant Country: CN\nName Server: NS1.{domain.upper()}\n")


@pytest.fixture(scope="module")
def case():
    return load_case(CASE)


@pytest.fixture(scope="module")
def world(case, tmp_path_factory):
    """example.net: its page names LabBot and lists an e-mail; its registrant is the company in English.
    example.com and www.example.com: only a certificate in common. Servers reached through each."""
    w = StoreWriter(tmp_path_factory.mktemp("tiers") / "e.sqlite")
    ids = {}
    ids["page"] = w.answer("web", "GET http://example.net/", {"facts": [
        fact("url:http://example.net/", "hosted_on", "domain:example.net"),
        fact("url:http://example.net/", "mentions", "email:support@example.net", context="Contact: support@example.net")],
        "nodes": {"url:http://example.net/": {"title": "LabBot — automated trading", "http_status": 200}}}, at=AT)
    org = "Shenzhen Shiyanyi Information Technology Co., Ltd."
    ids["whois"] = w.answer("whois", "example.net", _whois(case, "example.net", _record("example.net", org)), at=AT)
    ids["cn"] = w.answer("cn-registry", f"org {org}", _cn_registry(case, org), at=AT)
    ids["cert"] = w.answer("ct", "example.com", {"facts": [
        fact("certificate:crtsh-1", "certificate_names", "domain:example.com", "2023-01-01", "2023-12-31"),
        fact("certificate:crtsh-1", "certificate_names", "domain:www.example.com", "2023-01-01", "2023-12-31")]},
        at=AT)
    ids["dns"] = w.answer("dns", "A many", {"facts": [
        fact("domain:example.net", "resolves_to", "ip:100.64.1.10"),
        fact("domain:api.example.net", "resolves_to", "ip:198.51.100.20"),
        fact("domain:shop.example.com", "resolves_to", "ip:100.64.2.20"),
        fact("domain:example.org", "resolves_to", "ip:192.0.2.10")]}, at=AT)
    # One privacy service registers a case website and an unrelated domain that uses a claimed server.
    ids["proxy1"] = w.answer("whois", "example.com", _whois(case, "example.com", _record("example.com", PROXY)), at=AT)
    ids["proxy2"] = w.answer("whois", "example.org",
                             _whois(case, "example.org", _record("example.org", PROXY)), at=AT)
    graph = build_graph(case, w.store)
    results = {(r.subject, r.object): r for r in attribute(graph, case)}
    yield graph, results, ids
    w.store.close()


def test_a_page_whose_title_names_the_brand_corroborates_the_website(world):
    graph, results, ids = world
    r = results[("domain:example.net", BRAND)]
    assert r.status == "corroborated" and "web" in r.sources
    assert [h.relation for h in r.best.hops] == ["hosted_on", "names"]
    names = graph.edges["url:http://example.net/", BRAND, "names"]
    assert names["matched"] == "LabBot" and names["evidence"] == (f"ev{ids['page']}",) and names["field"] == "title"
    assert not any(h.claim for h in r.best.hops)


def test_the_complaints_spelling_of_an_email_meets_the_pages(world):
    _, results, _ = world
    r = results[(BRAND, "email:support@example.net")]  # the complaint writes Support@Example.NET
    assert r.status == "corroborated"
    assert r.best.nodes[0] == "email:support@example.net" and r.best.nodes[-1] == BRAND


def test_two_claims_that_only_share_a_certificate_are_linked_to_each_other(world):
    _, results, ids = world
    a, b = results[("domain:example.com", BRAND)], results[("domain:www.example.com", BRAND)]
    assert a.status == b.status == "linked_to_each_other"
    assert [(c.subject, c.relation) for c in a.rests_on] == [("domain:www.example.com", "website_of")]
    assert [(c.subject, c.relation) for c in b.rests_on] == [("domain:example.com", "website_of")]
    assert "do not support each other" in a.reason and "www.example.com" in a.reason
    assert a.best.hops[-1].claim and f"ev{ids['cert']}" in a.best.hops[0].evidence


def test_a_server_reached_only_through_another_claim_is_supported_and_names_it(world):
    _, results, _ = world
    r = results[("ip:198.51.100.20", BRAND)]  # api.example.net, under example.net (corroborated)
    assert r.status == "supported_via_claim"
    assert [(c.subject, c.relation, c.where) for c in r.rests_on] == [("domain:example.net", "website_of",
                                                                       "lab complaint §六")]
    assert "example.net is a website of LabBot (lab complaint §六)" in r.reason
    assert [h.relation for h in r.best.hops] == ["resolves_to", "under", "website_of"] and r.best.hops[-1].claim
    weaker = results[("ip:100.64.2.20", BRAND)]  # shop.example.com, under example.com (only linked)
    assert weaker.status == "supported_via_claim" and "no evidence of their own" in weaker.reason


def test_a_server_the_brands_own_page_reaches_is_corroborated(world):
    _, results, _ = world
    r = results[("ip:100.64.1.10", BRAND)]
    assert r.status == "corroborated"
    assert [h.relation for h in r.best.hops] == ["resolves_to", "hosted_on", "names"]


def test_a_registrant_in_english_links_to_the_company_by_similar_name(world):
    graph, results, ids = world
    r = results[("company:91440300MA5LAB026M", BRAND)]
    assert r.status == "corroborated"
    relations = [h.relation for h in r.best.hops]
    assert relations[:2] == ["similar_name", "registrant"] and relations[-1] == "names"
    score = graph.edges["org:Shenzhen Shiyanyi Information Technology Co., Ltd.", "company:91440300MA5LAB026M",
                        "similar_name"]["score"]
    assert score >= 0.8
    assert r.sources == ["web", "whois"]  # cn-registry compares names: it is never a source of its own


def test_a_privacy_service_shared_by_two_domains_links_nothing(world):
    graph, results, _ = world
    assert graph.nodes[f"org:{PROXY}"]["privacy_service"] is True
    r = results[("ip:192.0.2.10", BRAND)]
    assert r.status == "uncorroborated" and not r.paths
    assert explain(graph, "domain:example.org", "domain:example.com", weak=True, via_claims=True) == []


def test_attribute_and_explain_agree_on_every_claim(world):
    graph, results, _ = world
    for r in results.values():
        start, end = claim_ends(graph, r.subject, r.object)
        evidence = explain(graph, start, end, k=5)
        assert bool(evidence and any(p.sources for p in evidence)) == (r.status == "corroborated"), r
        if r.status == "corroborated":
            assert evidence[0].nodes == r.best.nodes
        bridged = explain(graph, start, end, k=5, via_claims=True)
        if r.status in ("supported_via_claim", "linked_to_each_other"):
            assert bridged and bridged[0].nodes == r.best.nodes and bridged[0].hops[-1].claim


def test_reasons_come_in_both_languages(world):
    _, results, _ = world
    for r in results.values():
        en, zh = r.reason_msg.render("en"), r.reason_msg.render("zh")
        assert en == r.reason and zh != en
        assert not any(w in zh for w in ("evidence", "claim", "linked", "source")), zh


def test_independent_lines_are_counted_once_per_observation(case, tmp_path: Path):
    w = StoreWriter(tmp_path / "e.sqlite")
    page = {"facts": [fact("url:http://example.net/", "hosted_on", "domain:example.net"),
                      fact("url:http://example.net/a", "hosted_on", "domain:example.net")],
            "nodes": {"url:http://example.net/": {"title": "LabBot"}, "url:http://example.net/a": {"title": "LabBot"}}}
    w.answer("web", "GET both", page, at=AT)  # one answer naming the brand twice: one line of evidence
    graph = build_graph(case, w.store)
    r = next(r for r in attribute(graph, case) if r.subject == "domain:example.net")
    assert r.status == "corroborated" and len(r.paths) == 2 and r.lines == 1
    w.store.close()


def test_messages_have_both_languages():
    from osint.graph.messages import MESSAGES

    assert set(MESSAGES["en"]) == set(MESSAGES["zh"])
    assert render("no_path", {"hops": 6}, "zh") == "6 跳之内没有证据路径"
