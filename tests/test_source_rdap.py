"""The rdap source against the loopback HTTP server: RDAP networks, redirects, reserved ranges, faults."""

from __future__ import annotations

import hashlib
import json
import re
import time

import pytest

from lab import Fault, Response
from lab.world.rdap import DATA
from osint.config import EnrichSettings, SourceSettings
from osint.transport.pipeline import ask_once
from osint.sources.base import SourceContext
from osint.sources.rdap import RDAPSource
from osint.store import EvidenceStore, Outcome
from osint.transport.policy import AddressPolicy

APNIC_SHAPE = (DATA / "100.64.0.0_16.json").read_bytes()
ARIN_SHAPE = (DATA / "100.64.2.0_24.json").read_bytes()
RDAP_JSON = "application/rdap+json"


@pytest.fixture
def rdap(http_server):
    http_server.get("/rdap/ip/100.64.1.10", Response(200, APNIC_SHAPE, content_type=RDAP_JSON))
    http_server.get("/rdap/ip/100.64.2.20", Response(200, ARIN_SHAPE, content_type=RDAP_JSON))
    return http_server


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def make(server=None, *, allow_private=False, timeout=1.0, **options) -> RDAPSource:
    if server is not None:
        options.setdefault("endpoint", f"{server.url}/rdap/")
    return RDAPSource(SourceSettings(timeout=timeout, retries=0, options=options),
                      SourceContext(case=None, enrich=EnrichSettings(allow_private=allow_private)))


def ask(src: RDAPSource, node: str = "ip:100.64.1.10", store=None):
    [query] = src.queries(node, 0)
    return ask_once(src, query, store, AddressPolicy(allow_private=src.context.enrich.allow_private))


def facts(parsed) -> set[tuple[str, str, str]]:
    return {(f.subject, f.relation, f.object) for f in parsed.facts}


def test_where_the_question_goes():
    [q] = make(endpoint="http://127.0.0.1:9/rdap").queries("ip:100.64.1.10", 3)
    assert (q.key, q.transport, q.request["url"], q.depth) == (
        "ip 100.64.1.10", "http", "http://127.0.0.1:9/rdap/ip/100.64.1.10", 3)
    [arin] = make().queries("ip:100.64.1.10", 0)
    assert arin.request["url"] == "https://rdap.arin.net/registry/ip/100.64.1.10"
    [apnic] = make(registries={"apnic": "http://127.0.0.1:9/apnic/"}, registry="apnic").queries("ip:100.64.1.10", 0)
    assert apnic.request["url"] == "http://127.0.0.1:9/apnic/ip/100.64.1.10"
    assert make().queries("domain:example.com", 0) == []


def test_an_apnic_shaped_network(rdap, store):
    fetched, parsed, oid = ask(make(rdap), store=store)
    assert fetched.outcome is Outcome.ANSWERED
    assert store.get(oid).sha256 == hashlib.sha256(APNIC_SHAPE).hexdigest()
    block, org = "netblock:100.64.0.0/16", "org:Example Hosting Ltd"
    assert {("ip:100.64.1.10", "in_netblock", block), (block, "operated_by", org), (block, "located_in", "region:HK"),
            (block, "abuse_contact", "email:abuse@hosting.test"), (org, "uses_email", "email:noc@hosting.test"),
            } == facts(parsed)
    node = parsed.nodes[block]
    assert (node["name"], node["registry"], node["registration_date"], node["last_changed"]) == (
        "EXAMPLE-HOSTING-NET", "apnic", "2019-05-14T02:00:00Z", "2023-01-10T08:30:00Z")
    assert parsed.leads == []  # hosting abuse desks and NOCs are shared by everyone
    assert rdap.count() == 1  # ipwhois parsed; it fetched nothing


def test_an_arin_shaped_network_with_nested_contacts(rdap):
    _, parsed, _ = ask(make(rdap), "ip:100.64.2.20")
    block, org = "netblock:100.64.2.0/24", "org:Example Cloud Pte. Ltd."
    assert {("ip:100.64.2.20", "in_netblock", block), (block, "operated_by", org),
            (block, "abuse_contact", "email:abuse@cloud.test"), (org, "uses_email", "email:noc@cloud.test"),
            } == facts(parsed)
    assert parsed.nodes[block]["registry"] == "arin"
    assert parsed.nodes[block]["registration_date"] == "2021-02-03T14:00:00Z"


