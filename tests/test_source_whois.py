"""The whois source against loopback WHOIS servers: records, redaction, referrals and faults."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lab import Fault, LabWhoisServer
from lab.world.whois import DATA, answers
from osint.config import EnrichSettings, SourceSettings
from osint.transport.pipeline import ask_once
from osint.sources.base import SourceContext
from osint.sources.whois import WhoisSource
from osint.store import EvidenceStore, Outcome
from osint.transport.policy import AddressPolicy

THIN = (DATA / "thin" / "example.com.txt").read_text(encoding="utf-8")
IANA_COM = (DATA / "iana" / "com.txt").read_text(encoding="utf-8")
REGISTRAR = "whois.example-registrar.test"


@pytest.fixture
def registry(whois_server):
    for query, text in answers().items():
        whois_server.add_answer(query, text)
    return whois_server


@pytest.fixture
def registrar():
    with LabWhoisServer(answers=answers(), trickle_interval=0.05) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def addr(server) -> str:
    return f"{server.host}:{server.port}"


def make(lab_server=None, *, allow_private=False, timeout=1.0, max_bytes=None, **options) -> WhoisSource:
    if lab_server is not None:
        options.setdefault("server", addr(lab_server))
    return WhoisSource(SourceSettings(timeout=timeout, retries=0, max_bytes=max_bytes, options=options),
                       SourceContext(case=None, enrich=EnrichSettings(allow_private=allow_private)))


def ask(src: WhoisSource, node: str = "domain:example.com", store=None, query=None):
    query = query or src.queries(node, 0)[0]
    policy = AddressPolicy(allow_private=src.context.enrich.allow_private)
    return ask_once(src, query, store, policy)


def facts(parsed) -> set[tuple[str, str, str]]:
    return {(f.subject, f.relation, f.object) for f in parsed.facts}


# --- which server, which question ------------------------------------------------------------------


def test_the_registrable_domain_is_asked_once_whatever_the_host():
    src = make(servers={"com": "127.0.0.1:4343"})
    [a] = src.queries("domain:example.com", 0)
    [b] = src.queries("domain:www.example.com", 1)
    assert (a.key, a.subject, a.request["query"], a.endpoint) == ("example.com", "domain:example.com",
                                                                  "example.com", "127.0.0.1:4343")
    assert b.key == a.key and b.subject == a.subject and b.depth == 1
    assert src.queries("domain:host-10.hosting.test", 0) == []  # special-use: no registry exists
    assert src.queries("ip:100.64.1.10", 0) == []


def test_server_choice_configuration_then_python_whois_then_iana():
    src = make(servers={"co.uk": "127.0.0.1:1", "uk": "127.0.0.1:2"}, server="127.0.0.1:3")
    assert src.queries("domain:shop.example.co.uk", 0)[0].endpoint == "127.0.0.1:1"
    assert src.queries("domain:example.org.uk", 0)[0].endpoint == "127.0.0.1:2"
    assert src.queries("domain:example.de", 0)[0].endpoint == "127.0.0.1:3"
    plain = make()
    [de] = plain.queries("domain:example.de", 0)  # python-whois knows DENIC, and its dialect
    assert (de.endpoint, de.request["query"]) == ("whois.denic.de", "-T dn,ace -C UTF-8 example.de")
    [com] = plain.queries("domain:example.com", 0)  # python-whois would ask IANA itself: we do
    assert (com.endpoint, com.request["query"], com.request["iana"], com.key) == (
        "whois.iana.org", "com", True, "example.com @iana")


# --- answers -----------------------------------------------------------------------------------------


def test_a_thick_record_becomes_facts_and_the_raw_text_is_stored_first(registry, store):
    src = make(registry)
    fetched, parsed, oid = ask(src, store=store)
    assert fetched.outcome is Outcome.ANSWERED
    served = answers()["example.com"].encode("utf-8")
    assert store.get(oid).sha256 == hashlib.sha256(served).hexdigest()
    assert store.latest_parse(oid) == parsed.to_json()
    org = "org:Shenzhen Shiyanyi Network Technology Co., Ltd."
    assert {("domain:example.com", "registered_with", "registrar:Example Registrar, Inc."),
            ("domain:example.com", "registrant", org),
            ("domain:example.com", "registrant", "person:Zhang San"),
            (org, "located_in", "region:CN"),
            ("domain:example.com", "uses_email", "email:registrant@example.net"),
            ("domain:example.com", "uses_email", "email:hostmaster@example.net"),
            ("domain:example.com", "nameserver", "nameserver:ns1.dns-example.test"),
            ("registrar:Example Registrar, Inc.", "abuse_contact", "email:abuse@example-registrar.test"),
            } == facts(parsed)
    roles = {f.attrs["role"] for f in parsed.facts if f.relation == "uses_email"}
    assert roles == {"registrant", "admin", "tech"}
    node = parsed.nodes["domain:example.com"]
    assert (node["creation_date"], node["expiration_date"]) == ("2020-09-28T06:12:45Z", "2025-09-28T06:12:45Z")
    assert node["statuses"] == ["clientTransferProhibited"]
    assert (node["registrant_country"], node["registrant_state"]) == ("CN", "Guangdong")
    assert "redacted" not in node
    # The registrar's abuse desk serves everyone: on record, not a lead.
    assert set(parsed.leads) == {"email:registrant@example.net", "email:hostmaster@example.net",
                                 "nameserver:ns1.dns-example.test"}


def test_a_redacted_record_names_only_the_privacy_service_and_marks_it(registry):
    _, parsed, _ = ask(make(registry), "domain:example.net")
    proxy = "org:Privacy service provided by Withheld for Privacy ehf"
    assert [(f.relation, f.object) for f in parsed.facts if f.relation in ("registrant", "uses_email")] == [
        ("registrant", proxy)]
    assert parsed.nodes[proxy] == {"privacy_service": True}
    assert not any(f.subject == proxy and f.relation == "located_in" for f in parsed.facts)  # the proxy's country
    node = parsed.nodes["domain:example.net"]
    assert node["redacted"] == ["admin_email", "registrant_email", "registrant_name", "tech_email"]
    assert node["registrant_hidden_by"] == "Privacy service provided by Withheld for Privacy ehf"
    assert set(parsed.leads) == {"nameserver:ns1.dns-example.test"}


def test_no_match_is_no_record(registry, store):
    fetched, parsed, oid = ask(make(registry), "domain:unregistered.com", store)
    assert fetched.outcome is Outcome.NO_RECORD
    assert parsed.nodes == {"domain:unregistered.com": {"whois_no_match": True}} and parsed.facts == []
    assert store.get(oid).outcome is Outcome.NO_RECORD


@pytest.mark.parametrize("text", ["NOT FOUND\n", "No Data Found\r\n", "Domain not found.\n",
                                  "%% No entries found for the selected source(s).\n"])
def test_other_registries_ways_of_saying_no(whois_server, text):
    whois_server.add_answer("example.org", text)
    fetched, parsed, _ = ask(make(whois_server), "domain:example.org")
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []


def test_nul_bytes_bad_utf8_and_odd_dates_do_not_cost_the_record():
    src = make(server="127.0.0.1:1")
    [query] = src.queries("domain:example.com", 0)
    raw = (answers()["example.com"].replace("Creation Date: 2020-09-28T06:12:45Z", "Creation Date: in the spring")
           .encode("utf-8").replace(b"Registrant City", b"Registrant\x00 City") + b"\n\xff\xfe trailing junk\n")
    parsed = src.parse(query, raw, {})
    assert ("domain:example.com", "registrant", "org:Shenzhen Shiyanyi Network Technology Co., Ltd.") in facts(parsed)
    node = parsed.nodes["domain:example.com"]
    assert "creation_date" not in node and node["expiration_date"] == "2025-09-28T06:12:45Z"


# --- referrals ---------------------------------------------------------------------------------------


def test_a_referral_to_loopback_is_blocked_unless_private_addresses_are_allowed(whois_server, registrar):
    whois_server.add_answer("example.com", THIN)
    options = {"server": addr(whois_server), "referral_hosts": {REGISTRAR: addr(registrar)}}
    src = make(**options)
    fetched, thin, _ = ask(src)
    assert fetched.outcome is Outcome.ANSWERED
    assert not any(f.relation == "registrant" for f in thin.facts)  # a thin registry knows no registrant
    [referral] = thin.followups
    assert (referral.key, referral.endpoint, referral.trusted) == (f"example.com @{REGISTRAR}", addr(registrar), False)
    blocked, parsed, _ = ask(src, query=referral)
    assert blocked.outcome is Outcome.BLOCKED and parsed is None
    assert registrar.count() == 0

    allowed = make(allow_private=True, **options)
    fetched, thick, _ = ask(allowed, query=referral)
    assert fetched.outcome is Outcome.ANSWERED and registrar.count("example.com") == 1
    assert ("domain:example.com", "registrant", "org:Shenzhen Shiyanyi Network Technology Co., Ltd.") in facts(thick)
    assert thick.nodes["domain:example.com"]["whois_server"] == REGISTRAR
    assert thick.followups == []  # the registrar names itself: no loop
    assert whois_server.count() == 1


def test_iana_then_registry_then_registrar_within_max_referrals(whois_server, registrar):
    whois_server.add_answer("com", IANA_COM)
    whois_server.add_answer("example.com", THIN)
    hosts = {"whois.verisign-grs.com": addr(whois_server), REGISTRAR: addr(registrar)}
    src = make(allow_private=True, iana=addr(whois_server), referral_hosts=hosts)
    [first] = src.queries("domain:example.com", 0)
    _, iana, _ = ask(src, query=first)
    assert iana.facts == [] and iana.nodes == {}
    [to_registry] = iana.followups
    assert (to_registry.key, to_registry.request["query"]) == ("example.com @whois.verisign-grs.com", "example.com")
    _, thin, _ = ask(src, query=to_registry)
    [to_registrar] = thin.followups
    fetched, thick, _ = ask(src, query=to_registrar)
    assert fetched.outcome is Outcome.ANSWERED and "domain:example.com" in thick.nodes
    assert whois_server.count("com") == 1 and whois_server.count("example.com") == 1 and registrar.count() == 1

    one = make(allow_private=True, iana=addr(whois_server), referral_hosts=hosts, max_referrals=1)
    _, thin_again, _ = ask(one, query=one.parse(first, IANA_COM.encode(), {}).followups[0])
    assert thin_again.followups == []


# --- faults ------------------------------------------------------------------------------------------


def test_garbage_is_a_bad_answer(registry):
    registry.set_fault(Fault.GARBAGE, "example.com", size=4096)
    fetched, parsed, _ = ask(make(registry))
    assert fetched.outcome is Outcome.BAD_ANSWER and parsed is None and "binary" in fetched.error


def test_silence_and_trickle_time_out(registry):
    registry.set_fault(Fault.SILENCE, "example.com")
    fetched, _, _ = ask(make(registry, timeout=0.3))
    assert fetched.outcome is Outcome.TIMEOUT
    registry.set_fault(Fault.TRICKLE, "example.com", interval=0.05)
    fetched, parsed, _ = ask(make(registry, timeout=0.3))
    assert fetched.outcome is Outcome.TIMEOUT and parsed is None


def test_a_reset_is_not_parsed(registry, store):
    registry.set_fault(Fault.RESET, "example.com", fraction=0.3)
    fetched, parsed, oid = ask(make(registry), store=store)
    assert fetched.outcome is Outcome.RESET and parsed is None
    assert store.latest_parse(oid) is None


def test_a_huge_answer_is_cut_at_the_cap(registry):
    registry.set_fault(Fault.HUGE, "example.com", size=2_000_000)
    fetched, parsed, _ = ask(make(registry, max_bytes=100_000, timeout=3))
    assert fetched.outcome is Outcome.TOO_LARGE and len(fetched.raw) == 100_000 and parsed is None
