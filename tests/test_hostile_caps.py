"""Hostile content against the loopback lab: every cap of issue 5's "hostile content" that the
source tests do not already hold, one test each. (Which test holds which cap: see the table at
the end of this file.)

Memory is measured with tracemalloc around the whole question (fetch, store, parse), lab servers
included, against a fixed bound of three times the cap: the answer past the cap must never be
held. Nothing here is timed; the transports' own deadlines are the time caps.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import pytest

from lab import Fault, Response
from lab.world import shodan as shodan_world
from lab.world import to_toml
from lab.world.whois import DATA as WHOIS_DATA
from osint.case import load_case
from osint.config import EnrichSettings, Secret, SourceSettings, load_settings
from osint.transport.pipeline import ask_once
from osint.engine.run import Enricher
from osint.export import export
from osint.graph import build_graph
from osint.sources.base import SourceContext
from osint.sources.ct import CTSource
from osint.sources.shodan import ShodanSource
from osint.sources.web import WebSource
from osint.sources.whois import WhoisSource
from osint.store import EvidenceStore, Outcome
from osint.transport.policy import AddressPolicy
from source_helpers import clear_env_proxies, lab_with, make_source

CASE = Path(__file__).resolve().parent / "data" / "case.yaml"
GRAPH_FORMATS = ("gexf", "graphml", "json", "csv")
THIN = (WHOIS_DATA / "thin" / "example.com.txt").read_text(encoding="utf-8")
REGISTRAR = "whois.example-registrar.test"
# What no export may carry: C0/C1 controls but tab and line ends, DEL, non-characters, surrogates.
NOT_IN_EXPORTS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


@pytest.fixture
def store(tmp_path: Path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    clear_env_proxies(monkeypatch)


def whois_source(server, *, allow_private: bool = False, **options) -> WhoisSource:
    options.setdefault("server", f"{server.host}:{server.port}")
    return WhoisSource(SourceSettings(timeout=5.0, retries=0, options=options),
                       SourceContext(case=None, enrich=EnrichSettings(allow_private=allow_private)))


def ask(source, query, store=None, *, allow_private: bool = False):
    return ask_once(source, query, store, AddressPolicy(allow_private=allow_private))


def peak_bytes(call):
    """(result, peak bytes Python allocated while `call` ran, in every thread)."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def exports_of(graph: nx.MultiDiGraph, directory: Path) -> dict[str, list[Path]]:
    return {fmt: export(graph, fmt, directory / f"g.{fmt}") for fmt in GRAPH_FORMATS}


# --- size caps ----------------------------------------------------------------------------------


def test_a_2mb_whois_answer_is_cut_at_the_default_cap_recorded_and_held_in_bounded_memory(whois_server, store):
    whois_server.set_fault(Fault.HUGE, "example.com", size=2 * 1024 * 1024)
    src = whois_source(whois_server)
    cap = src.max_bytes
    assert cap == WhoisSource.default_max_bytes == 1_000_000  # the cap a user gets without configuring one
    [query] = src.queries("domain:example.com", 0)
    (fetched, parsed, oid), peak = peak_bytes(lambda: ask(src, query, store))
    assert fetched.outcome is Outcome.TOO_LARGE and parsed is None
    assert f"more than {cap} bytes" in fetched.error
    stored = store.get(oid)  # the outcome is on record, with the bytes that did arrive
    assert (stored.outcome, stored.raw_size, stored.sha256) == (
        Outcome.TOO_LARGE, cap, hashlib.sha256(stored.raw).hexdigest())
    assert store.latest_parse(oid) is None
    assert peak < 3 * cap, f"{peak} bytes held for a {cap}-byte cap"


@pytest.mark.parametrize("fault, options", [
    ("huge", {"size": 50_000_000, "content_type": "text/html"}),  # a 50 MB page
    ("gzip_bomb", {"size": 200_000_000, "content_type": "text/html"}),  # 200 kB on the wire, 200 MB inflated
], ids=["50MB-page", "gzip-bomb"])
def test_a_50mb_page_and_a_gzip_bomb_stop_at_the_body_cap_which_the_outcome_names(http_server, store, fault,
                                                                                 options):
    http_server.set_fault(fault, "/page", **options)
    src = make_source(WebSource, {}, timeout=20.0, retries=0)
    cap = src.max_bytes
    assert cap == WebSource.default_max_bytes == 5_000_000
    [query] = src.queries(f"url:http://127.0.0.1:{http_server.port}/page", 0)
    (fetched, parsed, oid), peak = peak_bytes(lambda: ask(src, query, store, allow_private=True))
    assert fetched.outcome is Outcome.TOO_LARGE and parsed is None
    assert f"more than {cap} bytes; cut off" in fetched.error
    stored = store.get(oid)
    assert (stored.outcome, stored.raw_size) == (Outcome.TOO_LARGE, cap)
    assert stored.error == fetched.error
    assert peak < 3 * cap, f"{peak} bytes held for a {cap}-byte cap"


