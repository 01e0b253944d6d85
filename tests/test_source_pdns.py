"""Passive DNS against the lab's CIRCL- and Mnemonic-shaped servers: history, auth, shared hosting, faults."""

from __future__ import annotations

import base64
import json

import pytest
from lab.world import pdns as world

from osint.config import EnrichSettings, Secret
from osint.transport.pipeline import ask_once
from osint.sources.pdns import PassiveDNSSource, PdnsRecord, parse_time, read_cof, records_to_parsed
from osint.store import EvidenceStore, Outcome
from osint.transport.policy import AddressPolicy
from lab import LabHTTPServer
from source_helpers import INCIDENT_UTC, edges, facts, lab_fixtures, make_source


lab, clean = lab_fixtures(world, direct=True)


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def source(lab, *, enrich=None, **changes):
    options = {**world.settings(lab), **changes}
    return make_source(PassiveDNSSource, options, enrich=enrich)


def query(src, node, provider):
    return next(q for q in src.queries(node, 0) if q.key.startswith(provider + " "))


def test_circl_history_shows_which_server_answered_at_the_incident(lab, store):
    src = source(lab)
    fetched, parsed, oid = ask_once(src, query(src, "domain:example.com", "circl"), store)
    assert fetched.outcome is Outcome.ANSWERED
    spans = {f.object: (f.first_seen, f.last_seen) for f in facts(parsed, "resolves_to")}
    first, last = spans["ip:100.64.1.11"]
    assert (first, last) == ("2022-11-01T00:00:00Z", "2023-04-30T23:59:59Z")
    assert first <= INCIDENT_UTC <= last  # the address in use when the key was stolen
    assert spans["ip:100.64.1.10"][0] == "2023-05-01T00:00:00Z"
    a = next(f for f in facts(parsed, "resolves_to") if f.object == "ip:100.64.1.11")
    assert a.attrs == {"rrtype": "A", "count": 1523, "provider": "circl"}
    # rdata given as a list (as the COF schema allows) gives one fact per name server
    assert edges(parsed, "nameserver") == {("domain:example.com", "nameserver:ns1.example.net"),
                                           ("domain:example.com", "nameserver:ns2.example.net")}
    mx = facts(parsed, "mail_server")[0]
    assert mx.object == "domain:mail.example.net" and mx.attrs["preference"] == 10
    assert {"ip:100.64.1.11", "ip:100.64.1.10", "domain:mail.example.net"} <= set(parsed.leads)
    assert "domain:example.com" not in parsed.leads
    assert store.latest_parse(oid)["facts"]


def test_circl_gets_basic_auth_on_the_wire_but_never_in_the_store(lab, store, tmp_path):
    src = source(lab, circl_password=Secret(world.CIRCL_PASSWORD))
    q = query(src, "domain:example.com", "circl")
    assert world.CIRCL_PASSWORD not in json.dumps(q.request)
    ask_once(src, q, store)
    sent = lab.http.requests[-1].authorization
    assert sent == "Basic " + base64.b64encode(f"{world.CIRCL_USER}:{world.CIRCL_PASSWORD}".encode()).decode()
    store.close()
    for path in tmp_path.iterdir():
        assert world.CIRCL_PASSWORD.encode() not in path.read_bytes()


def test_credentials_do_not_follow_a_redirect_to_another_host(lab):
    with LabHTTPServer() as elsewhere:
        elsewhere.get("/", (200, b""), prefix=True)
        lab.http.set_fault("redirect", "/circl/example.com", location=elsewhere.url + "/collect")
        lab.http.set_fault("redirect", "/mnemonic/example.com", location=elsewhere.url + "/collect")
        src = source(lab, mnemonic_api_key=Secret("lab-mnemonic-key-0002"))
        for q in src.queries("domain:example.com", 0):
            ask_once(src, q, policy=AddressPolicy(allow_private=True))  # the lab is on loopback
        assert elsewhere.count() == 2
        for request in elsewhere.requests:
            assert request.authorization is None and request.header("Argus-API-Key") is None


def test_circl_wrong_password_is_refused(lab):
    src = source(lab, circl_password="not-the-password")
    fetched, parsed, _ = ask_once(src, query(src, "domain:example.com", "circl"))
    assert fetched.outcome is Outcome.REFUSED and parsed is None
    assert "not-the-password" not in (fetched.error or "")


def test_circl_is_not_asked_without_credentials(lab):
    src = source(lab, circl_user=None, circl_password=None)
    assert [q.key for q in src.queries("domain:example.com", 0)] == ["mnemonic example.com"]
    assert src.ready() is None
    only_circl = source(lab, circl_user=None, circl_password=None, providers=["circl"])
    assert only_circl.queries("domain:example.com", 0) == []
    assert "CIRCL_PDNS_USER" in only_circl.ready()


def test_mnemonic_answers_are_mapped_to_cof(lab):
    src = source(lab)
    fetched, parsed, _ = ask_once(src, query(src, "domain:example.com", "mnemonic"))
    assert fetched.outcome is Outcome.ANSWERED
    f = next(f for f in facts(parsed, "resolves_to") if f.object == "ip:100.64.1.11")
    assert (f.first_seen, f.last_seen) == ("2022-11-02T03:04:05Z", "2023-04-29T22:00:00Z")  # from milliseconds
    assert f.attrs == {"rrtype": "A", "count": 310, "provider": "mnemonic"}
    assert "Argus-API-Key" not in lab.http.requests[-1].headers  # keyless use is the default


def test_mnemonic_key_goes_in_its_header_only(lab, store):
    src = source(lab, mnemonic_api_key=Secret("lab-mnemonic-key-0001"))
    q = query(src, "domain:example.net", "mnemonic")
    fetched, parsed, oid = ask_once(src, q, store)
    assert lab.http.requests[-1].header("Argus-API-Key") == "lab-mnemonic-key-0001"
    assert "lab-mnemonic-key" not in json.dumps(store.get(oid).request)
    # a CNAME comes out as a domain -> domain resolution
    assert ("domain:example.net", "domain:example.com") in edges(parsed, "resolves_to")


def test_ip_query_lists_the_names_that_pointed_at_it(lab):
    src = source(lab)
    fetched, parsed, _ = ask_once(src, query(src, "ip:100.64.1.11", "circl"))
    assert edges(parsed, "resolves_to") == {("domain:example.com", "ip:100.64.1.11"),
                                            ("domain:api.example.com", "ip:100.64.1.11")}
    assert set(parsed.leads) == {"domain:example.com", "domain:api.example.com"}


def test_shared_hosting_keeps_the_facts_but_gives_no_leads(lab):
    src = source(lab)
    fetched, parsed, _ = ask_once(src, query(src, f"ip:{world.SHARED_IP}", "circl"))
    assert fetched.outcome is Outcome.ANSWERED
    assert parsed.nodes[f"ip:{world.SHARED_IP}"] == {"shared_infrastructure": True,
                                                     "pdns_names_total": world.SHARED_NAMES}
    assert len(facts(parsed, "resolves_to")) == world.SHARED_NAMES
    assert parsed.leads == []
    # the same answer under a higher threshold is ordinary hosting, and its names are leads
    relaxed = source(lab, enrich=EnrichSettings(shared_infra_threshold=1000))
    _, parsed, _ = ask_once(relaxed, query(relaxed, f"ip:{world.SHARED_IP}", "circl"))
    assert len(parsed.leads) == world.SHARED_NAMES and not parsed.nodes


def test_shared_hosting_facts_are_capped_newest_first():
    records = [PdnsRecord(f"n{i}.example.org", "A", "192.0.2.99", 0, 1000 + i) for i in range(30)]
    parsed = records_to_parsed(records, provider="test", subject="ip:192.0.2.99", threshold=10, cap=5)
    kept = facts(parsed, "resolves_to")
    assert len(kept) == 5 and {f.subject for f in kept} == {f"domain:n{i}.example.org" for i in range(25, 30)}
    assert parsed.nodes["ip:192.0.2.99"]["pdns_names_total"] == 30


def test_unknown_names_are_no_record_for_both_providers(lab):
    src = source(lab)
    for q in src.queries("domain:unknown.example.org", 0):
        fetched, parsed, _ = ask_once(src, q)
        assert fetched.outcome is Outcome.NO_RECORD, q.key
        assert parsed.facts == []


@pytest.mark.parametrize("mode,options,outcome", [
    ("silence", {}, Outcome.TIMEOUT),
    ("reset", {}, Outcome.RESET),
    ("malformed_json", {}, Outcome.BAD_ANSWER),
    ("status_429", {"retry_after": 7}, Outcome.RATE_LIMITED),
    ("status_5xx", {"status": 502}, Outcome.SERVER_ERROR),
    ("huge", {"size": 3_000_000}, Outcome.TOO_LARGE),
])
def test_faults(lab, store, mode, options, outcome):
    src = make_source(PassiveDNSSource, world.settings(lab), timeout=1.0, max_bytes=1_000_000)
    for provider in ("circl", "mnemonic"):
        q = query(src, "domain:example.com", provider)
        lab.http.set_fault(mode, q.request["url"].split(str(lab.http.port), 1)[1], **options)
        fetched, parsed, oid = ask_once(src, q, store)
        assert fetched.outcome is outcome, (provider, fetched.error)
        assert parsed is None and store.get(oid).outcome is outcome
        if outcome is Outcome.RATE_LIMITED:
            assert fetched.retry_after == 7.0


def test_cof_reader_names_the_bad_line():
    good = b'{"rrname":"a.example.com","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":2}\n'
    with pytest.raises(ValueError, match="line 2"):
        read_cof(good + b'{"rrname": "b.example.com"\n')
    assert read_cof(b"\n" + good)[0].rdata == "192.0.2.1"


def test_times_may_be_epoch_or_iso():
    assert parse_time(1667260800) == parse_time("1667260800") == parse_time("2022-11-01T00:00:00Z") \
        == parse_time("2022-11-01 00:00:00")
    with pytest.raises(ValueError):
        parse_time("yesterday")
