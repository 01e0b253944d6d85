"""Certificate subjects: an organisation-validated certificate's O= is an org, matched to the case's Chinese
company by its English name, with the score on the edge."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lab.world import CASE
from lab.world import shodan as world

from osint.case import load_case
from osint.config import Secret
from osint.transport.pipeline import ask_once
from osint.graph.build import build_graph
from osint.sources.certsubject import subject_fields, subject_org
from osint.sources.base import Parsed
from osint.sources.cnregistry import CNRegistrySource
from osint.sources.shodan import ShodanSource
from osint.store import EvidenceStore, Outcome
from source_helpers import clear_env_proxies, edges, lab_with, make_source

ORG = "org:Shenzhen Shiyanyi Information Technology Co., Ltd."
CERT = "certificate:5e1f0c3a7b9d2e4f6a8c0e2a4c6e8f0a2c4e6a8c0e2f4a6c8e0a2c4e6f8a0c2e"


@pytest.fixture(scope="module")
def lab():
    with lab_with(world) as lab:
        yield lab


def test_an_ov_certificate_names_the_case_company_with_its_score(lab, tmp_path, monkeypatch, guarded_env):
    clear_env_proxies(monkeypatch)
    case = load_case(CASE)
    shodan = make_source(ShodanSource, {**world.settings(lab), "api_key": Secret(world.API_KEY)})
    with EvidenceStore(str(tmp_path / "e.sqlite")) as store:
        fetched, parsed, _ = ask_once(shodan, shodan.queries("ip:100.64.3.30", 0)[0], store)
        assert fetched.outcome is Outcome.ANSWERED
        (subject,) = [f for f in parsed.facts if f.relation == "certificate_subject"]
        assert (subject.subject, subject.object) == (CERT, ORG)
        assert subject.attrs == {"unit": "IT", "locality": "Shenzhen", "province": "Guangdong", "country": "CN"}
        assert (ORG, "region:CN") in edges(parsed, "located_in") and ORG in parsed.leads
        # The org is a lead; cn-registry (offline) compares it with the case's companies, as the engine does.
        registry = make_source(CNRegistrySource, {}, case=case)
        for q in registry.queries(ORG, 1):
            ask_once(registry, q, store)
        g = build_graph(case, store)
    scores = {o: d["score"] for _, o, k, d in g.out_edges(ORG, keys=True, data=True) if k == "similar_name"}
    # Its English name is 深圳实验蚁信息技术有限公司's in full; the sister company shares place and trade name only.
    assert scores == {"company:91440300MA5LAB026M": 1.0, "company:91440300MA5LAB018T": 0.9}
    assert g.edges[ORG, "company:91440300MA5LAB026M", "similar_name"]["compared"] == "深圳实验蚁信息技术有限公司"
    assert g.has_edge("service:100.64.3.30:443/tcp", CERT, "serves_certificate")
    # `osint explain` from the server to the company shows the match and its score.
    conf = tmp_path / "osint.toml"
    conf.write_text(f'[store]\npath = "{tmp_path / "e.sqlite"}"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "osint", "--config", str(conf), "explain", "ip:100.64.3.30",
                           "company:91440300MA5LAB026M", "--case", str(CASE)],
                          env=dict(guarded_env, COLUMNS="250"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "certificate_subject" in done.stdout and "similar_name (score 1.0)" in done.stdout


def test_placeholder_organisations_are_not_anyone():
    out = Parsed()
    assert subject_org(out, "certificate:x", {"O": "Internet Widgits Pty Ltd", "C": "AU"}) is None
    assert out.facts == [] and out.nodes["certificate:x"]["subject_placeholder_org"] == "Internet Widgits Pty Ltd"
    assert subject_org(Parsed(), "certificate:y", {"CN": "example.com"}) is None  # domain-validated: no O


def test_subjects_written_as_text():
    assert subject_fields("C=CN, ST=Guangdong, L=Shenzhen, O=Example\\, Inc., CN=www.example.com") == {
        "C": "CN", "ST": "Guangdong", "L": "Shenzhen", "O": "Example, Inc."}


def test_crtsh_search_by_organisation_finds_its_other_certificates(tmp_path, monkeypatch):
    from lab.world import ct as ct_world

    from osint.sources.ct import CTSource

    clear_env_proxies(monkeypatch)
    case = load_case(CASE)
    with lab_with(ct_world) as lab:
        src = make_source(CTSource, ct_world.settings(lab), case=case)
        (q,) = src.queries(ORG, 1)
        assert q.key == f"crtsh O={ORG[4:]}" and q.request["params"]["O"] == ORG[4:]
        fetched, parsed, _ = ask_once(src, q)
        # An organisation that resembles no case company is not searched (a hosting company, say).
        assert src.queries("org:Example Hosting Ltd", 1) == []
        assert make_source(CTSource, ct_world.settings(lab)).queries(ORG, 1) == []  # no case, no comparison
    assert fetched.outcome is Outcome.ANSWERED
    cert = "certificate:crtsh-9000000301"
    (f,) = [f for f in parsed.facts if f.relation == "certificate_subject"]
    assert (f.subject, f.object, f.first_seen) == (cert, ORG, "2022-05-10T00:00:00Z")
    assert {(cert, "domain:ov.example.org"), (cert, "domain:pay.example.org")} <= edges(parsed, "certificate_names")
    assert "domain:pay.example.org" in parsed.leads
