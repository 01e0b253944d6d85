"""The engine's scheduling rules, driven through real lab servers: retries, Retry-After, pausing, guards."""

from __future__ import annotations

import pytest

from lab.http_server import Response
from lab.world import start_lab, stop_lab, to_toml
from osint.case import load_case
from osint.config import load_settings
from osint.engine.run import Enricher
from osint.errors import ConfigError, ExitStatus
from osint.store import Outcome, open_store



@pytest.fixture(scope="module")
def lab():
    lab = start_lab()
    yield lab
    stop_lab(lab)


@pytest.fixture(autouse=True)
def clean(lab):
    lab.http.clear_faults(all=True)
    lab.dns.clear_faults(all=True)
    lab.reset_counts()


def case_with(tmp_path, ips):
    text = ("case: {id: engine-test, title: engine test}\n"
            "brands:\n  - {id: b, name: B, source: test, standing: alleged by the victim}\n"
            "servers:\n  claim: {relation: alleged_server_of, brand: b}\n  source: test\n"
            "  standing: alleged by the victim\n  ips:\n" + "".join(f"    - {ip}\n" for ip in ips))
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    return load_case(path)


def settings_for(lab, tmp_path, **rdap):
    sources = lab.source_settings()
    sources["rdap"] = {**sources["rdap"], "retries": 2, "rate": 1000.0, "burst": 100, **rdap}
    cfg = tmp_path / "osint.toml"
    cfg.write_text(to_toml({"store": {"path": str(tmp_path / "e.sqlite")}, "sources": sources}))
    cfg.chmod(0o600)
    return load_settings(cfg, env={})


def rdap_path(lab, ip):
    return next(r.path for r in lab.http.requests if r.path.endswith("/ip/" + ip))


def test_retry_after_is_honoured_and_every_attempt_is_kept(lab, tmp_path):
    s = settings_for(lab, tmp_path)
    case = case_with(tmp_path, ["100.64.1.10"])
    store = open_store(s.store)
    # Ask once to learn the path, then fault it: 429 twice (Retry-After: 0), then the answer.
    Enricher(s, case, store, sources=["rdap"], refresh=True).run()
    path = rdap_path(lab, "100.64.1.10")
    lab.reset_counts()
    lab.http.set_fault("status_429", path, times=2, retry_after=0)
    report = Enricher(s, case, store, sources=["rdap"], refresh=True).run()
    assert lab.http.count(path) == 3
    assert report.exit_status == ExitStatus.SUCCESS
    outcomes = [o.outcome for o in store.list(source="rdap", subject="ip:100.64.1.10")]
    assert outcomes[-3:] == [Outcome.RATE_LIMITED, Outcome.RATE_LIMITED, Outcome.ANSWERED]


def test_a_server_that_keeps_answering_429_is_paused_not_hammered(lab, tmp_path):
    ips = [f"100.64.1.{i}" for i in range(20, 60)]
    s = settings_for(lab, tmp_path, concurrency=2, retries=0)
    lab.http.set_fault("status_429_no_retry_after")
    store = open_store(s.store)
    report = Enricher(s, case_with(tmp_path, ips), store, sources=["rdap", "asn"]).run()
    sent = lab.http.count()
    assert sent <= 3 + 2, f"{sent} requests sent to a server answering 429"
    assert report.stats["rdap"].failed["rate_limited"] == len(ips)
    assert report.exit_status == ExitStatus.PARTIAL
    # Every question has an outcome in the store, and the DNS-based asn source was not disturbed.
    assert len({o.query_key for o in store.list(source="rdap")}) == len(ips)
    assert all(o.outcome.is_answer for o in store.list(source="asn"))
    unsent = [o for o in store.list(source="rdap") if o.meta.get("sent") is False]
    assert unsent and all("429" in o.error for o in unsent)


