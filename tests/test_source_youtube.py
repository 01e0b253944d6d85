"""YouTube channel pages against the lab: the embedded data read for title, country, joined date and links."""

from __future__ import annotations

from lab.world import CASE
from lab.world import youtube as world

from osint.case import load_case
from osint.transport.pipeline import ask_once
from osint.graph import attribute as attr
from osint.graph.build import build_graph
from osint.sources.youtube import YouTubeSource, joined_date, real_url
from osint.store import EvidenceStore, Outcome
from source_helpers import edges, facts, lab_fixtures, make_source

CHANNEL = "account:youtube:labbot_example"


lab, clean = lab_fixtures(world)


def source(lab, case=None, **limits):
    return make_source(YouTubeSource, world.settings(lab), case=case, **limits)


def test_the_about_page_gives_the_channel_and_its_links(lab, tmp_path):
    src = source(lab)
    (query,) = src.queries(CHANNEL, 0)
    assert query.request["url"] == f"{lab.http.url}/@labbot_example/about"
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, oid = ask_once(src, query, store)
        assert store.get(oid).raw == world.channel_page()
    assert fetched.outcome is Outcome.ANSWERED
    node = parsed.nodes[CHANNEL]
    assert (node["title"], node["country"], node["joined"], node["channel_id"]) == (
        "LabBot 实验蚁", "China", "2021-03-05", world.CHANNEL_ID)
    assert node["subscribers"] == "1.2K subscribers"
    assert edges(parsed, "located_in") == {(CHANNEL, "region:CN")}
    links = edges(parsed, "links_to")
    assert {(CHANNEL, "url:https://www.example.com/"), (CHANNEL, "account:telegram:labbot_example"),
            (CHANNEL, "account:x:labbot_news")} <= links
    assert ("url:https://www.example.com/", "domain:www.example.com") in edges(parsed, "hosted_on")
    m = {f.object: f for f in facts(parsed, "mentions")}
    assert m["email:business@example.com"].attrs["where"] == "channel description"
    assert "domain:www.example.com" in parsed.leads and "domain:x.com" not in parsed.leads


def test_a_channel_id_in_the_case_is_asked_as_written(lab):
    class Item:
        node_id = "account:youtube:uclabbotexample000000001"
        url = f"https://www.youtube.com/channel/{world.CHANNEL_ID}"

    class Case:
        def indicators(self):
            return [Item()]

    src = source(lab, case=Case())
    (query,) = src.queries(Item.node_id, 0)
    assert query.request["url"].endswith(f"/channel/{world.CHANNEL_ID}/about")
    assert ask_once(src, query)[0].outcome is Outcome.ANSWERED


def test_an_unknown_channel_is_no_record_and_a_page_without_data_a_bad_answer(lab):
    src = source(lab)
    fetched, parsed, _ = ask_once(src, src.queries("account:youtube:nobody", 0)[0])
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []
    lab.http.set_fault("wrong_content_type", "/@labbot_example/about", content_type="text/html")
    fetched, _, _ = ask_once(src, src.queries(CHANNEL, 0)[0])
    assert fetched.outcome is Outcome.BAD_ANSWER and "no ytInitialData" in fetched.error


def test_a_50_mb_page_is_cut_at_the_cap(lab):
    lab.http.set_fault("huge", "/@labbot_example/about", content_type="text/html")
    src = source(lab)
    fetched, parsed, _ = ask_once(src, src.queries(CHANNEL, 0)[0])
    assert fetched.outcome is Outcome.TOO_LARGE and parsed is None


def test_links_and_dates():
    assert real_url({"content": "example.com"}) == "https://example.com"
    assert real_url({"content": "x", "commandRuns": [{"onTap": {"innertubeCommand": {"urlEndpoint": {
        "url": "https://www.youtube.com/redirect?q=https%3A%2F%2Fexample.org%2Fa"}}}}]}) == "https://example.org/a"
    assert joined_date("Joined Mar 5, 2021") == "2021-03-05" and joined_date("Joined sometime") is None


def test_on_the_lab_case_the_channel_links_to_the_website(lab, tmp_path):
    case = load_case(CASE)
    src = make_source(YouTubeSource, world.settings(lab), case=case)
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        ask_once(src, src.queries(CHANNEL, 0)[0], store)
        g = build_graph(case, store)
    assert attr.explain(g, CHANNEL, "domain:www.example.com", k=1)
    results = {(r.subject, r.relation): r for r in attr.attribute(g, case)}
    assert results[(CHANNEL, "account_of")].paths
