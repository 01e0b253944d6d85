"""How WHOIS answers are read before they become records: each registry's "not found" and "slow down"
in its own words, privacy services, company registrants, registrar-only expiry dates.

The texts are our own, written after each registry's documented wording (the phrase is theirs, the
rest of the answer is made up); the domain names are reserved example names."""

from __future__ import annotations

import pytest

from lab import LabWhoisServer
from osint.config import EnrichSettings, SourceSettings
from osint.transport.pipeline import ask_once
from osint.sources.base import SourceContext
from osint.sources.whois import WhoisSource
from osint.sources.whois_answers import is_no_record, is_throttled
from osint.store import Outcome
from osint.transport.policy import AddressPolicy

NAME = "no-such-name.example"

# registry (TLD) -> the answer it gives for a name nobody holds
NOT_FOUND = {
    "com (Verisign)": f'No match for "{NAME.upper()}".\r\n>>> Last update of whois database: 2026-01-01T00:00:00Z <<<\r\n',
    "net (Verisign)": f'No match for domain "{NAME.upper()}".\r\n',
    "name (Verisign)": f'No match for "{NAME}".\n',
    "org (PIR)": "NOT FOUND\n>>> Last update of WHOIS database: 2026-01-01T00:00:00Z <<<\n",
    "io (Identity Digital)": "Domain not found.\n\nTerms of Use: Access to WHOIS information is provided ...\n",
    "ai": f"Domain not found.\n>>> Last update: 2026-01-01 <<<\n",
    "me": "Domain not found.\n",
    "xyz (CentralNic)": f"DOMAIN NOT FOUND\n",
    "app (Google Registry)": "Domain not found.\n",
    "us (GoDaddy Registry)": "No Data Found\nURL of the ICANN Whois Inaccuracy Complaint Form: https://www.icann.org/wicf/\n",
    "co": "No Data Found\n",
    "in (NIXI)": "No Data Found\n",
    "uk (Nominet)": f"\n    No match for \"{NAME}\".\n\n    This domain name has not been registered.\n",
    "jp (JPRS)": "[ JPRS database provides information on network administration. ]\n\nNo match!!\n",
    "cn (CNNIC)": "No matching record.\n",
    "中国 (CNNIC)": "No matching record.\n",
    "de (DENIC)": f"Domain: {NAME}\nStatus: free\n",
    "eu (EURid)": f"% The WHOIS service offered by EURid ...\nDomain: {NAME}\nStatus: AVAILABLE\n",
    "be (DNS Belgium)": f"% .be Whois Server 6.1\n%\nDomain:\t{NAME}\nStatus:\tAVAILABLE\n",
    "it (Registro.it)": f"Domain:             {NAME}\nStatus:             AVAILABLE\n",
    "nl (SIDN)": f"{NAME} is free\n",
    "hk (HKIRC)": "The domain has not been registered.\n",
    "ch (SWITCH)": "We do not have an entry in our database matching your query.\n",
    "li (SWITCH)": "We do not have an entry in our database matching your query.\n",
    "nz": "Domain not found\n",
    "tw (TWNIC)": "No Found\n",
    "kr (KISA)": "The requested domain was not found in the Registry or Registrar's WHOIS Server.\n",
    "tk (Freenom)": f"\n   Invalid query or domain name not known in Dot TK Domain Registry\n",
    "fr (AFNIC)": "%%\n%% This is the AFNIC Whois server.\n%%\n\n%% NOT FOUND\n",
    "au (auDA)": "NOT FOUND\n",
    "ca (CIRA)": f"Not found: {NAME}\n",
    "ru (RIPN)": "No entries found for the selected source(s).\n",
    "dk (Punktum)": "# Hello\n\nNo entries found for the selected source.\n",
    "se (IIS)": f'domain "{NAME}" not found\n',
    "pl (NASK)": f"No information available about domain name {NAME} in the Registry NASK database.\n",
    "at (nic.at)": "% Copyright (c)2026 by NIC.AT\n% nothing found\n",
    "br (Registro.br)": f"% No match for {NAME}\n",
    "cz (CZ.NIC)": "%ERROR:101: no entries found\n%\n% No entries found.\n",
    "top (ZDNS)": f"The queried object does not exist: {NAME}\n",
    "mx (NIC México)": "Object_Not_Found\n",
    "ar (NIC Argentina)": "El dominio no se encuentra registrado en NIC Argentina\n",
    "my (MYNIC)": f"Domain Name {NAME} does not exist in database\n",
    "pt (DNS.PT)": f"{NAME} - No Match\n",
    "sg (SGNIC)": "Domain Not Found\n",
    "ie": "Not found.\n",
}

THROTTLED = {
    "org (PIR)": "WHOIS LIMIT EXCEEDED - SEE WWW.PIR.ORG/WHOIS FOR DETAILS\n",
    "com (Verisign)": "Your connection limit exceeded. Please slow down and try again later.\n",
    "de (DENIC)": "% Error: 55000000002 Connection refused; access control limit reached.\n",
    "uk (Nominet)": "The WHOIS query quota for 192.0.2.1 has been exceeded and will be replenished in 60 seconds.\n",
    "nl (SIDN)": "maximum number of requests per second exceeded\n",
    "eu (EURid)": "-4: Excessive querying, grace period of 900 seconds\n",
    "cn (CNNIC)": "Queried interval is too short.\n",
    "jp (JPRS)": "Too many requests. Please wait a moment and try again.\n",
    "au (auDA)": "BLACKLISTED: You have exceeded the query limit for your network or IP address\n",
    "ch (SWITCH)": "Requests of this client are not permitted. You have exceeded this limit.\n",
    "io (Identity Digital)": "Query rate limit exceeded. Please try again later.\n",
    "ir (RIPE-style)": "%ERROR:201: access denied\n",
}

