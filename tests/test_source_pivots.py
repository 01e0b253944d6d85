"""Keyless pivots against their lab worlds: Shodan InternetDB (ports and co-hosted names of an IP) and AlienVault
OTX passive DNS (names of an IP, addresses of a domain, with dates)."""

from __future__ import annotations

import pytest
from lab.world import internetdb as idb_world
from lab.world import otx as otx_world

from osint.transport.pipeline import ask_once
from osint.sources.internetdb import InternetDBSource
from osint.sources.otx import OTXSource
from osint.store import EvidenceStore, Outcome
from source_helpers import INCIDENT_UTC, clear_env_proxies, edges, facts, lab_with, make_source


@pytest.fixture(scope="module")
def lab():
    with lab_with(idb_world, otx_world) as lab:
        yield lab


@pytest.fixture(autouse=True)
def direct(lab, monkeypatch):
    clear_env_proxies(monkeypatch)
    lab.http.clear_faults(all=True)
    yield
    lab.http.clear_faults(all=True)


def ask(src, node, store=None):
    return ask_once(src, src.queries(node, 0)[0], store)


def test_internetdb_gives_ports_and_the_names_seen_on_an_ip(lab, tmp_path):
    src = make_source(InternetDBSource, idb_world.settings(lab))
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, oid = ask(src, "ip:100.64.1.10", store)
        assert store.get(oid).raw == (idb_world.DATA / "100.64.1.10.json").read_bytes()
    assert fetched.outcome is Outcome.ANSWERED
    assert edges(parsed, "has_service") == {("ip:100.64.1.10", "service:100.64.1.10:22/tcp"),
                                            ("ip:100.64.1.10", "service:100.64.1.10:443/tcp")}
    names = {f.object: f.attrs for f in facts(parsed, "ptr")}
    assert set(names) == {"domain:api.example.com", "domain:example.com", "domain:panel.example.org"}
    assert names["domain:panel.example.org"]["pivot"] == "internetdb 100.64.1.10"
    assert "domain:panel.example.org" in parsed.leads  # a co-hosted name the case does not list
    node = parsed.nodes["ip:100.64.1.10"]
    assert node["vulns"] == ["CVE-2021-23017"] and node["cpes"][0].startswith("cpe:/a:igor_sysoev:nginx")


def test_internetdb_knows_nothing_of_an_ip(lab):
    fetched, parsed, _ = ask(make_source(InternetDBSource, idb_world.settings(lab)), "ip:192.0.2.10")
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []


def test_otx_names_an_ip_served_with_their_dates(lab):
    src = make_source(OTXSource, otx_world.settings(lab))
    (q,) = src.queries("ip:100.64.1.11", 0)
    assert q.request["url"].endswith("/api/v1/indicators/IPv4/100.64.1.11/passive_dns")
    fetched, parsed, _ = ask_once(src, q)
    assert fetched.outcome is Outcome.ANSWERED
    spans = {f.subject: (f.first_seen, f.last_seen) for f in facts(parsed, "resolves_to")}
    assert spans["domain:example.com"] == ("2022-11-03T08:15:00Z", "2023-04-29T21:40:12Z")
    assert spans["domain:example.com"][0] <= INCIDENT_UTC <= spans["domain:example.com"][1]
    assert "domain:mirror.example.org" in parsed.leads


def test_otx_history_of_a_domain(lab):
    src = make_source(OTXSource, otx_world.settings(lab))
    (q,) = src.queries("domain:www.example.com", 0)  # asked for the registrable domain
    assert q.subject == "domain:example.com" and "/indicators/domain/example.com/" in q.request["url"]
    fetched, parsed, _ = ask_once(src, q)
    got = {(f.subject, f.object, f.attrs.get("rrtype")) for f in facts(parsed, "resolves_to")}
    assert got == {("domain:example.com", "ip:100.64.1.11", None),
                   ("domain:www.example.com", "domain:example.com", "CNAME")}  # the NS record is not a resolution
    fetched, parsed, _ = ask(src, "domain:example.net")
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []


