"""The asn source against the loopback DNS server playing Team Cymru: origin, AS name, faults."""

from __future__ import annotations

import hashlib

import pytest

from lab import Fault
from lab.world.asn import ZONE
from lab.world.dns import load_records
from osint.config import EnrichSettings, SourceSettings
from osint.transport.pipeline import ask_once
from osint.sources.asn import ASNSource
from osint.sources.base import ParseError, SourceContext
from osint.store import EvidenceStore, Outcome
from osint.transport.policy import AddressPolicy

ORIGIN = "10.1.64.100.origin.asn.cymru.com"


@pytest.fixture
def cymru(dns_server):
    load_records(dns_server, ZONE)
    return dns_server


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def make(server, timeout=0.5) -> ASNSource:
    return ASNSource(SourceSettings(timeout=timeout, retries=0, options={"nameservers": [f"{server.host}:{server.port}"]}),
                     SourceContext(case=None, enrich=EnrichSettings()))


def ask(src, node="ip:100.64.1.10", store=None, query=None):
    query = query or src.queries(node, 0)[0]
    return ask_once(src, query, store, AddressPolicy())


def facts(parsed) -> set[tuple[str, str, str]]:
    return {(f.subject, f.relation, f.object) for f in parsed.facts}


def test_origin_then_as_name(cymru, store):
    sent: list[bytes] = []
    serve = cymru.handle_wire
    cymru.handle_wire = lambda wire, transport, client: sent.append(serve(wire, transport, client)) or sent[-1]
    src = make(cymru)
    [query] = src.queries("ip:100.64.1.10", 1)
    assert (query.key, query.request["qname"], query.request["rdtype"]) == ("origin 100.64.1.10", ORIGIN, "TXT")
    fetched, origin, oid = ask(src, query=query, store=store)
    assert fetched.outcome is Outcome.ANSWERED
    assert store.get(oid).sha256 == hashlib.sha256(sent[-1]).hexdigest()
    block, asn = "netblock:100.64.0.0/16", "asn:AS64500"
    assert facts(origin) == {("ip:100.64.1.10", "in_netblock", block), ("ip:100.64.1.10", "announced_by", asn),
                             (block, "announced_by", asn), (block, "located_in", "region:HK")}
    assert origin.nodes[block] == {"registry": "apnic", "allocated": "2019-05-14"}
    [follow] = origin.followups
    assert (follow.key, follow.subject, follow.request["qname"], follow.depth) == (
        "asname AS64500", asn, "AS64500.asn.cymru.com", 1)
    fetched, name, _ = ask(src, query=follow, store=store)
    assert facts(name) == {(asn, "operated_by", "org:Example Hosting Ltd"),
                           ("org:Example Hosting Ltd", "located_in", "region:HK")}
    assert name.nodes[asn]["as_name"] == "EXAMPLE-AS"
    assert cymru.count(ORIGIN) == 1 and cymru.count("AS64500.asn.cymru.com") == 1


def test_a_prefix_with_several_origins(dns_server):
    dns_server.add_records(ORIGIN, "TXT", ['"64500 64502 | 100.64.0.0/16 | HK | apnic | 2019-05-14"'])
    _, parsed, _ = ask(make(dns_server))
    assert {f.object for f in parsed.facts if f.relation == "announced_by"} == {"asn:AS64500", "asn:AS64502"}
    assert {q.key for q in parsed.followups} == {"asname AS64500", "asname AS64502"}


def test_as_names_without_an_organisation(dns_server):
    dns_server.add_records(ORIGIN, "TXT", ['"64510 | 100.64.0.0/16 | US | arin | 2001-01-01"'])
    dns_server.add_records("AS64510.asn.cymru.com", "TXT", ['"64510 | US | arin | 2001-01-01 | EXAMPLENET, US"'])
    src = make(dns_server)
    _, origin, _ = ask(src)
    _, parsed, _ = ask(src, query=origin.followups[0])
    assert facts(parsed) == {("asn:AS64510", "operated_by", "org:EXAMPLENET"),
                             ("org:EXAMPLENET", "located_in", "region:US")}


def test_reserved_addresses_are_recorded_without_asking(cymru):
    src = make(cymru)
    [query] = src.queries("ip:203.0.113.30", 0)
    fetched, parsed, _ = ask(src, query=query)
    assert (query.transport, fetched.outcome) == ("local", Outcome.ANSWERED)
    assert parsed.nodes == {"ip:203.0.113.30": {"private_address": True, "reserved_range": "TEST-NET-3 (RFC 5737)"}}
    assert cymru.count() == 0


def test_no_route_is_no_record(cymru):
    fetched, parsed, _ = ask(make(cymru), "ip:100.64.9.9")
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == [] and parsed.followups == []


def test_faults(cymru):
    cymru.set_fault(Fault.SERVFAIL, ORIGIN)
    assert ask(make(cymru))[0].outcome is Outcome.SERVER_ERROR
    cymru.set_fault(Fault.SILENCE, ORIGIN)
    fetched, parsed, _ = ask(make(cymru, timeout=0.3))
    assert fetched.outcome is Outcome.TIMEOUT and parsed is None


def test_an_unreadable_record_is_a_parse_error(dns_server):
    dns_server.add_records(ORIGIN, "TXT", ['"this is not | a cymru answer"'])
    with pytest.raises(ParseError):
        ask(make(dns_server))


def test_a_prefix_no_route_announces_is_read_not_failed():
    """Team Cymru answers "NA | NA | CO | lacnic | 2015-01-01" for an allocated, unannounced address."""
    import dns.message
    import dns.rrset

    src = ASNSource(SourceSettings(options={"nameservers": ["127.0.0.1:1"]}),
                    SourceContext(case=None, enrich=EnrichSettings()))
    [query] = src.address_queries("ip:198.51.100.77", "198.51.100.77", 0)  # a documentation address: asked as if routable
    qname = query.request["qname"].rstrip(".") + "."
    msg = dns.message.make_response(dns.message.make_query(qname, "TXT"))
    msg.answer.append(dns.rrset.from_text(qname, 60, "IN", "TXT",
                                          '"NA | NA | CO | lacnic | 2015-01-01"'))
    parsed = src.parse(query, msg.to_wire(), {})
    assert parsed.nodes["ip:198.51.100.77"]["announced"] is False
    assert ("ip:198.51.100.77", "located_in", "region:CO") in {(f.subject, f.relation, f.object) for f in parsed.facts}
    assert not any(f.relation == "announced_by" for f in parsed.facts)
