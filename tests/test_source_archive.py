"""Web archives against the lab's Wayback-style CDX server and capture replay: dated facts from old pages."""

from __future__ import annotations

import pytest
from lab.world import archive as world

from osint.transport.pipeline import ask_once
from osint.sources.archive import ArchiveSource, Capture, choose, read_cdx, read_timemap, ts_iso
from osint.store import EvidenceStore, Outcome
from source_helpers import facts, lab_fixtures, make_source

GUIDE = "url:http://www.example.com/guide/bind/"


lab, clean = lab_fixtures(world, direct=True)


class _Incident:
    from datetime import datetime, timezone
    time = datetime(2023, 3, 20, 17, 0, tzinfo=timezone.utc)


class _Case:
    incident = _Incident()  # a property of the real case model


def source(lab, case=_Case(), **options):
    return make_source(ArchiveSource, {**world.settings(lab), **options}, case=case)


def crawl(src, node, store=None):
    """Ask the index, then every page and capture it calls for, as the engine does (each key once)."""
    asked, out, queue = set(), [], list(src.queries(node, 0))
    while queue:
        q = queue.pop(0)
        if q.key in asked:
            continue
        asked.add(q.key)
        fetched, parsed, oid = ask_once(src, q, store)
        out.append((q, fetched, parsed, oid))
        if parsed is not None:
            queue.extend(parsed.followups)
    return out


def all_facts(results, relation=None):
    return [f for _, _, p, _ in results if p is not None for f in facts(p, relation)]


def test_an_ip_only_old_captures_list_is_found_and_dated(lab, tmp_path):
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        results = crawl(source(lab), GUIDE, store)
        first_q, _, _, oid = results[0]
        assert store.get(oid).request["params"]["collapse"] == "digest"
    params = lab.http.requests[0].params
    assert params["output"] == "json" and params["matchType"] == "exact" and params["showResumeKey"] == "true"
    # Paged by limit=4: the second page was asked with the first page's resumption key.
    assert [r.params.get("resumeKey") is not None for r in lab.http.requests if r.path == world.CDX_PATH] == [False, True]
    old = [f for f in all_facts(results, "mentions") if f.object == f"ip:{world.OLD_IP}"]
    assert old and {f.subject for f in old} == {GUIDE}
    assert min(f.first_seen for f in old) == "2022-05-10T08:30:00Z"  # the first capture that lists it
    assert max(f.last_seen for f in old) == "2023-01-15T00:00:00Z"  # the last one that does
    assert all(f.attrs["capture"] and f.attrs["archive"].startswith("http://127.0.0.1") for f in old)
    new = [f for f in all_facts(results, "mentions") if f.object == "ip:198.51.100.77"]
    assert min(f.first_seen for f in new) == "2022-11-01T09:00:00Z"
    icp = [f for f in all_facts(results, "mentions") if f.object.startswith("icp_filing:")]
    assert {f.object for f in icp} == {"icp_filing:粤ICP备20220001号"}
    companies = {f.object for f in all_facts(results, "mentions") if f.object.startswith("company:")}
    assert "company:91440300MA5LAB018T" in companies
    assert f"ip:{world.OLD_IP}" in set().union(*(p.leads for _, _, p, _ in results if p))


def test_identical_digests_are_fetched_once_and_the_toolbar_never(lab):
    crawl(source(lab), GUIDE)
    captures = [r.path for r in lab.http.requests if r.path.startswith(world.WEB_PREFIX)]
    assert captures and all("id_/" in p for p in captures), captures
    # guide-2022.html was captured three times (one adjacent repeat collapsed by the server):
    # its bytes are fetched once, the other contents once each, plus the redirect capture.
    assert sorted(p.split("/")[3] for p in captures) == ["20220510083000id_", "20221101090000id_",
                                                          "20230402100000id_", "20230601000000id_"]
    assert len(captures) == len(set(captures))


def test_redirect_and_missing_captures_are_facts(lab):
    results = crawl(source(lab), GUIDE)
    (hop,) = all_facts(results, "redirects_to")
    assert (hop.subject, hop.object) == (GUIDE, "url:http://www.example.com/guide/bind-v2/")
    assert (hop.first_seen, hop.attrs["status"]) == ("2023-06-01T00:00:00Z", 302)
    (gone,) = all_facts(results, "missing_from")
    assert (gone.subject, gone.object, gone.first_seen) == (GUIDE, "domain:www.example.com", "2024-01-01T00:00:00Z")
    # The 503 capture was filtered out by the index query: it is neither fetched nor a fact.
    assert not [r for r in lab.http.requests if "20240301000000" in r.path]
    # The archived redirect is never followed: the target capture is not asked for.
    assert not [r for r in lab.http.requests if "bind-v2" in r.path]