@pytest.mark.parametrize("cls,world,node,path", [
    (InternetDBSource, idb_world, "ip:100.64.1.10", "/internetdb/100.64.1.10"),
    (OTXSource, otx_world, "ip:100.64.1.11", "/otx/api/v1/indicators/IPv4/100.64.1.11/passive_dns"),
])
def test_a_hostile_answer_is_a_bad_answer(lab, cls, world, node, path):
    lab.http.set_fault("malformed_json", path)
    fetched, parsed, _ = ask(make_source(cls, world.settings(lab)), node)
    assert fetched.outcome is Outcome.BAD_ANSWER and parsed is None and fetched.error


# -- Shodan search by what an operator reuses (key needed) ---------------------------------------

from lab.world import shodan as shodan_world  # noqa: E402

from osint.config import Secret  # noqa: E402
from osint.sources.shodan import ShodanSource  # noqa: E402

LAB_FAVICON = "favicon:-1234567890"  # the icon Shodan hashed on 100.64.1.10:443
LAB_CERT = "certificate:b935b19212322cd438a189a33e6b653c6ee5c1d6f50d63286cfc9ec9c2e1b454"


@pytest.fixture(scope="module")
def shodan_lab():
    with lab_with(shodan_world) as lab:
        yield lab


def shodan(lab, key=shodan_world.API_KEY, **options):
    return make_source(ShodanSource, {**shodan_world.settings(lab), "api_key": Secret(key) if key else None,
                                      **options})


def test_a_host_answer_offers_its_favicon_and_certificate_as_pivots(shodan_lab):
    _, parsed, _ = ask(shodan(shodan_lab), "ip:100.64.1.10")
    assert ("ip:100.64.1.10", LAB_FAVICON) in edges(parsed, "has_favicon")
    assert {LAB_FAVICON, LAB_CERT} <= set(parsed.leads)


@pytest.mark.parametrize("pivot,query,found", [
    (LAB_FAVICON, "http.favicon.hash:-1234567890", {"ip:100.64.1.10", "ip:100.64.1.11", "ip:100.64.3.31"}),
    (LAB_CERT, f"ssl.cert.fingerprint:{LAB_CERT.partition(':')[2]}", {"ip:100.64.1.10", "ip:100.64.3.31"}),
    ("page_title:LabBot - quantitative trading robot", 'http.title:"LabBot - quantitative trading robot"',
     {"ip:100.64.1.10", "ip:100.64.3.31"}),
])
def test_shodan_search_finds_the_other_servers_that_reuse_it(shodan_lab, tmp_path, pivot, query, found):
    src = shodan(shodan_lab)
    (q,) = src.queries(pivot, 1)
    assert q.request["params"] == {"query": query} and "key" not in repr(q.request)  # the key goes on the wire only
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, oid = ask_once(src, q, store)
        assert shodan_world.API_KEY.encode() not in store.get(oid).raw
    assert fetched.outcome is Outcome.ANSWERED
    assert set(parsed.leads) == found  # the known servers, and a new one: 100.64.3.31
    assert parsed.nodes["ip:100.64.3.31"]["found_by"] == query
    assert ("ip:100.64.3.31", "service:100.64.3.31:443/tcp") in edges(parsed, "has_service")
    assert ("service:100.64.3.31:443/tcp", LAB_CERT) in edges(parsed, "serves_certificate")


def test_search_pivots_that_say_nothing_are_not_asked(shodan_lab):
    src = shodan(shodan_lab)
    assert src.queries("favicon:116323821", 1) == []  # Spring Boot's default icon
    assert src.queries("certificate:crtsh-12345", 1) == []  # no SHA-256 to search by
    assert src.queries("page_title:Home", 1) == []
    assert shodan(shodan_lab, search=False).queries(LAB_FAVICON, 1) == []


def test_without_a_key_shodan_search_is_skipped_with_a_notice(shodan_lab):
    assert "SHODAN_API_KEY" in shodan(shodan_lab, key=None).ready()


def test_a_search_nobody_matches_is_no_record(shodan_lab):
    fetched, parsed, _ = ask(shodan(shodan_lab), "favicon:42")
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []
