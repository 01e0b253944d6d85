"""The dns source against the loopback DNS server: records become facts, faults become outcomes."""

from __future__ import annotations

import hashlib
import socket
import time

import pytest

from lab import Fault
from lab.world.dns import ZONE, load_records
from osint.config import EnrichSettings, SourceSettings
from osint.transport.pipeline import ask_once
from osint.sources import dns as dns_source
from osint.sources.base import ParseError, SourceContext
from osint.sources.dns import DNSSource, cymru_asn_name, cymru_origin_name
from osint.store import EvidenceStore, Outcome
from osint.transport.policy import AddressPolicy


@pytest.fixture
def lab_dns(dns_server):
    load_records(dns_server, ZONE)
    return dns_server


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def make(server=None, timeout=0.5, **options) -> DNSSource:
    if server is not None:
        options.setdefault("nameservers", [f"{server.host}:{server.port}"])
    return DNSSource(SourceSettings(timeout=timeout, retries=0, options=options),
                     SourceContext(case=None, enrich=EnrichSettings()))


def ask(src: DNSSource, node: str, key: str, store=None):
    query = next(q for q in src.queries(node, 0) if q.key == key)
    return ask_once(src, query, store, AddressPolicy())


def facts(parsed) -> set[tuple[str, str, str]]:
    return {(f.subject, f.relation, f.object) for f in parsed.facts}


def test_questions_for_a_domain_its_www_and_dmarc_but_never_www_www(lab_dns):
    src = make(lab_dns)
    keys = {q.key for q in src.queries("domain:example.com", 1)}
    assert {f"{t} example.com" for t in ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "CAA")} <= keys
    assert {"TXT _dmarc.example.com", "A www.example.com", "AAAA www.example.com", "CNAME www.example.com"} <= keys
    www = {q.key for q in src.queries("domain:www.example.com", 1)}
    assert not any("www.www" in k for k in www)
    assert {q.key for q in src.queries("nameserver:ns1.dns-example.test", 1)} == {
        "A ns1.dns-example.test", "AAAA ns1.dns-example.test"}
    [ptr] = src.queries("ip:100.64.1.10", 2)
    assert (ptr.key, ptr.request["qname"], ptr.depth) == ("PTR 100.64.1.10", "10.1.64.100.in-addr.arpa", 2)
    assert all(q.endpoint == f"127.0.0.1:{lab_dns.port}" for q in src.queries("domain:example.com", 0))


def test_addresses_are_facts_public_ones_leads_and_the_raw_answer_is_stored_first(lab_dns, store):
    sent: list[bytes] = []
    serve = lab_dns.handle_wire

    def capture(wire, transport, client):
        answer = serve(wire, transport, client)
        sent.append(answer)
        return answer

    lab_dns.handle_wire = capture
    src = make(lab_dns)
    fetched, parsed, oid = ask(src, "domain:example.com", "A example.com", store)
    assert fetched.outcome is Outcome.ANSWERED
    assert facts(parsed) == {("domain:example.com", "resolves_to", "ip:100.64.1.10"),
                             ("domain:example.com", "resolves_to", "ip:203.0.113.30")}
    # The documentation address is on record, but not worth chasing.
    assert parsed.leads == ["ip:100.64.1.10"]
    assert parsed.nodes["ip:203.0.113.30"] == {"private_address": True, "reserved_range": "TEST-NET-3 (RFC 5737)"}
    obs = store.get(oid)
    assert obs.sha256 == hashlib.sha256(sent[-1]).hexdigest() and obs.raw == sent[-1]
    assert store.latest_parse(oid)["leads"] == ["ip:100.64.1.10"]
    assert lab_dns.count("example.com", "A") == 1


def test_www_cname_chain_and_out_of_chain_records_ignored(lab_dns):
    lab_dns.add_records("www.example.com", "CNAME", ["example.com."])
    src = make(lab_dns)
    _, parsed, _ = ask(src, "domain:example.com", "A www.example.com")
    assert ("domain:www.example.com", "resolves_to", "domain:example.com") in facts(parsed)
    assert ("domain:example.com", "resolves_to", "ip:100.64.1.10") in facts(parsed)
    assert {f.attrs["rrtype"] for f in parsed.facts} == {"CNAME", "A"}


