"""Claim corroboration: evidence paths without claim edges, independent sources counted, hubs and
shared providers ignored, the conservative contradiction rule, new leads and explained paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osint.graph import build_graph
from osint.graph.attribute import attribute, explain, new_leads
from osint.report.claims import path_text, to_json, to_markdown
from test_graph_fixtures import StoreWriter, antbot, fact, fake_case, seeds_case  # noqa: F401


@pytest.fixture
def results(antbot):
    case, store, ids = antbot
    graph = build_graph(case, store)
    return graph, {(r.subject, r.object): r for r in attribute(graph, case)}, ids


def test_an_ip_a_claimed_website_resolved_to_is_supported_via_that_claim(results):
    graph, by_claim, ids = results
    r = by_claim[("ip:101.36.108.79", "brand:antbot")]
    assert r.status == "supported_via_claim" and r.n_sources == 2 and r.sources == ["dns", "pdns"]
    assert r.rests_on and {c.relation for c in r.rests_on} == {"website_of"}
    assert r.best.hops[-1].claim and (r.best.hops[-1].frm, "website_of") in [(c.subject, c.relation) for c in r.rests_on]
    best = r.best
    assert [h.relation for h in best.hops] == ["resolves_to", "website_of"]
    first = best.hops[0]
    assert first.forward is False and first.evidence == (f"ev{ids['pdns']}", f"ev{ids['dns_a']}")
    assert first.first_seen == "2022-11-01T00:00:00Z"
    assert best.hops[-1].claim is True and "case" not in best.sources


def test_paths_never_use_claim_edges_and_reach_the_brand_through_its_identifiers(results):
    graph, by_claim, _ = results
    for r in by_claim.values():
        for path in r.paths:
            assert all(not h.claim for h in path.hops[:-1])
            assert path.nodes[-1] == "brand:antbot" or r.object != "brand:antbot"
            assert path.hops[-1].claim == (r.status in ("supported_via_claim", "linked_to_each_other"))
            for h in path.hops:
                if not h.claim and h.relation != "under":
                    u, v = (h.frm, h.to) if h.forward else (h.to, h.frm)
                    assert graph.edges[u, v, h.relation]["claim"] is False


def test_a_company_is_tied_to_the_brand_through_a_registrant_name(results):
    _, by_claim, _ = results
    r = by_claim[("company:91440300MA5GDKFU7E", "brand:antbot")]
    assert r.status == "supported_via_claim" and r.sources == ["cnregistry", "whois"]
    assert [h.relation for h in r.best.hops] == ["similar_name", "registrant", "website_of"]
    other = by_claim[("company:91440300MA5GAKDP7P", "brand:antbot")]
    assert other.status == "uncorroborated"
    assert any("deregistered on 2020-12-16, before the incident" in n for n in other.notes)


def test_shared_host_key_and_certificate_names_corroborate(results):
    _, by_claim, _ = results
    r = by_claim[("ip:165.154.60.7", "brand:antbot")]
    assert r.status == "supported_via_claim" and r.sources == ["shodan"]
    relations = [h.relation for h in r.best.hops]
    assert relations[0] == "same_ssh_key" and "certificate_names" in relations
    assert relations[-2:] == ["under", "website_of"]  # api.antrade.io is under the listed antrade.io


def test_the_same_hosting_provider_or_country_is_no_corroboration(results):
    graph, by_claim, _ = results
    # 101.36.117.216 shares only an ASN (and the region) with corroborated servers.
    assert by_claim[("ip:101.36.117.216", "brand:antbot")].status == "uncorroborated"
    assert explain(graph, "ip:101.36.117.216", "ip:101.36.108.79", weak=False) == []
    weak = explain(graph, "ip:101.36.117.216", "ip:101.36.108.79", weak=True)
    assert [h.relation for h in weak[0].hops] == ["announced_by", "announced_by"]


def test_a_ptr_to_someone_else_at_the_incident_contradicts(results):
    _, by_claim, ids = results
    r = by_claim[("ip:122.10.161.141", "brand:antbot")]
    assert r.status == "contradicted"
    assert "mail.other-operator.example" in r.reason and f"ev{ids['pdns_ptr']}" in r.reason


def test_identifier_claims_never_hold_each_other_up(results):
    _, by_claim, _ = results
    # www.antrade.io is a CNAME of antrade.io and nothing names the brand: two claims, one question.
    www = by_claim[("domain:www.antrade.io", "brand:antbot")]
    assert www.status == "linked_to_each_other"
    assert ("domain:antrade.io", "website_of") in [(c.subject, c.relation) for c in www.rests_on]
    # The listed e-mail appears on a page of the other listed website (whose title is "AntBot"):
    # uses_email points brand -> email.
    email = by_claim[("brand:antbot", "email:business@antrade.io")]
    assert email.status == "corroborated" and email.sources == ["web"]
    assert email.best.nodes[0] == "email:business@antrade.io" and email.best.nodes[-1] == "brand:antbot"
    assert by_claim[("account:x:antrade_io", "brand:antbot")].status == "uncorroborated"


def test_case_only_graph_corroborates_nothing(seeds_case):
    results = attribute(build_graph(seeds_case, None), seeds_case)
    assert len(results) == len(seeds_case.claims)
    assert {r.status for r in results} == {"uncorroborated"}


def test_hubs_do_not_connect_unrelated_things(tmp_path: Path):
    w = StoreWriter(tmp_path / "e.sqlite")
    w.answer("pdns", "q", {"facts": [
        fact("domain:example-bot.test", "resolves_to", "ip:203.0.113.5"),
        fact("domain:unrelated.test", "resolves_to", "ip:203.0.113.5"),
        fact("domain:unrelated.test", "resolves_to", "ip:192.0.2.10")],
        "nodes": {"ip:203.0.113.5": {"shared_infrastructure": True}}}, at="2024-01-01T00:00:00Z")
    case = fake_case()
    graph = build_graph(case, w.store)
    r = next(r for r in attribute(graph, case) if r.subject == "ip:192.0.2.10")
    assert r.status == "uncorroborated"  # only through a CDN address many names share
    w.store.close()


def test_generic_reverse_names_do_not_contradict(tmp_path: Path):
    w = StoreWriter(tmp_path / "e.sqlite")
    w.answer("pdns", "q", {"facts": [fact("ip:192.0.2.10", "ptr", "domain:10.2.0.192.static.isp.test",
                                          "2023-01-01", "2023-12-31")]}, at="2024-01-01T00:00:00Z")
    case = fake_case()
    r = next(r for r in attribute(build_graph(case, w.store), case) if r.subject == "ip:192.0.2.10")
    assert r.status == "uncorroborated"
    w.store.close()


def test_new_leads_are_outside_the_case_with_their_path(results):
    graph, _, ids = results
    leads = {lead.node: lead for lead in new_leads(graph)}
    assert "email:admin@antrade.io" in leads and "crypto_address:TXyzLabLabLabLabLabLabLabLabLabLab" in leads
    assert "org:UCloud" in leads and "domain:api.antrade.io" not in leads  # 3 hops away
    assert "domain:api.antrade.io" in {lead.node for lead in new_leads(graph, max_distance=3)}
    lead = leads["email:admin@antrade.io"]
    assert (lead.distance, lead.near) == (1, "domain:antrade.io")
    assert lead.path.hops[0].evidence == (f"ev{ids['whois']}",)
    assert not any(graph.nodes[n].get("in_case") for n in leads)
    assert not any(n.startswith(("region:", "registrar:", "service:", "certificate:")) for n in leads)


def test_a_hosting_company_is_a_lead_but_its_other_customers_are_not(tmp_path: Path):
    w = StoreWriter(tmp_path / "e.sqlite")
    w.answer("shodan", "q", {"facts": [
        fact("ip:192.0.2.10", "operated_by", "org:Big Cloud"),
        fact("ip:198.51.100.7", "operated_by", "org:Big Cloud"),
        fact("ip:192.0.2.10", "announced_by", "asn:AS64500"),
        fact("ip:198.51.100.8", "announced_by", "asn:AS64500")]}, at="2024-01-01T00:00:00Z")
    leads = {lead.node for lead in new_leads(build_graph(fake_case(), w.store), max_distance=3)}
    assert "org:Big Cloud" in leads
    assert "ip:198.51.100.7" not in leads and "ip:198.51.100.8" not in leads
    w.store.close()


def test_explain_lists_the_hops_with_provenance(results):
    graph, _, ids = results
    paths = explain(graph, "ip:165.154.60.7", "domain:antrade.io", k=3, weak=True)
    assert paths and paths[0].nodes[0] == "ip:165.154.60.7" and paths[0].nodes[-1] == "domain:antrade.io"
    assert all(h.sources and h.evidence for h in paths[0].hops)
    assert explain(graph, "ip:165.154.60.7", "no:such-node") == []


def test_renderers(results):
    graph, by_claim, _ = results
    claims = list(by_claim.values())
    leads = new_leads(graph)
    doc = json.loads(to_json(claims, leads))
    assert len(doc["claims"]) == len(claims) and doc["leads"]
    corroborated = next(c for c in doc["claims"] if c["subject"] == "ip:101.36.108.79")
    assert corroborated["status"] == "supported_via_claim"
    assert corroborated["paths"][0]["hops"][0]["relation"] == "resolves_to"
    assert {c["relation"] for c in corroborated["rests_on"]} == {"website_of"}
    text = to_markdown(claims, leads)
    assert "CONTRADICTED" in text and "# New leads" in text and "\x1b" not in text
    assert path_text(by_claim[("ip:101.36.108.79", "brand:antbot")].best).startswith("ip:101.36.108.79 <-resolves_to-")
