"""Web pages against the lab sites (through the lab proxy): indicators, links, encodings, caps and faults."""

from __future__ import annotations

import time

import pytest
from lab.world import web as world

from osint.transport.pipeline import ask_once
from osint.sources.web import WebSource
from osint.store import EvidenceStore, Outcome
from osint.transport.base import Query
from osint.transport.policy import AddressPolicy
from source_helpers import clear_env_proxies, edges, facts, lab_with, make_source

GUIDE = "url:http://www.example.com/guide/bind/"
LAB_POLICY = AddressPolicy(allow_private=True)  # for the direct-to-127.0.0.1 fault routes only


@pytest.fixture(scope="module")
def lab():
    with lab_with(world) as lab:
        for path in ("/page", "/big", "/text"):
            lab.http.get(path, (200, "<html><head><title>plain lab page</title></head><body>192.0.2.55</body></html>",
                                {}, "text/html; charset=utf-8"))
        yield lab


@pytest.fixture(autouse=True)
def proxied(lab, monkeypatch):
    """Pages go through the lab proxy, as a user's HTTP_PROXY would send them; the lab itself is direct."""
    clear_env_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", lab.proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    lab.http.clear_faults(all=True)
    lab.proxy.reset_counts()
    yield
    lab.http.clear_faults(all=True)


def source(**limits):
    return make_source(WebSource, {}, **limits)


def ask(src, node, store=None, policy=None):
    return ask_once(src, src.queries(node, 0)[0], store, policy)


def mentions(parsed):
    return {f.object: f.attrs for f in facts(parsed, "mentions")}


def test_the_bind_guide_gives_its_indicators_with_context(lab, tmp_path):
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, oid = ask(source(), GUIDE, store)
        assert store.get(oid).raw.startswith(b"<!DOCTYPE html>")
    assert fetched.outcome is Outcome.ANSWERED
    assert lab.proxy.count("http://www.example.com/guide/bind/") == 1  # HTTP_PROXY was honoured
    m = mentions(parsed)
    ip = m["ip:198.51.100.77"]
    assert ip["count"] == 2 and "198.51.100.77" in ip["context"] and "IP 白名单" in ip["context"]
    assert len(ip["context"]) <= 200 and ip["context"].isprintable()
    assert "email:ops@example.net" in m
    assert "company:深圳实验蚁信息技术有限公司" in m  # not "运营主体：..."
    assert parsed.nodes["company:91440300MA5LAB026M"]["division_name"] == "深圳市"
    assert m["icp_filing:粤ICP备00000000号"]["as_written"] == "粤ICP备00000000号-1"
    chains = {node: parsed.nodes[node]["chain"] for node in m if node.startswith("crypto_address:")}
    assert chains == {"crypto_address:0x8c1bb3d014fcfe283805275af10c824d9175f818": "ethereum",
                      "crypto_address:1KnrgLjixm8Yz1PGC2aGbkJuqyLQzRDDob": "bitcoin",
                      "crypto_address:bc1qnz507qmcg039y02zvlkevq8djt0uws6mmnncnv": "bitcoin",
                      "crypto_address:TTJKvC3Ana838HAh32PgmxsWjG7CdpRnmh": "tron"}
    assert "email:business@example.com" in m  # from a mailto: link
    assert parsed.nodes[GUIDE]["title"].startswith("LabBot 教程")
    # scripts, styles and file names are not indicators
    for noise in ("domain:tracker.example.org", "domain:api-internal.example.org", "ip:198.51.100.250",
                  "domain:bg.example.org", "domain:labbot-setup.exe", "domain:readme.md", "domain:app.min.js"):
        assert noise not in m, noise
    assert edges(parsed, "links_to") >= {(GUIDE, "url:https://t.me/labbot_example"),
                                         (GUIDE, "url:https://x.com/labbot_example"),
                                         (GUIDE, "url:http://example.net/")}
    assert (GUIDE, "url:http://www.example.com/") not in edges(parsed, "links_to")  # same site
    assert edges(parsed, "hosted_on") == {(GUIDE, "domain:www.example.com")}
    assert {"ip:198.51.100.77", "email:ops@example.net", "domain:example.net",
            "company:深圳实验蚁信息技术有限公司"} <= set(parsed.leads)
    assert "domain:www.example.com" not in parsed.leads
    assert "domain:t.me" not in parsed.leads and "domain:x.com" not in parsed.leads  # platforms, not suspects


def test_a_gbk_page_with_a_look_alike_domain(lab):
    fetched, parsed, _ = ask(source(), "domain:example.net")
    assert fetched.outcome is Outcome.ANSWERED
    page = "url:http://example.net/"
    assert parsed.nodes[page]["title"] == "LabBot 官方网站二"  # decoded from GBK via <meta>
    m = mentions(parsed)
    assert "company:深圳实验蚁网络科技有限公司" in m
    assert "domain:admin.example.net" in m
    fake = parsed.nodes["domain:xn--exmple-4nf.com"]  # Cyrillic 'а' in a Latin name
    assert fake["possible_homograph"] is True and fake["label"] == "exаmple.com"
    assert (page, "domain:example.net") in edges(parsed, "hosted_on")


def test_redirects_are_recorded_and_followed(lab):
    lab.http.set_fault("redirect", "www.example.com/old/", location="http://www.example.com/guide/bind/", status=301)
    fetched, parsed, _ = ask(source(), "url:http://www.example.com/old/")
    assert fetched.outcome is Outcome.ANSWERED
    (hop,) = [f for f in facts(parsed, "links_to") if f.attrs.get("redirect")]
    assert (hop.subject, hop.object, hop.attrs["status"]) == ("url:http://www.example.com/old/", GUIDE, 301)
    assert "ip:198.51.100.77" in mentions(parsed)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:{port}/page"])