def test_mail_name_servers_soa_and_caa(lab_dns):
    src = make(lab_dns)
    _, mx, _ = ask(src, "domain:example.com", "MX example.com")
    assert [(f.relation, f.object, f.attrs) for f in mx.facts] == [
        ("mail_server", "domain:mail.example.net", {"preference": 10})]
    _, ns, _ = ask(src, "domain:example.com", "NS example.com")
    assert facts(ns) == {("domain:example.com", "nameserver", "nameserver:ns1.dns-example.test")}
    assert ns.leads == ["nameserver:ns1.dns-example.test"]
    _, soa, _ = ask(src, "domain:example.com", "SOA example.com")
    assert soa.nodes["domain:example.com"] == {"soa_mname": "ns1.dns-example.test",
                                               "soa_rname": "hostmaster@example.net", "soa_serial": 2023032101}
    _, caa, _ = ask(src, "domain:example.com", "CAA example.com")
    assert facts(caa) == {("domain:example.com", "caa_issuer", "org:letsencrypt.org")}


def test_spf_and_dmarc(lab_dns):
    src = make(lab_dns)
    _, spf, _ = ask(src, "domain:example.com", "TXT example.com")
    assert facts(spf) == {("domain:example.com", "spf_includes", "domain:_spf.example.net"),
                          ("domain:example.com", "spf_allows", "netblock:198.51.100.0/24")}
    assert spf.nodes["netblock:198.51.100.0/24"]["private_address"] is True
    assert "labbot-site-verification=3f9c2a7e1b5d" in spf.nodes["domain:example.com"]["txt"]
    assert spf.leads == ["domain:_spf.example.net"]
    _, dmarc, _ = ask(src, "domain:example.com", "TXT _dmarc.example.com")
    assert facts(dmarc) == {("domain:example.com", "dmarc_reports_to", "email:dmarc@example.net")}
    assert dmarc.nodes["domain:example.com"] == {"dmarc_policy": "none"}
    assert set(dmarc.leads) == {"email:dmarc@example.net"}


def test_spf_mechanisms_read_roughly(dns_server):
    dns_server.add_records("spf.example.com", "TXT", [
        '"v=spf1 +a:web.example.com mx:mx.example.com/24 ip4:100.64.3.7 ip6:2001:db8::/48 '
        'include:%{i}._spf.example.com -ip4:100.64.9.9 ?include:maybe.example.net redirect=_spf.example.org"'])
    _, parsed, _ = ask(make(dns_server), "domain:spf.example.com", "TXT spf.example.com")
    subject = "domain:spf.example.com"
    assert facts(parsed) == {
        (subject, "spf_allows", "domain:web.example.com"), (subject, "spf_allows", "domain:mx.example.com"),
        (subject, "spf_allows", "ip:100.64.3.7"), (subject, "spf_allows", "netblock:2001:db8::/48"),
        (subject, "spf_includes", "domain:maybe.example.net"), (subject, "spf_includes", "domain:_spf.example.org")}
    assert "ip:100.64.3.7" in parsed.leads and "ip:100.64.9.9" not in str(parsed.to_json())


def test_ptr(lab_dns):
    _, parsed, _ = ask(make(lab_dns), "ip:100.64.1.10", "PTR 100.64.1.10")
    assert facts(parsed) == {("ip:100.64.1.10", "ptr", "domain:host-10.hosting.test")}
    assert parsed.leads == ["domain:host-10.hosting.test"]


def test_nxdomain_is_no_record_and_marks_the_name(lab_dns, store):
    fetched, parsed, oid = ask(make(lab_dns), "domain:gone.example.com", "A gone.example.com", store)
    assert fetched.outcome is Outcome.NO_RECORD
    assert parsed.facts == [] and parsed.nodes == {"domain:gone.example.com": {"dns_nxdomain": True}}
    assert store.get(oid).raw == fetched.raw  # the negative answer is evidence too
    # A missing www or _dmarc is routine: nothing is marked.
    _, www, _ = ask(make(lab_dns), "domain:example.net", "A www.example.net")
    assert www.nodes == {}


def test_nodata_is_no_record_without_marks(lab_dns):
    fetched, parsed, _ = ask(make(lab_dns), "domain:example.net", "AAAA example.net")
    assert fetched.outcome is Outcome.NO_RECORD
    assert parsed.to_json() == {"facts": [], "nodes": {}, "leads": [], "followups": []}


@pytest.mark.parametrize("cap", [None, 50])
def test_a_huge_answer_is_capped(lab_dns, cap):
    lab_dns.set_fault(Fault.HUGE, "example.com", count=2000)
    src = make(lab_dns, timeout=2.0, **({"max_records": cap} if cap else {}))
    fetched, parsed, _ = ask(src, "domain:example.com", "AAAA example.com")
    assert fetched.outcome is Outcome.ANSWERED and fetched.meta["transport"] == "tcp"
    assert len(parsed.facts) == (cap or 200)
    assert parsed.nodes["domain:example.com"]["truncated_records"] == 2000


