"""Google Play against the lab: a listing read by google-play-scraper's parser, the developer's other apps,
searches by name offered as candidates only, and the listing's developer matched to a lab company."""

from __future__ import annotations

from lab.world import CASE, to_toml
from lab.world import google_play as world

from osint.case import load_case
from osint.config import load_settings
from osint.transport.pipeline import ask_once
from osint.engine.run import Enricher
from osint.graph import attribute as attr
from osint.graph.build import build_graph
from osint.sources.googleplay import GooglePlaySource, country_of
from osint.store import EvidenceStore, Outcome
from source_helpers import edges, lab_fixtures, make_source

APP = "account:google_play:com.example.labbot"
ORG = "org:Shenzhen Shiyanyi Information Technology Co., Ltd."


lab, clean = lab_fixtures(world)


def source(lab, **limits):
    return make_source(GooglePlaySource, world.settings(lab), **limits)


def test_the_listing_gives_developer_contacts_dates_and_address(lab, tmp_path):
    src = source(lab)
    (query,) = src.queries(APP, 0)
    assert query.request["url"] == f"{lab.http.url}/store/apps/details?id=com.example.labbot&hl=en&gl=us"
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, oid = ask_once(src, query, store)
        assert store.get(oid).raw == world.listing_page("com.example.labbot").encode()
    assert fetched.outcome is Outcome.ANSWERED
    app = parsed.nodes[APP]
    assert (app["title"], app["developer"], app["installs"], app["version"]) == (
        "LabBot 实验蚁 (synthetic)", "Shenzhen Shiyanyi Information Technology Co., Ltd.", "10,000+", "2.3.1")
    assert (app["released"], app["updated"], app["developer_id"]) == (
        "2021-01-05", "2023-03-01T00:00:00Z", world.DEV_ID)
    assert edges(parsed, "developed_by") == {(APP, ORG)}
    assert edges(parsed, "uses_email") == {(APP, "email:support@example.com")}
    assert edges(parsed, "links_to") == {(APP, "url:https://www.example.com/"), (APP, "url:https://example.net/privacy")}
    assert ("url:https://www.example.com/", "domain:www.example.com") in edges(parsed, "hosted_on")
    (addr,) = [o for s, o in edges(parsed, "registered_at") if s == ORG]
    assert addr.startswith("address:深圳市南山区测试路1号")
    assert edges(parsed, "located_in") == {(addr, "region:CN")}
    assert {ORG, "email:support@example.com", "domain:www.example.com"} <= set(parsed.leads)
    (dev,) = parsed.followups
    assert dev.key == f"developer {world.DEV_ID}" and dev.request["org"] == ORG


def test_the_developer_page_lists_its_other_apps(lab):
    src = source(lab)
    _, listing, _ = ask_once(src, src.queries(APP, 0)[0])
    fetched, parsed, _ = ask_once(src, listing.followups[0])
    assert fetched.outcome is Outcome.ANSWERED
    assert edges(parsed, "developed_by") == {(APP, ORG), ("account:google_play:com.example.labbot.pro", ORG)}
    assert "account:google_play:com.example.labbot.pro" in parsed.leads


def test_a_name_is_searched_and_the_results_are_only_candidates(lab):
    src = source(lab)
    (query,) = src.queries("account:google_play:labbot", 0)
    assert query.key == "search labbot" and "/store/search?q=labbot&c=apps" in query.request["url"]
    fetched, parsed, _ = ask_once(src, query)
    assert fetched.outcome is Outcome.ANSWERED
    node = parsed.nodes["account:google_play:labbot"]
    assert node["search_candidates"] == ["com.example.labbot", "com.example.otherbot"]
    assert "candidates" in node["search_note"]
    assert parsed.facts == []  # never an edge: a search result is not the case's app
    assert set(parsed.leads) == {APP, "account:google_play:com.example.otherbot"}


def test_an_unknown_app_is_no_record_and_a_page_without_data_is_a_bad_answer(lab):
    src = source(lab)
    fetched, parsed, _ = ask_once(src, src.queries("account:google_play:com.example.gone", 0)[0])
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []
    lab.http.set_fault("wrong_content_type", "/store/apps/details", content_type="text/html")
    fetched, parsed, _ = ask_once(src, src.queries(APP, 0)[0])
    assert fetched.outcome is Outcome.BAD_ANSWER and "not a Play listing" in fetched.error


def test_a_50_mb_listing_is_cut_at_the_cap(lab):
    lab.http.set_fault("huge", "/store/apps/details", content_type="text/html")
    src = source(lab)
    fetched, parsed, _ = ask_once(src, src.queries(APP, 0)[0])
    assert fetched.outcome is Outcome.TOO_LARGE and parsed is None


def test_other_platforms_are_not_asked(lab):
    assert source(lab).queries("account:telegram:labbot_example", 0) == []


def test_countries_in_addresses():
    assert country_of("1 Example Road\nSpringfield\nUnited States") == "US"
    assert country_of("深圳市南山区测试路1号, China") == "CN"
    assert country_of("somewhere unnamed") is None


def test_on_the_lab_case_the_developer_matches_a_lab_company_by_pinyin(lab, tmp_path):
    cfg = tmp_path / "osint.toml"
    cfg.write_text(to_toml({"store": {"path": str(tmp_path / "e.sqlite")}, "enrich": {"allow_private": False},
                            "sources": {"google-play": {**world.settings(lab), "rate": 100, "burst": 10}}}))
    settings = load_settings(cfg, env={})
    case = load_case(CASE)
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        report = Enricher(settings, case, store, sources=["google-play", "cn-registry"], depth=1).run()
        assert report.stats["google-play"].answered >= 3  # listing, developer page, the other app's listing
        g = build_graph(case, store)
    paths = attr.explain(g, APP, "company:91440300MA5LAB026M", k=1)
    assert paths and [h.relation for h in paths[0].hops] == ["developed_by", "similar_name"]
    results = {(r.subject, r.relation): r for r in attr.attribute(g, case)}
    assert results[(APP, "account_of")].paths  # the listing's e-mail and website are the brand's
    assert results[("company:91440300MA5LAB026M", "suspected_operator_of")].paths