def test_a_redirect_into_internal_networks_is_blocked(lab, target):
    lab.http.set_fault("redirect", "www.example.com/guide/bind/", location=target.format(port=lab.http.port))
    fetched, parsed, _ = ask(source(), GUIDE)
    assert fetched.outcome is Outcome.BLOCKED and parsed is None
    assert "internal address" in fetched.error


def test_internal_page_addresses_need_allow_private(lab):
    node = f"url:http://127.0.0.1:{lab.http.port}/page"
    assert ask(source(), node)[0].outcome is Outcome.BLOCKED
    fetched, parsed, _ = ask(source(), node, policy=LAB_POLICY)
    assert fetched.outcome is Outcome.ANSWERED and "ip:192.0.2.55" in mentions(parsed)


def test_a_missing_page_is_no_record(lab):
    fetched, parsed, _ = ask(source(), "url:http://www.example.com/nothing-here/")
    assert fetched.outcome is Outcome.NO_RECORD
    assert parsed.nodes["url:http://www.example.com/nothing-here/"]["http_status"] == 404
    assert facts(parsed, "mentions") == []


def test_a_file_is_a_bad_answer_but_kept(lab):
    lab.http.set_fault("wrong_content_type", "/page")
    fetched, parsed, _ = ask(source(), f"url:http://127.0.0.1:{lab.http.port}/page", policy=LAB_POLICY)
    assert fetched.outcome is Outcome.BAD_ANSWER and "image/png" in fetched.error
    assert fetched.raw.startswith(b"\x89PNG") and parsed is None


@pytest.mark.parametrize("mode,options,outcome", [
    ("silence", {}, Outcome.TIMEOUT),
    ("reset", {}, Outcome.RESET),
    ("status_429", {"retry_after": 12}, Outcome.RATE_LIMITED),
    ("status_5xx", {"status": 503}, Outcome.SERVER_ERROR),
    ("huge", {"size": 6_000_000, "content_type": "text/html"}, Outcome.TOO_LARGE),
    ("gzip_bomb", {"content_type": "text/html"}, Outcome.TOO_LARGE),
])
def test_faults(lab, mode, options, outcome):
    lab.http.set_fault(mode, "/page", **options)
    start = time.monotonic()
    fetched, parsed, _ = ask(source(timeout=1.0), f"url:http://127.0.0.1:{lab.http.port}/page", policy=LAB_POLICY)
    assert fetched.outcome is outcome, fetched.error
    assert parsed is None and time.monotonic() - start < 3
    if outcome is Outcome.RATE_LIMITED:
        assert fetched.retry_after == 12.0
    if outcome is Outcome.TOO_LARGE:
        assert len(fetched.raw) == 5_000_000  # the default cap


def test_a_five_megabyte_page_parses_in_seconds():
    row = ("<tr><td>节点 198.51.100.{n} 运营方深圳实验蚁信息技术有限公司</td><td>node{n}.example.org</td>"
           "<td><a href='https://mirror{n}.example.org/'>mirror</a> ops{n}@example.net</td></tr>\n")
    body = "<html><head><title>big</title></head><body><table>"
    rows = [row.format(n=i % 250) for i in range(40_000)]
    raw = (body + "".join(rows) + "</table>" + "x " * 200_000 + "</body></html>").encode()[:5_000_000]
    src = source()
    q = Query("web", "GET http://www.example.com/big/", "url:http://www.example.com/big/", "http",
              {"url": "http://www.example.com/big/"}, "http://www.example.com", (), False)
    start = time.monotonic()
    parsed = src.parse(q, raw, {"status": 200, "headers": {"content-type": "text/html"}})
    assert time.monotonic() - start < 5
    m = mentions(parsed)
    assert m["ip:198.51.100.7"]["count"] > 50  # counted within the first 2 million characters
    assert len(m) <= 500 and len(facts(parsed, "links_to")) == 100


def test_indicators_nested_deeper_than_the_parser_goes_are_still_found():
    raw = ("<html><body>" + "<div>" * 20_000 + "pay to 0x8c1bb3d014fcfe283805275af10c824d9175f818 &amp; "
           "write ops@example.net<script>var x='198.51.100.250';</script></body></html>").encode()
    q = Query("web", "GET http://example.net/deep/", "url:http://example.net/deep/", "http",
              {"url": "http://example.net/deep/"}, "http://example.net", (), False)
    parsed = source().parse(q, raw, {"status": 200, "headers": {"content-type": "text/html"}})
    m = mentions(parsed)
    assert {"crypto_address:0x8c1bb3d014fcfe283805275af10c824d9175f818", "email:ops@example.net"} <= set(m)
    assert "ip:198.51.100.250" not in m


def test_home_pages_of_the_case_domains_only_by_default():
    (q,) = source().queries("domain:example.com", 0)
    assert q.request["url"] == "http://example.com/" and q.trusted is False
    assert source().queries("domain:api.example.com", 1) == []  # found on the way: not visited
    assert len(make_source(WebSource, {"home_pages": "all"}).queries("domain:api.example.com", 1)) == 1
    assert make_source(WebSource, {"home_pages": "none"}).queries("domain:example.com", 0) == []
    assert make_source(WebSource, {"home_pages": "all"}).queries("domain:_spf.example.net", 1) == []
    assert len(source().queries("url:http://example.com/x", 3)) == 1  # a page address is always fetched
    assert source().queries("url:ftp://example.com/x", 0) == []