PLATFORM_PAGES = [  # (source, node asked about, the path its page is served at)
    ("telegram", "account:telegram:labbot_example", "/s/labbot_example"),
    ("google-play", "account:google_play:com.example.labbot", "/store/apps/details"),
    ("youtube", "account:youtube:labbot_example", "/@labbot_example/about"),
]


@pytest.mark.parametrize("name, node, path", PLATFORM_PAGES, ids=[p[0] for p in PLATFORM_PAGES])
@pytest.mark.parametrize("fault, options", [
    ("huge", {"size": 50_000_000, "content_type": "text/html"}),
    ("gzip_bomb", {"size": 200_000_000, "content_type": "text/html"}),
], ids=["50MB-page", "gzip-bomb"])
def test_a_50mb_channel_page_or_listing_stops_at_the_cap_which_the_outcome_names(http_server, store, name, node,
                                                                                 path, fault, options):
    from osint.sources import registered_sources

    http_server.set_fault(fault, path, **options)
    src = make_source(registered_sources()[name], {"endpoint": http_server.url}, timeout=20.0, retries=0)
    cap = src.max_bytes
    assert cap == 5_000_000
    [query] = src.queries(node, 0)
    (fetched, parsed, oid), peak = peak_bytes(lambda: ask(src, query, store))
    assert fetched.outcome is Outcome.TOO_LARGE and parsed is None
    assert f"more than {cap} bytes; cut off" in fetched.error
    stored = store.get(oid)
    assert (stored.outcome, stored.raw_size) == (Outcome.TOO_LARGE, cap)
    assert peak < 3 * cap, f"{peak} bytes held for a {cap}-byte cap"


# --- NUL, control characters, lone surrogates ---------------------------------------------------

HOSTILE_ORG = "Evil\x00 Org\x07\x1b[31m \u202eLtd\u202c"
HOSTILE_PAGE = ("<html><head><title>Lab\x00 page\x01\x1b[2J title</title></head><body>"
                "<p>contact\x00 ops@example.net\x07 at 198.51.100.77\x0b<br>\x01\x02 end</p></body></html>")
HOSTILE_HOST_JSON = (b'{"ip_str": "192.0.2.10", "org": "Evil\\u0000 \\ud800Org\\u001b", '
                     b'"os": "\\udfff\\u0007", "hostnames": ["host\\u0000.example.com"]}')


def test_nul_and_control_characters_are_stored_raw_and_never_reach_an_export(whois_server, http_proxy,
                                                                              http_server, store, tmp_path,
                                                                              monkeypatch):
    # WHOIS: a registrant organisation full of controls.
    whois_text = re.sub(r"(?m)^Registrant Organization:.*$", f"Registrant Organization: {HOSTILE_ORG}",
                        (WHOIS_DATA / "example.com.txt").read_text(encoding="utf-8"))
    assert HOSTILE_ORG in whois_text
    whois_server.add_answer("example.com", whois_text)
    whois = whois_source(whois_server)
    fetched, parsed, whois_oid = ask(whois, whois.queries("domain:example.com", 0)[0], store)
    assert fetched.outcome is Outcome.ANSWERED
    assert store.get(whois_oid).raw == whois_text.encode("utf-8")  # raw, NULs and all
    assert ("domain:example.com", "registrant", "org:Evil Org[31m \u202eLtd\u202c") in {
        (f.subject, f.relation, f.object) for f in parsed.facts}  # controls gone, the text kept

    # A web page (through the proxy, as a user's HTTP_PROXY sends it) with controls in its title and text.
    http_proxy.add_site("www.example.com", {"/": Response(200, HOSTILE_PAGE.encode("utf-8"),
                                                          content_type="text/html; charset=utf-8")})
    monkeypatch.setenv("HTTP_PROXY", http_proxy.url)
    web = make_source(WebSource, {}, timeout=5.0, retries=0)
    fetched, parsed, web_oid = ask(web, web.queries("url:http://www.example.com/", 0)[0], store)
    assert fetched.outcome is Outcome.ANSWERED and parsed is not None
    assert store.get(web_oid).raw == HOSTILE_PAGE.encode("utf-8")
    mentions = {f.object: f.attrs for f in parsed.facts if f.relation == "mentions"}
    assert {"email:ops@example.net", "ip:198.51.100.77"} <= set(mentions)  # one \x01 does not cost the page
    assert all(m["context"].isprintable() for m in mentions.values())
    monkeypatch.delenv("HTTP_PROXY")

    # A Shodan answer whose JSON escapes decode to NUL, ESC and lone surrogates.
    http_server.get("/shodan/host/192.0.2.10", Response(200, HOSTILE_HOST_JSON, content_type="application/json"))
    shodan = make_source(ShodanSource, {"url": http_server.url, "api_key": Secret("LabKey0123456789")},
                         timeout=5.0, retries=0)
    fetched, parsed, shodan_oid = ask(shodan, shodan.queries("ip:192.0.2.10", 0)[0], store)
    assert fetched.outcome is Outcome.ANSWERED and parsed is not None
    assert store.get(shodan_oid).raw == HOSTILE_HOST_JSON  # the escapes as sent
    stored_parse = json.dumps(store.latest_parse(shodan_oid), ensure_ascii=False)
    # U+FFFD for surrogates and NUL alike (PostgreSQL refuses NUL in text and jsonb; one rule for every store);
    # the raw bytes above keep the escapes as sent.
    assert "\ufffd" in stored_parse and "\\u0000" not in stored_parse

    # The graph from all three, in every format: the text survives, the controls do not.
    graph = build_graph(load_case(CASE), store)
    for fmt, files in exports_of(graph, tmp_path / "out").items():
        for path in files:
            text = path.read_bytes().decode("utf-8")  # strict: nothing unencodable reached the file
            assert not NOT_IN_EXPORTS.search(text), (fmt, path.name, NOT_IN_EXPORTS.search(text).group())
            assert "Evil Org" in text and "\u202eLtd" in text, (fmt, path.name)
        if fmt == "csv":
            with files[0].open(encoding="utf-8", newline="") as fh:
                assert len(list(csv.DictReader(fh))) == graph.number_of_nodes()


def test_a_lone_surrogate_in_one_answer_costs_no_other_answer_of_the_run(tmp_path):
    # The engine writes observations in batches: one text the database cannot encode used to fail
    # the whole batch, and the run with it.
    hostile = SimpleNamespace(NAME="hostile", settings=lambda lab: {}, install=lambda lab: lab.http.get(
        "/shodan/host/192.0.2.10", Response(200, HOSTILE_HOST_JSON, content_type="application/json")))
    with lab_with(hostile, shodan_world) as lab:  # the hostile route first: routes never shadow earlier ones
        cfg = tmp_path / "osint.toml"
        sources = {"shodan": {**shodan_world.settings(lab), "rate": 1000.0, "burst": 100, "retries": 0}}
        cfg.write_text(to_toml({"store": {"path": str(tmp_path / "e.sqlite")}, "sources": sources}))
        cfg.chmod(0o600)
        settings = load_settings(cfg, env={})
        case = load_case(CASE)
        with EvidenceStore(settings.store) as store:
            report = Enricher(settings, case, store, sources=["shodan"]).run()
            rows = store.list(source="shodan")
            asked = {r.subject for r in rows if r.query_key.startswith("host ")}  # not the search pivots
            assert asked == {i.node_id for i in case.servers}  # every alleged server has its answer on record
            assert all(r.outcome in (Outcome.ANSWERED, Outcome.NO_RECORD) for r in rows), rows
            assert all(store.latest_parse(r.id) is not None for r in rows if r.outcome is Outcome.ANSWERED)
            [hostile_row] = [r for r in rows if r.subject == "ip:192.0.2.10"]
            assert store.get(hostile_row.id).raw == HOSTILE_HOST_JSON
        assert report.exit_status == 0


# --- look-alike host names ----------------------------------------------------------------------