def test_server_errors_are_retried_then_recorded(lab, tmp_path):
    s = settings_for(lab, tmp_path, retries=2)
    case = case_with(tmp_path, ["100.64.1.11"])
    store = open_store(s.store)
    Enricher(s, case, store, sources=["rdap"], refresh=True).run()
    path = rdap_path(lab, "100.64.1.11")
    lab.reset_counts()
    lab.http.set_fault("status_5xx", path, status=503)
    report = Enricher(s, case, store, sources=["rdap"], refresh=True).run()
    assert lab.http.count(path) == 3  # the first try and two retries
    assert report.stats["rdap"].failed == {"server_error": 1}
    # The earlier answer is still there, byte for byte, and still the one the cache offers.
    answers = store.latest_answers("rdap")
    assert store.get(answers["ip 100.64.1.11"][0]).outcome == Outcome.ANSWERED


def test_bad_options_are_configuration_errors(lab, tmp_path):
    s = settings_for(lab, tmp_path)
    case = case_with(tmp_path, ["100.64.1.10"])
    store = open_store(s.store)
    with pytest.raises(ConfigError, match="unknown source"):
        Enricher(s, case, store, sources=["nope"])
    with pytest.raises(ConfigError, match="contradict"):
        Enricher(s, case, store, refresh=True, offline=True)
    with pytest.raises(ConfigError, match="depth"):
        Enricher(s, case, store, depth=-1)


def test_per_pivot_guard_limits_what_is_followed(lab, tmp_path):
    sources = lab.source_settings()
    cfg = tmp_path / "osint.toml"
    cfg.write_text(to_toml({"store": {"path": str(tmp_path / "e.sqlite")},
                            "enrich": {"max_new_per_pivot": 1, "depth": 1}, "sources": sources}))
    cfg.chmod(0o600)
    s = load_settings(cfg, env={})
    case = load_case(__import__("lab.world", fromlist=["CASE"]).CASE)
    store = open_store(s.store)
    report = Enricher(s, case, store, sources=["dns"]).run()
    assert report.leads_dropped > 0
    assert report.depth_reached == 1


def test_a_follow_up_does_not_wait_for_another_sources_slow_answer_at_the_same_depth(lab, tmp_path):
    """A site's address, found at depth 0, is asked about while crt.sh still holds its depth-0 answer.

    The lab's crt.sh keeps its answer until Team Cymru is asked about the address the DNS answer named (or
    20 s have passed). With a level barrier the address would wait for crt.sh, and crt.sh for the address.
    """
    from lab.load import case_yaml

    found = "100.64.99.7"
    lab.dns.add_records("gate.example.com.", "A", [found])
    origin = ".".join(reversed(found.split("."))) + ".origin.asn.cymru.com"
    gate = {"released": None}

    def held_search(request):
        for _ in range(400):
            if lab.dns.count(origin):
                gate["released"] = True
                break
            if lab.http.pause(0.05):
                break
        else:
            gate["released"] = False
        return Response(200, b"[]", content_type="application/json")

    lab.http.get("/held-crtsh/", held_search)
    sources = lab.source_settings()
    sources["ct"] = {**sources["ct"], "url": f"{lab.http.url}/held-crtsh/"}
    cfg = tmp_path / "osint.toml"
    cfg.write_text(to_toml({"store": {"path": str(tmp_path / "e.sqlite")}, "enrich": {"depth": 1},
                            "sources": sources}))
    cfg.chmod(0o600)
    s = load_settings(cfg, env={})
    path = tmp_path / "case.yaml"
    path.write_text(case_yaml("gate", "frontier test", "GateBot", ["100.64.99.1"], ["gate.example.com"]))
    store = open_store(s.store)
    report = Enricher(s, load_case(path), store, sources=["dns", "ct", "asn"]).run()

    assert gate["released"] is True
    rows = store.list()
    asked_about_found = min(o.id for o in rows if o.source == "asn" and found in o.query_key)
    crtsh_answer = min(o.id for o in rows if o.source == "ct")
    assert asked_about_found < crtsh_answer
    assert report.depth_reached == 1 and report.stats["ct"].answered + report.stats["ct"].no_record == 1