def test_a_host_query_covers_every_page_of_the_host(lab):
    results = crawl(source(lab), "domain:www.example.com")
    assert lab.http.requests[0].params["matchType"] == "host"
    pages = {f.subject for f in all_facts(results, "mentions")}
    assert pages == {"url:http://www.example.com/", GUIDE}
    assert source(lab).queries("domain:api.example.com", 1) == []  # found on the way: not asked by default


def test_a_page_the_archive_never_captured_is_no_record(lab):
    (q,) = source(lab).queries("url:http://example.net/never/", 0)
    fetched, parsed, _ = ask_once(source(lab), q)
    assert fetched.outcome is Outcome.NO_RECORD and parsed.followups == []


def test_a_429_is_rate_limited_with_its_retry_after(lab):
    lab.http.set_fault("status_429", world.CDX_PATH, times=1, retry_after=7)
    src = source(lab)
    (q,) = src.queries(GUIDE, 0)
    fetched, parsed, _ = ask_once(src, q)
    assert fetched.outcome is Outcome.RATE_LIMITED and fetched.retry_after == 7.0 and parsed is None
    fetched, parsed, _ = ask_once(src, q)
    assert fetched.outcome is Outcome.ANSWERED


def test_an_html_error_page_is_a_bad_answer(lab):
    lab.http.add_route("GET", "/broken-cdx", (200, "<html>Wayback is down for maintenance</html>", {}, "text/html"))
    src = make_source(ArchiveSource, {"cdx_url": lab.http.url + "/broken-cdx"})
    (q,) = src.queries(GUIDE, 0)
    fetched, _, _ = ask_once(src, q)
    assert fetched.outcome is Outcome.BAD_ANSWER and "capture index" in fetched.error


def test_memento_timemaps_are_read_and_their_mementos_fetched_raw(lab):
    tm = f"{lab.http.url}{world.TIMEMAP_PREFIX}"
    results = crawl(source(lab, cdx_url="", timemaps=[tm]), GUIDE)
    assert results[0][0].key.startswith("timemap ")
    captures = [r.path for r in lab.http.requests if r.path.startswith(world.WEB_PREFIX)]
    assert captures and all("id_/" in p for p in captures)
    old = [f for f in all_facts(results, "mentions") if f.object == f"ip:{world.OLD_IP}"]
    assert min(f.first_seen for f in old) == "2022-05-10T08:30:00Z"


def test_the_selection_rule_is_the_investigators():
    caps = [Capture(ts, "http://a.example/", "text/html", 200, d, 1) for ts, d in
            [("20200101000000", "A"), ("20210101000000", "B"), ("20220101000000", "A"),
             ("20230101000000", "C"), ("20230401000000", "D"), ("20240101000000", "E")]]
    incident = "20230320170000"
    picked = choose(caps, ["incident", "first", "last", "digests"], 3, incident)
    assert [(c.digest, times) for c, times in picked] == [
        ("C", ["20230101000000"]), ("D", ["20230401000000"]), ("A", ["20200101000000", "20220101000000"])]
    assert [c.digest for c, _ in choose(caps, ["digests"], 10, incident)] == ["A", "B", "C", "D", "E"]
    assert [c.digest for c, _ in choose(caps, ["last"], 10, None)] == ["E"]


def test_cdx_and_timemap_shapes():
    rows, resume = read_cdx(b'[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],'
                            b'["com,example)/","2022","http://example.com/","text/html","-","-","-"],[],["k%21"]]')
    assert resume == "k%21" and rows[0].timestamp == "20220101000000" and rows[0].status is None
    assert read_cdx(b"[]") == ([], None)
    with pytest.raises(ValueError):
        read_cdx(b'{"not": "rows"}')
    tm = read_timemap(b'<http://a.example/>; rel="original",\n'
                      b'<http://arc.example/web/20220510083000/http://a.example/>; rel="first memento"; '
                      b'datetime="Tue, 10 May 2022 08:30:00 GMT"')
    assert [(c.timestamp, c.original) for c in tm] == [("20220510083000", "http://a.example/")]
    assert ts_iso("20230402100000") == "2023-04-02T10:00:00Z"


