"""Shodan against the lab: services, certificates, SSH keys, and a key that never reaches the evidence."""

from __future__ import annotations

import json

import pytest
from lab.world import shodan as world

from osint.config import Secret
from osint.transport.pipeline import ask_once
from osint.sources.shodan import ShodanSource, san_dns_names, san_from_der_certificate
from osint.store import EvidenceStore, Outcome
from osint.transport.policy import AddressPolicy
from source_helpers import clear_env_proxies, edges, facts, lab_with, make_source

CERT = "certificate:b935b19212322cd438a189a33e6b653c6ee5c1d6f50d63286cfc9ec9c2e1b454"
SSH_KEY = "sshkey:9c:db:1f:f3:86:79:4d:bf:13:f2:15:4e:c8:4e:d4:dd"


@pytest.fixture(scope="module")
def lab():
    with lab_with(world) as lab:
        yield lab


@pytest.fixture(autouse=True)
def clean(lab, monkeypatch):
    clear_env_proxies(monkeypatch)
    lab.http.clear_faults(all=True)
    yield
    lab.http.clear_faults(all=True)


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def source(lab, key=world.API_KEY, **limits):
    options = {**world.settings(lab), "api_key": Secret(key) if key else None}
    return make_source(ShodanSource, options, **limits)


def ask(src, ip, store=None, policy=None):
    return ask_once(src, src.queries(f"ip:{ip}", 0)[0], store, policy)


def test_host_services_certificate_and_ssh_key(lab):
    fetched, parsed, _ = ask(source(lab), "100.64.1.10")
    assert fetched.outcome is Outcome.ANSWERED
    ip = "ip:100.64.1.10"
    assert {o for s, o in edges(parsed, "has_service")} == {
        "service:100.64.1.10:22/tcp", "service:100.64.1.10:80/tcp", "service:100.64.1.10:443/tcp"}
    https = parsed.nodes["service:100.64.1.10:443/tcp"]
    assert https["product"] == "nginx" and https["http_title"] == "LabBot - quantitative trading robot"
    assert https["favicon_hash"] == -1234567890 and https["module"] == "https"
    assert https["last_seen"] == "2023-06-12T04:05:06Z"
    assert edges(parsed, "serves_certificate") == {("service:100.64.1.10:443/tcp", CERT)}
    names = {f.object: f for f in facts(parsed, "certificate_names")}
    assert set(names) == {"domain:example.com", "domain:admin.example.net"}
    assert "wildcard" not in names["domain:example.com"].attrs  # named exactly too, not only as *.example.com
    assert (names["domain:example.com"].first_seen, names["domain:example.com"].last_seen) == \
        ("2023-03-22T00:00:00Z", "2023-09-20T23:59:59Z")
    cert = parsed.nodes[CERT]
    assert cert["issuer"] == "C=US, O=Example Trust Services, CN=Example TLS CA 2022"
    assert cert["subject"] == "CN=example.com" and cert["not_after"] == "2023-09-20T23:59:59Z"
    assert cert["serial"] == "11736befbb3e5"  # as the CT source writes crt.sh's 011736BEFBB3E5
    assert edges(parsed, "serves_ssh_key") == {("service:100.64.1.10:22/tcp", SSH_KEY)}
    assert parsed.nodes[SSH_KEY]["key_type"] == "ssh-ed25519"
    assert parsed.nodes[SSH_KEY]["sha256"].startswith("SHA256:")
    assert parsed.nodes[ip]["vulns"] == ["CVE-2021-41617", "CVE-2023-38408"]
    assert edges(parsed, "ptr") == {(ip, "domain:api.example.com")}
    assert edges(parsed, "announced_by") == {(ip, "asn:AS64500")}
    assert (ip, "org:Example Hosting Ltd") in edges(parsed, "operated_by")
    assert ("asn:AS64500", "org:Example Transit Networks") in edges(parsed, "operated_by")
    assert edges(parsed, "located_in") == {(ip, "region:HK")}
    assert set(parsed.leads) == {"domain:api.example.com", "domain:example.com", "domain:admin.example.net",
                                 "favicon:-1234567890", CERT}  # the last two: search pivots


def test_the_ssh_key_is_shared_with_the_other_server(lab):
    _, parsed, _ = ask(source(lab), "100.64.1.11")
    assert edges(parsed, "serves_ssh_key") == {("service:100.64.1.11:22/tcp", SSH_KEY)}
    assert parsed.nodes["service:100.64.1.11:8080/tcp"]["favicon_hash"] == -1234567890


def test_no_information_is_no_record(lab):
    fetched, parsed, _ = ask(source(lab), "192.0.2.10")
    assert fetched.outcome is Outcome.NO_RECORD
    assert parsed.facts == [] and parsed.leads == []


