"""Certificate Transparency (crt.sh) against the lab: certificates, names, and crt.sh's usual troubles."""

from __future__ import annotations

import time

import pytest
from lab.world import ct as world

from osint.transport.pipeline import ask_once
from osint.sources.ct import CTSource
from osint.sources.netcommon import registrable_domain
from osint.store import EvidenceStore, Outcome
from source_helpers import facts, lab_fixtures, make_source


lab, clean = lab_fixtures(world, direct=True)


def source(lab, **limits):
    return make_source(CTSource, world.settings(lab), **limits)


def ask(src, node, store=None):
    return ask_once(src, src.queries(node, 0)[0], store)


def test_certificates_and_their_names(lab, tmp_path):
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, oid = ask(source(lab), "domain:example.com", store)
        assert store.get(oid).request["params"] == {"q": "%.example.com", "output": "json"}
    assert fetched.outcome is Outcome.ANSWERED
    assert lab.http.requests[-1].raw_query.startswith("q=%25.example.com")  # the % itself, escaped
    cert = parsed.nodes["certificate:crtsh-9000000101"]
    assert cert == {"crtsh_id": 9000000101, "serial": "11736befbb3e5", "issuer_ca_id": 64500,
                    "issuer": "C=US, O=Example Trust Services, CN=Example TLS CA 2022",
                    "common_name": "example.com", "not_before": "2023-03-22T00:00:00Z",
                    "not_after": "2023-09-20T23:59:59Z", "logged": "2023-03-22T02:11:09Z"}
    assert "certificate:crtsh-9000000100" in parsed.nodes  # precertificate and leaf both kept
    names = {(f.subject, f.object): f for f in facts(parsed, "certificate_names")}
    f = names[("certificate:crtsh-9000000101", "domain:admin.example.net")]
    assert (f.first_seen, f.last_seen) == ("2023-03-22T00:00:00Z", "2023-09-20T23:59:59Z")
    assert "wildcard" not in names[("certificate:crtsh-9000000101", "domain:example.com")].attrs
    assert ("certificate:crtsh-8700000008", "domain:pay.example.com") in names
    assert not any("@" in o for _, o in names)  # an e-mail SAN is not a host name
    assert parsed.leads == ["domain:admin.example.net", "domain:api.example.com", "domain:pay.example.com",
                            "domain:www.example.com"]


def test_wildcard_only_names_are_marked(lab):
    entry = {"id": 1, "name_value": "*.example.org", "common_name": "*.example.org",
             "not_before": "2023-01-01T00:00:00", "not_after": "2023-04-01T00:00:00"}
    lab.http.add_route("GET", "/wild/", (200, [entry]))
    src = make_source(CTSource, {"url": lab.http.url + "/wild/"})
    _, parsed, _ = ask(src, "domain:example.org")
    (f,) = facts(parsed, "certificate_names")
    assert f.object == "domain:example.org" and f.attrs == {"wildcard": True}


def test_subdomains_ask_about_their_registrable_domain(lab):
    src = source(lab)
    (q,) = src.queries("domain:www.example.com", 0)
    assert q.key == "crtsh %.example.com" and q.subject == "domain:example.com"
    assert registrable_domain("shop.example.com.cn") == "example.com.cn"
    assert registrable_domain("a.b.example.net") == "example.net"
    assert src.queries("ip:192.0.2.10", 0) == []


def test_nothing_logged_is_no_record(lab):
    fetched, parsed, _ = ask(source(lab), "domain:example.org")
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []


@pytest.mark.parametrize("mode,options,outcome", [
    ("silence", {}, Outcome.TIMEOUT),
    ("reset", {}, Outcome.RESET),
    ("malformed_json", {}, Outcome.BAD_ANSWER),
    ("wrong_content_type", {}, Outcome.BAD_ANSWER),
    ("status_429", {"retry_after": 30}, Outcome.RATE_LIMITED),
    ("status_5xx", {"status": 502}, Outcome.SERVER_ERROR),
    ("huge", {"size": 30_000_000, "chunked": True}, Outcome.TOO_LARGE),
])
def test_faults(lab, mode, options, outcome):
    lab.http.set_fault(mode, "/crtsh/", **options)
    fetched, parsed, _ = ask(source(lab, timeout=1.0, max_bytes=2_000_000), "domain:example.com")
    assert fetched.outcome is outcome, fetched.error
    assert parsed is None
    if outcome is Outcome.RATE_LIMITED:
        assert fetched.retry_after == 30.0


def test_an_html_page_with_status_200_is_a_bad_answer(lab):
    lab.http.add_route("GET", "/busy/", (200, "<html><body>crt.sh is overloaded</body></html>", {}, "text/html"))
    src = make_source(CTSource, {"url": lab.http.url + "/busy/"})
    fetched, parsed, _ = ask(src, "domain:example.com")
    assert fetched.outcome is Outcome.BAD_ANSWER and "no JSON" in fetched.error and parsed is None


def test_a_gzip_bomb_is_cut_at_the_cap_quickly(lab):
    lab.http.set_fault("gzip_bomb", "/crtsh/", size=200_000_000)
    start = time.monotonic()
    fetched, _, _ = ask(source(lab, max_bytes=5_000_000), "domain:example.com")
    assert fetched.outcome is Outcome.TOO_LARGE and len(fetched.raw) == 5_000_000
    assert time.monotonic() - start < 5


def test_garbage_instead_of_http_is_a_bad_answer(lab):
    lab.http.set_fault("garbage", "/crtsh/")
    fetched, _, _ = ask(source(lab), "domain:example.com")
    assert fetched.outcome is Outcome.BAD_ANSWER
    assert fetched.error.isprintable()


def test_ip_addresses_in_a_certificates_names_are_kept():
    from osint.sources.ct import _names

    names = _names({"common_name": "example.com", "name_value": "example.com\n192.0.2.44\n*.example.net\n2001:DB8::7"})
    assert names == {"domain:example.com": False, "ip:192.0.2.44": False, "domain:example.net": True,
                     "ip:2001:db8::7": False}