def test_a_memento_on_a_server_the_configuration_does_not_name_is_untrusted(lab):
    src = source(lab, cdx_url="", timemaps=[f"{lab.http.url}{world.TIMEMAP_PREFIX}"])
    cap = Capture("20220510083000", "http://www.example.com/guide/bind/", "", None,
                  "memento:http://10.0.0.1/web/20220510083000/http://www.example.com/guide/bind/", None)
    (q,) = src.queries(GUIDE, 0)
    query = src._memento_query(q, GUIDE, cap, [cap.timestamp])
    assert query.request["url"] == "http://10.0.0.1/web/20220510083000id_/http://www.example.com/guide/bind/"
    assert query.trusted is False
    fetched, parsed, _ = ask_once(src, query)
    assert fetched.outcome is Outcome.BLOCKED and parsed is None


def test_a_captured_file_is_kept_but_not_read_as_a_page(lab):
    src, _ = source(lab), None
    cap = Capture("20221101090000", "http://www.example.com/guide/bind/", "text/html", 200, "X", 1)
    query = src.capture_query(GUIDE, cap, [cap.timestamp], 0, src.capture_url)
    lab.http.set_fault("wrong_content_type", "/wayback/web/20221101090000id_/http://www.example.com/guide/bind/")
    fetched, parsed, _ = ask_once(src, query)
    assert fetched.outcome is Outcome.BAD_ANSWER and "image/png" in fetched.error
    assert fetched.raw.startswith(b"\x89PNG") and parsed is None


from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

from osint.transport.pipeline import parse_stored  # noqa: E402
from osint.sources.base import ParseError  # noqa: E402

_CELL = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                  st.sampled_from(["20220510083000", "200", "302", "404", "-", "http://a.example/", "text/html"]))
_ROW = st.lists(_CELL, max_size=8)
_CDX = st.one_of(st.lists(_ROW, max_size=6),
                 st.lists(_ROW, max_size=6).map(lambda rows: [list(world.FIELDS)] + rows),
                 st.recursive(_CELL, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c,
                                                                                       max_size=4), max_leaves=12))


@hsettings(max_examples=150, deadline=None)
@given(doc=_CDX)
def test_any_json_answer_is_read_or_refused_in_words(doc):
    import json as _json

    src = make_source(ArchiveSource, {"cdx_url": "http://192.0.2.80/cdx", "capture_url": "http://192.0.2.80/web/"},
                      case=_Case())
    (q,) = src.queries(GUIDE, 0)
    try:
        parsed = parse_stored(src, q, _json.dumps(doc).encode(), {"status": 200})
    except ParseError as exc:
        assert "archive" in str(exc)
        return
    for f in parsed.followups:
        assert f.request["url"].startswith(("http://192.0.2.80/web/", "http://192.0.2.80/cdx"))


@hsettings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_any_timemap_text_is_read_or_refused(text):
    try:
        caps = read_timemap(text.encode())
    except ValueError:
        return
    assert all(len(c.timestamp) == 14 and c.timestamp.isdigit() for c in caps)


def test_each_archive_has_its_own_rate():
    src = make_source(ArchiveSource, {"rates": {"web.archive.org": 0.2, "127.0.0.1:8080": 3}}, rate=1.0)
    assert src.rate_for("web.archive.org") == 0.2 and src.rate_for("web.archive.org:443") == 0.2
    assert src.rate_for("127.0.0.1:8080") == 3.0 and src.rate_for("arquivo.pt") == 1.0
    assert make_source(ArchiveSource, {}).rate_for("web.archive.org") == 0.5  # polite by default


def test_the_archives_own_redirect_to_its_nearest_capture_is_followed_in_id_form(lab):
    src = source(lab)
    cap = Capture("20220510083001", "http://www.example.com/guide/bind/", "text/html", 200, "NEAR", 1)
    results = crawl_query(src, src.capture_query(GUIDE, cap, [cap.timestamp], 0, src.capture_url))
    assert [r.path.split("/")[3] for r in lab.http.requests] == ["20220510083001id_", "20220510083000id_"]
    assert not all_facts(results, "redirects_to")  # the archive's redirect, not the page's
    old = [f for f in all_facts(results, "mentions") if f.object == f"ip:{world.OLD_IP}"]
    assert old and old[0].first_seen == "2022-05-10T08:30:01Z"  # dated as the index said


def crawl_query(src, query):
    asked, out, queue = set(), [], [query]
    while queue:
        q = queue.pop(0)
        if q.key in asked:
            continue
        asked.add(q.key)
        fetched, parsed, oid = ask_once(src, q)
        out.append((q, fetched, parsed, oid))
        if parsed is not None:
            queue.extend(parsed.followups)
    return out