def test_entities_without_contact_data_are_not_fetched(http_server):
    data = json.loads(APNIC_SHAPE)
    data["entities"] = [{"handle": "ORG-EHL1-AP", "roles": ["registrant"], "objectClassName": "entity"}]
    http_server.get("/rdap/ip/100.64.1.10", Response(200, json.dumps(data).encode(), content_type=RDAP_JSON))
    start = time.monotonic()
    fetched, parsed, _ = ask(make(http_server))
    assert fetched.outcome is Outcome.ANSWERED and time.monotonic() - start < 2
    assert ("netblock:100.64.0.0/16", "operated_by", "org:Example Hosting Ltd") in facts(parsed)  # the remark
    assert http_server.count() == 1


def test_reserved_addresses_are_recorded_without_asking(http_server, store):
    src = make(http_server)
    [query] = src.queries("ip:192.0.2.10", 0)
    assert (query.transport, query.key) == ("local", "reserved 192.0.2.10")
    fetched, parsed, oid = ask_once(src, query, store)
    assert fetched.outcome is Outcome.ANSWERED and store.get(oid).raw == fetched.raw
    assert parsed.nodes == {"ip:192.0.2.10": {"private_address": True, "reserved_range": "TEST-NET-1 (RFC 5737)"}}
    assert http_server.count() == 0


def test_unknown_address_is_no_record(rdap):
    fetched, parsed, _ = ask(make(rdap), "ip:100.64.9.9")
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []


def test_server_error_and_rate_limit(rdap):
    rdap.set_fault(Fault.STATUS_5XX, "/rdap/ip/100.64.1.10", status=502)
    fetched, parsed, _ = ask(make(rdap))
    assert (fetched.outcome, parsed) == (Outcome.SERVER_ERROR, None)
    rdap.set_fault(Fault.STATUS_429, "/rdap/ip/100.64.1.10", retry_after=7)
    fetched, parsed, _ = ask(make(rdap))
    assert (fetched.outcome, fetched.retry_after, parsed) == (Outcome.RATE_LIMITED, 7.0, None)
    assert rdap.count("/rdap/ip/100.64.1.10") == 2  # one request each: retrying is the engine's call


@pytest.mark.parametrize("fault", [Fault.MALFORMED_JSON, Fault.WRONG_CONTENT_TYPE, Fault.GARBAGE])
def test_unreadable_answers_are_bad_answers(rdap, fault):
    rdap.set_fault(fault, "/rdap/ip/100.64.1.10")
    fetched, parsed, _ = ask(make(rdap))
    assert fetched.outcome in (Outcome.BAD_ANSWER, Outcome.RESET, Outcome.ERROR) and parsed is None
    if fault is not Fault.GARBAGE:
        assert fetched.outcome is Outcome.BAD_ANSWER


def test_deeply_nested_json_is_a_bad_answer(http_server):
    body = b'{"handle": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    http_server.get("/rdap/ip/100.64.1.10", Response(200, body, content_type=RDAP_JSON))
    fetched, parsed, _ = ask(make(http_server))
    assert fetched.outcome is Outcome.BAD_ANSWER and parsed is None


def test_silence_and_reset(rdap):
    rdap.set_fault(Fault.SILENCE, "/rdap/ip/100.64.1.10")
    fetched, _, _ = ask(make(rdap, timeout=0.3))
    assert fetched.outcome is Outcome.TIMEOUT
    rdap.set_fault(Fault.RESET, "/rdap/ip/100.64.1.10", fraction=0.5)
    fetched, parsed, _ = ask(make(rdap))
    assert fetched.outcome is Outcome.RESET and parsed is None


def test_a_redirect_to_another_registry_on_loopback_is_blocked_unless_allowed(http_server):
    # ARIN sends questions about other registries' space on with a redirect; the target is the
    # answer's choice, so the address policy applies to it.
    http_server.get("/apnic/ip/100.64.1.10", Response(200, APNIC_SHAPE, content_type=RDAP_JSON))
    http_server.get(re.compile(r"/arin/ip/.*"), lambda req: Response(
        302, b"", {"Location": f"{http_server.url}/apnic/ip/{req.path.rsplit('/', 1)[1]}"}))
    options = {"registries": {"arin": f"{http_server.url}/arin/", "apnic": f"{http_server.url}/apnic/"}}
    fetched, parsed, _ = ask(make(**options))
    assert fetched.outcome is Outcome.BLOCKED and parsed is None
    assert http_server.count("/apnic/ip/100.64.1.10") == 0
    fetched, parsed, _ = ask(make(allow_private=True, **options))
    assert fetched.outcome is Outcome.ANSWERED
    assert fetched.meta["redirects"][0]["to"].endswith("/apnic/ip/100.64.1.10")
    assert parsed.nodes["netblock:100.64.0.0/16"]["registry"] == "apnic"