RECORD = """Domain Name: EXAMPLE.COM
Registrar: Example Registrar, Inc.
Creation Date: 2020-09-28T06:12:45Z
Registrant Organization: Example Org
Name Server: NS1.EXAMPLE.COM
>>> Last update of WHOIS database: 2026-01-01T00:00:00Z <<<
NOTICE: if a query returns "No match for" the name is not registered; queries over the rate
limit exceeded will be refused, too many requests get you blocked.
"""


@pytest.mark.parametrize("registry", sorted(NOT_FOUND))
def test_every_registrys_not_found_is_no_record(registry):
    text = NOT_FOUND[registry]
    assert is_no_record(text) and not is_throttled(text)


@pytest.mark.parametrize("registry", sorted(THROTTLED))
def test_every_registrys_slow_down_is_throttling_not_an_answer(registry):
    assert is_throttled(THROTTLED[registry])


def test_a_record_whose_footer_uses_the_words_is_a_record():
    assert not is_no_record(RECORD) and not is_throttled(RECORD)


def test_at_least_thirty_registries():
    assert len(NOT_FOUND) >= 30 and len(THROTTLED) >= 10


def _source(server: LabWhoisServer, **options) -> WhoisSource:
    options = {"server": f"{server.host}:{server.port}", "throttle_wait": 0.05, **options}
    return WhoisSource(SourceSettings(timeout=2.0, retries=0, options=options),
                       SourceContext(case=None, enrich=EnrichSettings()))


def _ask(src: WhoisSource, domain: str, store=None):
    [query] = src.queries(f"domain:{domain}", 0)
    return ask_once(src, query, store, AddressPolicy())


@pytest.mark.parametrize("registry", ["cn (CNNIC)", "de (DENIC)", "eu (EURid)", "nl (SIDN)", "jp (JPRS)",
                                      "hk (HKIRC)", "ai", "ch (SWITCH)", "tw (TWNIC)", "kr (KISA)"])
def test_a_not_found_answer_over_the_wire_is_stored_as_no_record(whois_server, registry):
    whois_server.add_answer("example.org", NOT_FOUND[registry])
    fetched, parsed, _ = _ask(_source(whois_server), "example.org")
    assert fetched.outcome is Outcome.NO_RECORD
    assert parsed.facts == [] and parsed.nodes == {"domain:example.org": {"whois_no_match": True}}


def test_a_throttled_answer_is_retried_later_and_never_cached(whois_server, tmp_path, monkeypatch):
    """The engine asks again after the server's "slow down"; the store keeps the refusal as
    rate_limited, and only the real answer is reused by the next run."""
    from lab.world import CASE
    from osint.case import load_case
    from osint.config import Settings
    from osint.engine.run import Enricher
    from osint.store import EvidenceStore

    whois_server.add_answer("example.com", RECORD)
    whois_server.set_fault("throttle", "example.com", times=1)
    whois = SourceSettings(retries=2, options={"server": f"{whois_server.host}:{whois_server.port}",
                                               "throttle_wait": 0.05})
    settings = Settings(store=str(tmp_path / "e.sqlite"), enrich=EnrichSettings(allow_private=True),
                        sources={"whois": whois})
    case = load_case(CASE)
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        report = Enricher(settings, case, store, sources=["whois"], depth=0).run()
        outcomes = [o.outcome for o in sorted(store.list(source="whois"), key=lambda o: o.id)
                    if o.query_key == "example.com"]
        assert outcomes == [Outcome.RATE_LIMITED, Outcome.ANSWERED]
        assert report.stats["whois"].answered >= 1 and not report.stats["whois"].failed
        assert "example.com" in store.latest_answers("whois")
        again = Enricher(settings, case, store, sources=["whois"], depth=0).run()
        assert again.stats["whois"].cached >= 1 and again.stats["whois"].asked == 0


def test_company_registrants_are_organisations_and_privacy_services_link_nothing(whois_server):
    whois_server.add_answer("example.cn", "Domain Name: example.cn\nROID: 20200101s10001s00000001-cn\n"
                            "Domain Status: ok\nRegistrant: 深圳实验蚁信息技术有限公司\n"
                            "Registrant Contact Email: Ops@Example.CN\nSponsoring Registrar: 示例注册商有限公司\n"
                            "Name Server: ns1.example.cn\nRegistration Time: 2020-10-01 10:00:00\n"
                            "Expiration Time: 2026-10-01 10:00:00\n")
    _, parsed, _ = _ask(_source(whois_server), "example.cn")
    registrants = {f.object for f in parsed.facts if f.relation == "registrant"}
    assert registrants == {"org:深圳实验蚁信息技术有限公司"}
    assert ("domain:example.cn", "uses_email", "email:ops@example.cn") in {
        (f.subject, f.relation, f.object) for f in parsed.facts}


def test_a_registrar_only_expiry_date_is_kept(whois_server):
    whois_server.add_answer("example.io", "Domain Name: example.io\nRegistry Domain ID: 1-IO\n"
                            "Registrar: Example Registrar, Inc.\nCreation Date: 2021-01-05T00:00:00Z\n"
                            "Registrar Registration Expiration Date: 2027-01-05T00:00:00Z\n"
                            "Name Server: ns1.example.io\n")
    _, parsed, _ = _ask(_source(whois_server), "example.io")
    assert parsed.nodes["domain:example.io"]["expiration_date"] == "2027-01-05T00:00:00Z"
