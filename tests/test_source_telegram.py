"""Telegram channel previews against the lab: channel info, posts with their times, links, paging, caps."""

from __future__ import annotations

from lab.world import CASE
from lab.world import telegram as world

from osint.case import load_case
from osint.config import load_settings
from osint.transport.pipeline import ask_once
from osint.engine.run import Enricher
from osint.graph import attribute as attr
from osint.graph.build import build_graph
from osint.sources.telegram import MAX_POSTS, TelegramSource, parse_count, tme_handle
from osint.store import EvidenceStore, Outcome
from source_helpers import facts, lab_fixtures, make_source

CHANNEL = "account:telegram:labbot_example"


lab, clean = lab_fixtures(world)


def source(lab, **limits):
    return make_source(TelegramSource, world.settings(lab), **limits)


def ask(src, query, store=None):
    return ask_once(src, query, store)


def test_the_channel_page_gives_info_posts_and_links_with_times(lab, tmp_path):
    src = source(lab)
    (query,) = src.queries(CHANNEL, 0)
    assert query.request["url"] == f"{lab.http.url}/s/labbot_example"
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, oid = ask(src, query, store)
        assert store.get(oid).raw == (world.DATA / "labbot_example.html").read_bytes()
    assert fetched.outcome is Outcome.ANSWERED
    info = parsed.nodes[CHANNEL]
    assert info["title"] == "LabBot 实验蚁 (synthetic)" and info["subscribers"] == 12300
    assert "客服 @labbot_support" in info["description"]
    assert (info["oldest_post_seen"], info["newest_post_seen"]) == ("2023-02-10T04:30:00Z", "2023-03-22T01:15:00Z")
    links = {f.object: f for f in facts(parsed, "links_to")}
    guide = links["url:http://www.example.com/guide/bind/"]
    assert guide.first_seen == guide.attrs["posted"] == "2023-02-10T04:30:00Z"
    assert guide.attrs["where"] == "post labbot_example/101 at 2023-02-10T04:30:00Z"
    assert "url:http://example.net/" in links  # the link and its preview card: one fact
    m = {f.object: f for f in facts(parsed, "mentions")}
    assert m["ip:198.51.100.77"].attrs["posted"] == "2023-02-10T04:30:00Z"
    assert "IP 白名单" in m["ip:198.51.100.77"].attrs["context"]
    assert {"domain:www.example.com", "domain:example.net", "email:business@example.com",
            "account:telegram:labbot_news", "account:telegram:labbot_support"} <= set(m)
    assert m["domain:example.net"].first_seen == "2023-03-18T12:00:00Z"
    assert CHANNEL not in m  # its own name and post links are not mentions
    assert not [o for o in m if o.startswith("url:https://t.me") or o == "domain:t.me"]
    assert {"domain:example.net", "ip:198.51.100.77", "email:business@example.com"} <= set(parsed.leads)
    # Older posts: the "more" link is a follow-up question.
    (older,) = parsed.followups
    assert older.key == "channel labbot_example before 101" and older.request["page"] == 2


def test_older_pages_are_followed_until_the_first_post(lab):
    src = source(lab)
    _, first, _ = ask(src, src.queries(CHANNEL, 0)[0])
    fetched, older, _ = ask(src, first.followups[0])
    assert fetched.outcome is Outcome.ANSWERED
    assert lab.http.requests[-1].raw_query == "before=101"
    m = {f.object.lower(): f for f in facts(older, "mentions")}  # e-mail local parts: case kept as written
    assert m["email:support@example.net"].first_seen == "2021-06-01T09:00:00Z"
    assert older.nodes[CHANNEL]["oldest_post_seen"] == "2020-10-01T02:00:00Z"
    assert older.followups == []  # no "more" link: the end of the history


def test_paging_stops_at_max_pages(lab):
    src = make_source(TelegramSource, {**world.settings(lab), "max_pages": 1})
    _, parsed, _ = ask(src, src.queries(CHANNEL, 0)[0])
    assert parsed.followups == []


def test_a_name_without_a_public_preview_is_no_record(lab):
    src = source(lab)
    fetched, parsed, _ = ask(src, src.queries("account:telegram:nobody_here", 0)[0])
    assert fetched.outcome is Outcome.NO_RECORD and "no public preview of nobody_here" in fetched.error
    assert parsed.facts == []


def test_only_telegram_accounts_are_asked(lab):
    src = source(lab)
    assert src.queries("account:x:labbot_example", 0) == []
    assert src.queries("domain:t.me", 0) == []


def test_a_page_of_ten_thousand_posts_is_read_up_to_the_cap(lab):
    post = ('<div class="tgme_widget_message" data-post="flood/{i}"><div class="tgme_widget_message_text">'
            'mirror {i} at http://h{i}.example.org/</div><a class="tgme_widget_message_date" href="#">'
            '<time datetime="2023-01-01T00:00:00+00:00"></time></a></div>')
    page = ('<html><body><div class="tgme_channel_info"><div class="tgme_channel_info_header_title"><span>flood'
            '</span></div></div>' + "".join(post.format(i=i) for i in range(10_000)) + "</body></html>")
    world.EXTRA["flood"] = page.encode()
    src = source(lab)
    fetched, parsed, _ = ask(src, src.queries("account:telegram:flood", 0)[0])
    assert fetched.outcome is Outcome.ANSWERED and len(fetched.raw) > 1_000_000
    assert parsed.nodes["account:telegram:flood"]["posts_on_page_truncated"] == 10_000
    hosts = {f.object for f in facts(parsed, "mentions") if f.object.startswith("domain:h")}
    assert len(hosts) == MAX_POSTS and "domain:h199.example.org" in hosts and "domain:h200.example.org" not in hosts
    world.EXTRA.pop("flood")


def test_a_50_mb_page_is_cut_at_the_cap(lab):
    lab.http.set_fault("huge", "/s/labbot_example", content_type="text/html")
    src = source(lab)
    fetched, parsed, _ = ask(src, src.queries(CHANNEL, 0)[0])
    assert fetched.outcome is Outcome.TOO_LARGE and parsed is None


def test_counts_and_links():
    assert [parse_count(x) for x in ("12.3K", "1 204", "2M", "41", "n/a")] == [12300, 1204, 2000000, 41, None]
    assert tme_handle("https://t.me/LabBot_News") == "labbot_news"
    assert tme_handle("https://t.me/s/labbot_news") == "labbot_news"
    assert tme_handle("https://t.me/+AbCdEf") is None and tme_handle("https://example.com/x") is None


def test_on_the_lab_case_the_channel_is_tied_to_the_website(lab, tmp_path):
    """The engine asks about the case's Telegram account; the channel's links reach the lab website."""
    from lab.world import to_toml

    cfg = tmp_path / "osint.toml"
    cfg.write_text(to_toml({"store": {"path": str(tmp_path / "e.sqlite")}, "enrich": {"allow_private": False},
                            "sources": {"telegram": {**world.settings(lab), "rate": 100, "burst": 10}}}))
    settings = load_settings(cfg, env={})
    case = load_case(CASE)
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        report = Enricher(settings, case, store, sources=["telegram"], depth=0).run()
        assert report.stats["telegram"].answered == 2  # the channel and its older page
        g = build_graph(case, store)
    paths = attr.explain(g, CHANNEL, "domain:example.net", k=1)
    assert paths and paths[0].hops[0].relation == "mentions"
    results = {(r.subject, r.relation): r for r in attr.attribute(g, case)}
    assert results[(CHANNEL, "account_of")].paths  # evidence links the channel to the brand's sites
    assert not results[("account:x:labbot_example", "account_of")].paths  # nothing reads X
