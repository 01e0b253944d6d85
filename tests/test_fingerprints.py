"""Site fingerprints against the lab sites: tracker ids link the sites that share them, a framework's
default favicon links nothing, an operator's own favicon does; copyright holder and title become nodes."""

from __future__ import annotations

import base64

import mmh3
import pytest
from lab.world import CASE
from lab.world import web as world

from osint.case import load_case
from osint.transport.pipeline import ask_once
from osint.graph import attribute
from osint.graph.build import build_graph
from osint.sources.fingerprints import copyright_line, declared_icon, favicon_hash, trackers
from osint.sources.web import WebSource
from osint.store import EvidenceStore, Outcome
from source_helpers import clear_env_proxies, edges, lab_with, make_source

BAIDU = "tracker:baidu:0123456789abcdef0123456789abcdef"
SITES = ("shop", "mirror", "panel", "cdn")


@pytest.fixture(scope="module")
def lab():
    with lab_with(world) as lab:
        yield lab


@pytest.fixture(autouse=True)
def proxied(lab, monkeypatch):
    clear_env_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", lab.proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield


def visit(src, store, node):
    """A page and its favicon question, as the engine asks them."""
    fetched, parsed, _ = ask_once(src, src.queries(node, 0)[0], store)
    assert fetched.outcome is Outcome.ANSWERED, fetched.error
    icons = [ask_once(src, q, store) for q in parsed.followups]
    return parsed, icons


@pytest.fixture(scope="module")
def graph(lab, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    clear_env_proxies(mp)
    mp.setenv("HTTP_PROXY", lab.proxy.url)
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")
    src = make_source(WebSource, world.settings(lab))
    pages = {}
    with EvidenceStore(str(tmp_path_factory.mktemp("fp") / "e.sqlite")) as store:
        for site in SITES:
            pages[site] = visit(src, store, f"domain:{site}.example.org")
        g = build_graph(load_case(CASE), store)
    mp.undo()
    return g, pages


def test_the_trackers_of_each_page(graph):
    _, pages = graph
    used = {site: {o for _, o in edges(parsed, "uses_tracker")} for site, (parsed, _) in pages.items()}
    assert used["shop"] == {BAIDU, "tracker:cnzz:1000012345", "tracker:ga:UA-99999901-1"}
    assert used["mirror"] == {BAIDU}
    assert used["panel"] == {"tracker:baidu:fedcba9876543210fedcba9876543210", "tracker:ga4:G-LAB0PANEL1",
                             "tracker:gtm:GTM-LAB0P1"}
    assert used["cdn"] == {"tracker:51la:LabCdn51laId0001"}
    shop = pages["shop"][0]
    assert shop.nodes[BAIDU]["tracker"] == "Baidu Tongji"
    assert edges(shop, "shows_copyright") == {("url:http://shop.example.org/", "copyright:深圳实验蚁信息技术有限公司")}
    assert edges(shop, "has_title") == {("url:http://shop.example.org/", "page_title:实验蚁商城 - LabBot 会员中心")}
    # The title of a site asked about at depth 0 is a pivot (Shodan's http.title search); tracker ids are not.
    assert "page_title:实验蚁商城 - LabBot 会员中心" in shop.leads and BAIDU not in shop.leads


def test_sites_sharing_a_baidu_tongji_id_are_linked(graph):
    g, _ = graph
    a, b = "domain:mirror.example.org", "domain:shop.example.org"
    link = g.edges[a, b, "shares_tracker"]
    assert link["via"] == (BAIDU,) and link["derived"] is True and link["evidence"]
    assert not g.has_edge("domain:panel.example.org", "domain:shop.example.org", "shares_tracker")
    assert any(h.relation == "shares_tracker" for p in attribute.explain(g, a, b) for h in p.hops)


def test_a_default_framework_favicon_links_nothing(graph):
    g, pages = graph
    mirror, panel = "domain:mirror.example.org", "domain:panel.example.org"
    for site, node in (("mirror", mirror), ("panel", panel)):
        (fetched, parsed, _), = pages[site][1]
        assert fetched.outcome is Outcome.ANSWERED
        assert parsed.facts == [] and parsed.nodes[node]["favicon_default"] == "configured default"
    assert g.nodes[mirror]["favicon_mmh3"] == g.nodes[panel]["favicon_mmh3"]
    assert f"favicon:{g.nodes[mirror]['favicon_mmh3']}" not in g  # never a node the two could meet at
    assert not g.has_edge(mirror, panel, "same_favicon") and not g.has_edge(panel, mirror, "same_favicon")
    assert attribute.explain(g, mirror, panel) == []  # no path at all between the two


def test_an_operators_own_favicon_links_the_sites_that_show_it(graph):
    g, pages = graph
    icon = world.DATA / "icons" / "labbot.png"
    node = f"favicon:{favicon_hash(icon.read_bytes())}"
    assert g.nodes[node]["format"] == "png"
    assert {s for s, _, k in g.in_edges(node, keys=True) if k == "has_favicon"} == {
        "domain:shop.example.org", "domain:cdn.example.org"}  # cdn shows shop's icon from shop's host
    assert g.has_edge("domain:cdn.example.org", "domain:shop.example.org", "same_favicon")


def test_the_hash_is_shodans():
    body = bytes(range(256)) * 3
    # Shodan's recipe: mmh3 of the base64 text with a newline every 76 characters (and one at the end).
    text = base64.b64encode(body).decode()
    lines = "".join(text[i:i + 76] + "\n" for i in range(0, len(text), 76))
    assert favicon_hash(body) == mmh3.hash(lines.encode()) and favicon_hash(body) != mmh3.hash(text.encode())


def test_a_favicon_that_is_no_image_is_a_bad_answer(lab, tmp_path):
    src = make_source(WebSource, {})
    lab.http.set_fault("wrong_content_type", "mirror.example.org/favicon.ico")  # image/png, but no PNG inside
    try:
        with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
            _, ((fetched, parsed, oid),) = visit(src, store, "domain:mirror.example.org")
            assert store.get(oid).raw  # stored all the same
    finally:
        lab.http.clear_faults(all=True)
    assert fetched.outcome is Outcome.BAD_ANSWER and "not an image" in fetched.error and parsed is None


@pytest.mark.parametrize("text,expected", [
    ("首页\n© 2021 深圳实验蚁信息技术有限公司\n联系我们", "深圳实验蚁信息技术有限公司"),
    ("Copyright © 2019-2024 Example Holdings Ltd. All rights reserved.", "Example Holdings Ltd"),
    ("© 2023", None),
    ("版权所有", None),
])
def test_copyright_holders(text, expected):
    found = copyright_line(text)
    assert (found[0] if found else None) == expected


def test_tracker_ids_in_prose_are_not_trackers():
    assert list(trackers("our order G-ABCDEF12 shipped; see hm.js?notahash")) == []
    assert [t[:2] for t in trackers("<script src='//js.users.51.la/21234567.js'></script>")] == [("51la", "21234567")]
    assert [t[:2] for t in trackers("_czc.push(['_setAccount', '1279012345']);")] == [("cnzz", "1279012345")]
    assert declared_icon('<link href="/i.ico" rel="icon">') == "/i.ico"
    assert declared_icon('<link rel="icon" href="data:image/png;base64,AAAA">') is None