def test_without_a_key_the_source_is_skipped(lab):
    src = source(lab, key=None)
    assert src.ready() == "no API key (set SHODAN_API_KEY or sources.shodan.api_key in osint.toml); skipped"


def test_a_rejected_key_is_refused_and_not_repeated(lab):
    fetched, parsed, _ = ask(source(lab, key="WrongKey0123456789"), "100.64.1.10")
    assert fetched.outcome is Outcome.REFUSED and parsed is None
    assert "rejected the API key" in fetched.error and "WrongKey" not in fetched.error


def test_the_key_never_reaches_the_evidence_store(lab, store, tmp_path):
    src = source(lab, timeout=1.0)
    key = world.API_KEY.encode()
    ask(src, "100.64.1.10", store)  # answered
    ask(src, "192.0.2.10", store)  # 404
    for mode, options in [("status_429", {"retry_after": 3}), ("reset", {}), ("silence", {}),
                          ("garbage", {}), ("redirect", {"location": "/shodan/host/100.64.1.11"})]:
        lab.http.set_fault(mode, "/shodan/host/100.64.1.10", **options)
        ask(src, "100.64.1.10", store)
        lab.http.clear_faults(all=True)
    # an unreachable API: requests puts the whole URL, key and all, into its error
    closed = make_source(ShodanSource, {"url": "http://127.0.0.1:9", "api_key": Secret(world.API_KEY)})
    ask(closed, "100.64.1.10", store)
    rows = store.list(source="shodan")
    assert len(rows) == 8
    for row in rows:
        text = json.dumps([row.request, row.meta, row.error, row.query_key, row.endpoint])
        assert world.API_KEY not in text, row
    assert any("***" in json.dumps(row.meta) for row in rows)  # the transport redacted, not forgot
    store.close()
    for path in tmp_path.iterdir():  # the database and its WAL
        assert key not in path.read_bytes(), path.name


def test_a_key_with_url_special_characters_is_redacted_too(lab, store):
    special = "Lab+Key/With=Specials0123"
    lab.http.add_route("GET", "/special/shodan/host/", (200, {"ip_str": "100.64.1.12"}), prefix=True)
    src = make_source(ShodanSource, {"url": lab.http.url + "/special", "api_key": Secret(special)})
    _, _, oid = ask(src, "100.64.1.12", store)
    meta = json.dumps(store.get(oid).meta)
    assert "Lab%2BKey" not in meta and special not in meta


def test_a_redirect_into_the_lab_network_is_blocked(lab):
    lab.http.set_fault("redirect", "/shodan/host/100.64.1.10", location="http://169.254.169.254/latest/meta-data/")
    fetched, _, _ = ask(source(lab), "100.64.1.10", policy=AddressPolicy(allow_private=False))
    assert fetched.outcome is Outcome.BLOCKED


@pytest.mark.parametrize("mode,options,outcome", [
    ("silence", {}, Outcome.TIMEOUT),
    ("malformed_json", {}, Outcome.BAD_ANSWER),
    ("status_429", {"retry_after": 5}, Outcome.RATE_LIMITED),
    ("status_5xx", {}, Outcome.SERVER_ERROR),
    ("gzip_bomb", {"size": 50_000_000}, Outcome.TOO_LARGE),
])
def test_faults(lab, mode, options, outcome):
    lab.http.set_fault(mode, "/shodan/host/100.64.1.10", **options)
    fetched, parsed, _ = ask(source(lab, timeout=1.0, max_bytes=2_000_000), "100.64.1.10")
    assert fetched.outcome is outcome, fetched.error
    assert parsed is None
    if outcome is Outcome.RATE_LIMITED:
        assert fetched.retry_after == 5.0


def test_an_error_document_with_status_200_is_not_an_answer(lab):
    lab.http.add_route("GET", "/err/shodan/host/", (200, {"error": "Request timed out"}), prefix=True)
    src = make_source(ShodanSource, {"url": lab.http.url + "/err", "api_key": Secret(world.API_KEY)})
    fetched, parsed, _ = ask(src, "100.64.1.10")
    assert fetched.outcome is Outcome.ERROR and "Request timed out" in fetched.error


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag, len(body)]) + body


def test_subject_alternative_names_from_der():
    names = _der(0x30, _der(0x82, b"example.com") + _der(0x87, bytes([192, 0, 2, 1])) + _der(0x82, b"*.example.net"))
    assert san_dns_names(names) == ["example.com", "*.example.net"]
    # as inside a certificate: OID, the critical flag, then the OCTET STRING holding GeneralNames
    extension = _der(0x30, b"\x06\x03\x55\x1d\x11" + _der(0x01, b"\xff") + _der(0x04, names))
    assert san_from_der_certificate(b"\x30\x00" + extension) == ["example.com", "*.example.net"]
    assert san_from_der_certificate(b"\x30\x03\x02\x01\x01") == []