def test_servfail_and_refused_are_not_parsed(lab_dns):
    lab_dns.set_fault(Fault.SERVFAIL, "example.com")
    fetched, parsed, _ = ask(make(lab_dns), "domain:example.com", "A example.com")
    assert (fetched.outcome, parsed) == (Outcome.SERVER_ERROR, None)
    lab_dns.set_fault(Fault.REFUSED, "example.com")
    fetched, parsed, _ = ask(make(lab_dns), "domain:example.com", "MX example.com")
    assert (fetched.outcome, parsed) == (Outcome.REFUSED, None)
    assert lab_dns.count("example.com") == 2


def test_silence_times_out(lab_dns, store):
    lab_dns.set_fault(Fault.SILENCE, "example.com")
    start = time.monotonic()
    fetched, parsed, oid = ask(make(lab_dns, timeout=0.3), "domain:example.com", "A example.com", store)
    assert fetched.outcome is Outcome.TIMEOUT and parsed is None
    assert time.monotonic() - start < 2
    assert store.get(oid).outcome is Outcome.TIMEOUT  # failures are on record as well


def test_garbage_is_never_taken_for_an_answer(lab_dns):
    lab_dns.set_fault(Fault.GARBAGE, "example.com", size=64)
    fetched, parsed, _ = ask(make(lab_dns, timeout=0.3), "domain:example.com", "A example.com")
    # Random bytes almost never carry our query id, so the transport waits for the real answer.
    assert fetched.outcome in (Outcome.TIMEOUT, Outcome.BAD_ANSWER) and parsed is None


def test_a_closed_port_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = make(nameservers=[f"127.0.0.1:{port}"])
    fetched, _, _ = ask(src, "domain:example.com", "A example.com")
    assert fetched.outcome in (Outcome.REFUSED, Outcome.TIMEOUT)


def test_without_any_resolver_the_questions_are_unreachable(monkeypatch, dns_server):
    monkeypatch.setattr(dns_source, "system_nameservers", lambda: ())
    src = make()
    queries = src.queries("domain:example.com", 0)
    assert queries and {q.endpoint for q in queries} == {"system-resolver:none"}
    fetched, parsed, _ = ask_once(src, queries[0])
    assert fetched.outcome is Outcome.UNREACHABLE and "nameservers" in fetched.error
    assert dns_server.count() == 0


def test_unreadable_wire_is_a_parse_error():
    src = make(nameservers=["127.0.0.1:53"])
    [query] = src.queries("ip:100.64.1.10", 0)
    with pytest.raises(ParseError):
        src.parse(query, b"\x12\x34garbage", {})


def test_team_cymru_names():
    assert cymru_origin_name("100.64.1.10") == "10.1.64.100.origin.asn.cymru.com"
    assert cymru_origin_name("2001:db8::1").endswith(".8.b.d.0.1.0.0.2.origin6.asn.cymru.com")
    assert cymru_asn_name(64500) == cymru_asn_name("AS64500") == "AS64500.asn.cymru.com"


def test_names_dns_cannot_carry_are_neither_asked_nor_chased(dns_server):
    src = make(dns_server)
    assert src.queries("domain:a..example.com", 0) == []
    dns_server.add_records("spf.example.com", "TXT", ['"v=spf1 include:bad..example.net include:ok.example.net"'])
    _, parsed, _ = ask(src, "domain:spf.example.com", "TXT spf.example.com")
    assert set(parsed.leads) == {"domain:ok.example.net"}
    query = src.queries("domain:example.com", 0)[0]
    bad = type(query)(**{**query.__dict__, "request": {"qname": "a" * 64 + ".example.com", "rdtype": "A"}})
    fetched, parsed, _ = ask_once(src, bad)
    assert fetched.outcome is Outcome.ERROR and parsed is None and dns_server.count(rdtype="A") == 0


def test_a_ptr_behind_a_classless_delegation_cname(dns_server):
    dns_server.add_records("10.1.64.100.in-addr.arpa", "CNAME", ["10.0-25.1.64.100.in-addr.arpa."])
    dns_server.add_records("10.0-25.1.64.100.in-addr.arpa", "PTR", ["host-10.hosting.test."])
    _, parsed, _ = ask(make(dns_server), "ip:100.64.1.10", "PTR 100.64.1.10")
    assert facts(parsed) == {("ip:100.64.1.10", "ptr", "domain:host-10.hosting.test")}