LOOKALIKE = "exаmple.com"  # Cyrillic а (U+0430)


def test_a_look_alike_host_named_by_any_source_is_flagged_in_the_graph_and_every_export(http_server, store,
                                                                                        tmp_path):
    # Web pages flag their own finds (test_source_web); here a certificate names the look-alike.
    entries = [{"id": 4242, "issuer_name": "C=ZZ, O=Lab CA", "common_name": LOOKALIKE,
                "name_value": f"{LOOKALIKE}\nwww.{LOOKALIKE}\nexample.com", "serial_number": "0a",
                "not_before": "2023-01-01T00:00:00", "not_after": "2023-12-31T23:59:59",
                "entry_timestamp": "2023-01-01T00:00:01"}]
    http_server.get("/crtsh/", Response(200, json.dumps(entries).encode(), content_type="application/json"))
    ct = make_source(CTSource, {"url": f"{http_server.url}/crtsh/"}, timeout=5.0, retries=0)
    fetched, parsed, _ = ask(ct, ct.queries("domain:example.com", 0)[0], store)
    assert fetched.outcome is Outcome.ANSWERED
    fake = "domain:xn--exmple-4nf.com"
    assert (("certificate:crtsh-4242", "certificate_names", fake) in
            {(f.subject, f.relation, f.object) for f in parsed.facts})

    graph = build_graph(load_case(CASE), store)
    assert graph.nodes[fake]["possible_homograph"] is True and graph.nodes[fake]["label"] == LOOKALIKE
    assert graph.nodes["domain:www.xn--exmple-4nf.com"]["possible_homograph"] is True
    assert not graph.nodes["domain:example.com"].get("possible_homograph")  # the real one is not
    files = exports_of(graph, tmp_path / "out")
    gexf = nx.read_gexf(files["gexf"][0])
    assert gexf.nodes[fake]["possible_homograph"] is True
    graphml = nx.read_graphml(files["graphml"][0], force_multigraph=True)
    assert graphml.nodes[fake]["possible_homograph"] is True
    doc = json.loads(files["json"][0].read_text("utf-8"))
    assert next(n for n in doc["nodes"] if n["id"] == fake)["possible_homograph"] is True
    with files["csv"][0].open(encoding="utf-8", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Id"] == fake)
    assert row["Possible homograph"] == "true" and row["Label"] == LOOKALIKE


# --- answers that point inside our own network --------------------------------------------------

# The test's socket guard raises this for any connection beyond loopback, before a byte leaves:
# seeing it proves the transport did try, i.e. that the policy let the target through.
GUARD = "test tried to reach the network"
PRIVATE = ["10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.254", "192.168.0.1", "192.168.255.254",
           "169.254.1.1", "[fe80::1]", "[fd00::1]", "[::ffff:10.0.0.1]"]
METADATA = ["169.254.169.254", "[::ffff:169.254.169.254]"]


@pytest.mark.parametrize("target", PRIVATE + METADATA)
def test_a_redirect_into_a_private_network_is_refused_unless_allowed(http_server, target):
    # crt.sh is a configured (trusted) endpoint; where its redirect points is the answer's choice.
    http_server.get("/crtsh/", Response(302, b"", {"Location": f"http://{target}/crtsh/?q=%25.example.com"}))
    ct = make_source(CTSource, {"url": f"{http_server.url}/crtsh/"}, timeout=5.0, retries=0)
    [query] = ct.queries("domain:example.com", 0)
    fetched, parsed, _ = ask(ct, query)  # no guard error: nothing was sent to the target
    assert fetched.outcome is Outcome.BLOCKED and parsed is None
    assert "internal address" in fetched.error and "allow_private" in fetched.error
    assert fetched.meta["redirects"][0]["to"].startswith(f"http://{target}/")
    if target in METADATA:  # never, whatever the user allows
        assert ask(ct, query, allow_private=True)[0].outcome is Outcome.BLOCKED
    else:
        with pytest.raises(RuntimeError, match=GUARD):
            ask(ct, query, allow_private=True)


def test_a_redirect_to_loopback_by_name_is_refused_unless_allowed(http_server):
    http_server.get("/ok/", Response(200, b"[]", content_type="application/json"))
    http_server.get("/crtsh/", Response(302, b"", {"Location": f"http://localhost:{http_server.port}/ok/"}))
    ct = make_source(CTSource, {"url": f"{http_server.url}/crtsh/"}, timeout=5.0, retries=0)
    [query] = ct.queries("domain:example.com", 0)
    fetched, _, _ = ask(ct, query)
    assert fetched.outcome is Outcome.BLOCKED and "resolves to 127.0.0.1" in fetched.error
    assert http_server.count("/ok/") == 0
    assert ask(ct, query, allow_private=True)[0].outcome is Outcome.NO_RECORD  # followed: an empty list
    assert http_server.count("/ok/") == 1


@pytest.mark.parametrize("target", [t.strip("[]") for t in PRIVATE if ":" not in t.strip("[]")] + ["169.254.169.254"])
def test_a_whois_referral_into_a_private_network_is_refused_unless_allowed(whois_server, target):
    whois_server.add_answer("example.com", THIN.replace(REGISTRAR, target))
    src = whois_source(whois_server)
    fetched, thin, _ = ask(src, src.queries("domain:example.com", 0)[0])
    assert fetched.outcome is Outcome.ANSWERED
    [referral] = thin.followups
    assert (referral.endpoint, referral.trusted) == (target, False)
    blocked, parsed, _ = ask(src, referral)
    assert blocked.outcome is Outcome.BLOCKED and parsed is None and "internal address" in blocked.error
    allowed = whois_source(whois_server, allow_private=True)
    if target in ("169.254.169.254",):
        assert ask(allowed, referral, allow_private=True)[0].outcome is Outcome.BLOCKED
    else:
        with pytest.raises(RuntimeError, match=GUARD):
            ask(allowed, referral, allow_private=True)


def test_a_whois_referral_to_loopback_by_name_is_refused_unless_allowed(whois_server):
    with whois_server.__class__(trickle_interval=0.05) as registrar:
        registrar.add_answer("example.com", "Domain Name: EXAMPLE.COM\nRegistrar: Lab Registrar\n")
        whois_server.add_answer("example.com", THIN.replace(REGISTRAR, f"localhost:{registrar.port}"))
        src = whois_source(whois_server)
        [referral] = ask(src, src.queries("domain:example.com", 0)[0])[1].followups
        blocked = ask(src, referral)[0]
        assert blocked.outcome is Outcome.BLOCKED and "resolves to 127.0.0.1" in blocked.error
        assert registrar.count() == 0
        allowed = whois_source(whois_server, allow_private=True)
        fetched, parsed, _ = ask(allowed, referral, allow_private=True)
        assert fetched.outcome is Outcome.ANSWERED and registrar.count("example.com") == 1
        assert ("domain:example.com", "registered_with", "registrar:Lab Registrar") in {
            (f.subject, f.relation, f.object) for f in parsed.facts}


# Which test holds each cap of issue 5 item 2 ("Hostile content"):
#
# | cap                                                   | test                                                     |
# |-------------------------------------------------------|----------------------------------------------------------|
# | 2 MB WHOIS answer: cut at the cap, recorded           | test_source_whois::test_a_huge_answer_is_cut_at_the_cap, |
# |   ... at the default cap, on record, bounded memory   | here: test_a_2mb_whois_answer_...                        |
# | deeply nested RDAP JSON: bad answer, no crash         | test_source_rdap::test_deeply_nested_json_is_a_bad_answer|
# |   ... re-parsed from the store: a parse failure       | test_properties::test_every_json_source_reads_any_bytes_ |
# | DNS answer with thousands of records (TCP, capped)    | test_source_dns::test_a_huge_answer_is_capped            |
# | 50 MB page, gzip bomb: cut at the cap                 | test_source_web::test_faults[huge|gzip_bomb], shodan, ct |
# |   ... 50 MB, cap named in the outcome, bounded memory | here: test_a_50mb_page_and_a_gzip_bomb_...               |
# |   ... Telegram, Google Play, YouTube pages            | here: test_a_50mb_channel_page_or_listing_...            |
# | channel page with 10,000 posts: read up to 200, noted | test_source_telegram::test_a_page_of_ten_thousand_posts_ |
# | zip bomb posing as an APK: refused, nothing stored    | test_import_apk::test_a_zip_bomb_posing_as_an_apk_...    |
# | APK over 200 MB, not an APK: one line, exit 2         | test_import_apk::test_a_file_over_the_size_cap_...,      |
# |                                                       | test_import_apk::test_a_file_that_is_not_an_apk_...      |
# | NUL and control characters: stored raw, not exported | here: test_nul_and_control_characters_...,               |
# |                                                       | test_a_lone_surrogate_in_one_answer_...,                 |
# |                                                       | test_export_formats::test_hostile_text_in_every_format   |
# | mixed-script look-alike domains flagged               | test_source_web::test_a_gbk_page_with_a_look_alike_domain|
# |   ... named by any source, in the graph and exports   | here: test_a_look_alike_host_named_by_any_source_...     |
# | redirect/referral to loopback refused unless allowed  | test_source_whois::test_a_referral_to_loopback_...,      |
# |                                                       | test_source_web::test_a_redirect_into_internal_...,      |
# |                                                       | test_source_rdap::test_a_redirect_to_another_registry_...|
# | ... to 10/8, 172.16/12, 192.168/16, link-local,       | here: test_a_redirect_into_a_private_network_...,        |
# |     169.254.169.254 (never, even when allowed)        | test_a_whois_referral_into_a_private_network_...,        |
# |                                                       | test_transport_policy (the policy alone)                 |


# --- the archive source: hostile captures --------------------------------------------------------
# | 50 MB capture, gzip bomb capture: cut at the cap      | here: test_a_50mb_capture_and_a_gzip_bomb_capture_...    |
# | archived redirect into a private network: never sent  | here: test_an_archived_redirect_into_a_private_network_..|


def _archive(http_server):
    from lab.world import archive as archive_world
    from osint.sources.archive import ArchiveSource, Capture

    archive_world.install(SimpleNamespace(http=http_server))
    src = make_source(ArchiveSource, archive_world.settings(SimpleNamespace(http=http_server)), timeout=20.0,
                      retries=0)
    cap = Capture("20221101090000", "http://www.example.com/guide/bind/", "text/html", 200, "DIGESTLAB", 1000)
    query = src.capture_query("url:http://www.example.com/guide/bind/", cap, [cap.timestamp], 0, src.capture_url)
    return src, query, archive_world


@pytest.mark.parametrize("fault, options", [
    ("huge", {"size": 50_000_000, "content_type": "text/html"}),
    ("gzip_bomb", {"size": 200_000_000, "content_type": "text/html"}),
], ids=["50MB-capture", "gzip-bomb-capture"])
def test_a_50mb_capture_and_a_gzip_bomb_capture_stop_at_the_cap(http_server, store, fault, options):
    src, query, world = _archive(http_server)
    http_server.set_fault(fault, "/wayback/web/20221101090000id_/http://www.example.com/guide/bind/", **options)
    cap = src.max_bytes
    assert cap == 5_000_000  # bytes per capture, by default
    (fetched, parsed, oid), peak = peak_bytes(lambda: ask(src, query, store))
    assert fetched.outcome is Outcome.TOO_LARGE and parsed is None
    assert f"more than {cap} bytes; cut off" in fetched.error
    assert store.get(oid).raw_size == cap and store.latest_parse(oid) is None
    assert peak < 3 * cap, f"{peak} bytes held for a {cap}-byte cap"


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin/",
                                    "/wayback/web/20230601000001id_/http://192.168.0.1/"])
def test_an_archived_redirect_into_a_private_network_is_never_followed(http_server, target):
    src, query, world = _archive(http_server)
    http_server.set_fault("redirect", "/wayback/web/20221101090000id_/http://www.example.com/guide/bind/",
                          location=target, status=302)
    # allow_private too: an archived redirect is where the page pointed then, never a request now.
    # The socket guard would raise had anything tried to reach the target.
    fetched, parsed, _ = ask(src, query, allow_private=True)
    assert fetched.outcome is Outcome.ANSWERED and fetched.meta["status"] == 302
    assert fetched.meta["redirects"] is None  # not followed
    (hop,) = [f for f in parsed.facts if f.relation == "redirects_to"]
    assert hop.object.startswith(("url:http://169.254.169.254/", "url:http://10.0.0.1/", "url:http://192.168.0.1/"))
    assert hop.first_seen == "2022-11-01T09:00:00Z"
    assert not parsed.leads  # an internal address is no lead for any other source
    assert [r.path for r in http_server.requests if "192.168" in r.path or "latest" in r.path] == []
