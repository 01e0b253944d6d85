"""`osint requests` on the lab case: every record holder the lab evidence names, with its window and the
evidence ids behind it, in Chinese and English; nothing the evidence does not support."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from lab.world import CASE
from test_graph_fixtures import StoreWriter, fact, fake_case
from test_report import lab_run, osint  # noqa: F401  (the lab case, enriched once against the whole lab)

pytestmark = pytest.mark.timeout(400)

# Every holder the lab's evidence and case file name: (role, name).
LAB_HOLDERS = {
    ("hosting", "Example Hosting Ltd"),  # RDAP registrant of 100.64.0.0/16 and holder of AS64500
    ("hosting", "Example Cloud Pte. Ltd."),  # RDAP registrant of 100.64.2.0/24 and holder of AS64501
    ("registrar", "Example Registrar, Inc."),  # WHOIS of example.com and example.net
    ("ca", "Lab Encrypt"), ("ca", "Example Trust Services"),  # issuers of certificates naming case domains
    ("exchange", "ExampleExchange"),  # the case file's incident
    ("platform", "Telegram"), ("platform", "X (Twitter)"),  # the case file's accounts
    ("platform", "Google Play"), ("platform", "YouTube"),  # the case's app and channel
}


def run(lab_run, *args: str, store: Path | None = None):
    cfg = lab_run["cfg"]
    extra = ["--store", str(store)] if store else []
    return osint(["--config", str(cfg), *extra, "requests", "--case", str(CASE), *args], lab_run["env"],
                 lab_run["work"])


def holders(lab_run, store: Path | None = None) -> dict:
    done = run(lab_run, "--format", "json", "--lang", "en", store=store)
    assert done.returncode == 0, done.stderr
    return {(h["role"], h["name"]): h for h in json.loads(done.stdout)["holders"]}


def store_ids(store: Path) -> set[str]:
    with sqlite3.connect(store) as db:
        return {f"ev{i}" for (i,) in db.execute("SELECT id FROM observations")}


def test_every_holder_the_lab_evidence_names(lab_run):
    found = holders(lab_run)
    assert set(found) == LAB_HOLDERS
    known = store_ids(lab_run["store"])
    for (role, name), h in found.items():
        assert h["window_start"] and h["window_end"] and h["window_start"] <= h["window_end"], name
        assert h["asks"], name
        if role in ("exchange", "platform"):  # from the case file: its sections, no evidence id
            assert h["case_sources"] and not h["evidence"], name
        else:
            assert h["evidence"] and set(h["evidence"]) <= known, name
            assert all(i["evidence"] for i in h["identifiers"]), name
    hosting = found[("hosting", "Example Hosting Ltd")]
    assert {i["value"] for i in hosting["identifiers"] if i["kind"] == "ip"} == {"100.64.1.10", "100.64.1.11"}
    assert {(c["value"], c["role"]) for c in hosting["contacts"]} >= {("abuse@hosting.test", "abuse")}
    assert {c["code"] for c in hosting["countries"]} == {"HK"}
    cloud = found[("hosting", "Example Cloud Pte. Ltd.")]
    assert {c["code"] for c in cloud["countries"]} == {"SG"}
    registrar = found[("registrar", "Example Registrar, Inc.")]
    assert {i["value"] for i in registrar["identifiers"]} == {"example.com", "example.net"}
    assert [c["value"] for c in registrar["contacts"]] == ["abuse@example-registrar.test"]
    exchange = found[("exchange", "ExampleExchange")]
    assert exchange["window_start"] == "2023-03-20T17:00:00Z" and "lab complaint §三" in exchange["case_sources"]
    assert [a["key"] for a in exchange["asks"]][:2] == ["api_key_records", "api_key_usage"]
    # Ordered by how many case items each holder's records bear on.
    doc = json.loads(run(lab_run, "--format", "json", "--lang", "en").stdout)
    coverage = [h["coverage"] for h in doc["holders"]]
    assert coverage == sorted(coverage, reverse=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_both_languages_list_every_holder_with_window_and_evidence(lab_run, lang):
    found = holders(lab_run)
    done = run(lab_run, "--lang", lang)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    words = {"zh": ("证据保全请求", "调取数据请求", "时间范围"), "en": ("preservation request", "data request",
                                                                "Time window")}[lang]
    assert all(w in text for w in words)
    sections = re.split(r"(?m)^## \d+\. ", text)[1:]
    assert len(sections) == len(LAB_HOLDERS)
    for (role, name), h in found.items():
        [section] = [s for s in sections if s.startswith(name + " (")]
        assert f"{h['window_start']} .. {h['window_end']}" in section, (lang, name)
        for ev in h["evidence"]:
            assert re.search(rf"\b{ev}\b", section), (lang, name, ev)
        # Both drafts, each citing every evidence id of the holder and no other.
        drafts = re.findall(r"(?ms)^```text\n(.*?)^```", section)
        assert len(drafts) == 2
        for draft in drafts:
            assert set(re.findall(r"\bev\d+\b", draft)) == set(h["evidence"]), (lang, name)
            assert name in draft


def test_a_holder_disappears_with_the_observations_that_name_it(lab_run, tmp_path):
    base = holders(lab_run)
    assert ("registrar", "Example Registrar, Inc.") in base and ("hosting", "Example Cloud Pte. Ltd.") in base

    def without(*where: str) -> Path:
        copy = tmp_path / f"store{len(list(tmp_path.iterdir()))}.sqlite"
        shutil.copy(lab_run["store"], copy)
        with sqlite3.connect(copy) as db:
            for clause in where:
                ids = [i for (i,) in db.execute(f"SELECT id FROM observations WHERE {clause}")]
                assert ids, clause
                db.execute(f"DELETE FROM parses WHERE observation_id IN ({','.join('?' * len(ids))})", ids)
                db.execute(f"DELETE FROM observations WHERE id IN ({','.join('?' * len(ids))})", ids)
        return copy

    # No WHOIS answer, no registrar; the rest stands.
    after = holders(lab_run, store=without("source = 'whois'"))
    assert set(after) == set(base) - {("registrar", "Example Registrar, Inc.")}
    # Without the RDAP answer and the ASN answers about 100.64.2.20, nothing names its operator.
    after = holders(lab_run, store=without("source = 'rdap' AND query_key LIKE '%100.64.2.20'",
                                           "source = 'asn' AND (query_key LIKE '%100.64.2.20' OR query_key LIKE '%AS64501')"))
    assert ("hosting", "Example Cloud Pte. Ltd.") not in after
    assert ("hosting", "Example Hosting Ltd") in after


def test_html_is_one_escaped_page(lab_run, tmp_path):
    out = tmp_path / "r.html"
    done = run(lab_run, "--lang", "en", "--format", "html", "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "default-src 'none'" in page and "<script" not in page
    assert page.count('<article class="holder"') == len(LAB_HOLDERS)
    assert page.count('<pre class="draft preservation">') == len(LAB_HOLDERS)


def test_an_unknown_language_is_one_line_and_exit_2(lab_run):
    done = run(lab_run, "--lang", "fr")
    assert done.returncode == 2 and "fr" in done.stderr and "Traceback" not in done.stderr


def test_hostile_holder_names_stay_text(tmp_path):
    """A registry answer can name anything: markup, pipes and fences must not break either document."""
    from osint.graph import build_graph
    from osint.handoff.render import render
    from osint.handoff.requests import record_holders

    evil = "Evil <script>alert(1)</script> | ``` ```` Ltd\x00\x1b\u202e"
    w = StoreWriter(tmp_path / "e.sqlite")
    rdap = w.answer("rdap", "ip 192.0.2.10", {"facts": [
        fact("ip:192.0.2.10", "in_netblock", "netblock:192.0.2.0/24"),
        fact("netblock:192.0.2.0/24", "operated_by", f"org:{evil}"),
        fact("netblock:192.0.2.0/24", "abuse_contact", "email:abuse@evil.test"),
        fact("netblock:192.0.2.0/24", "located_in", "region:ZZ")]}, at="2024-01-01T00:00:00Z")
    g = build_graph(fake_case(), w.store)
    w.store.close()
    handoff = record_holders(fake_case(), g)
    [hosting] = [h for h in handoff.holders if h.role == "hosting"]
    assert hosting.evidence == [f"ev{rdap}"] and [c.code for c in hosting.countries] == ["ZZ"]
    html = render(handoff, "zh", "html")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x00" not in html and "\x1b" not in html
    md = render(handoff, "en", "md")
    assert "\x00" not in md and "\x1b" not in md
    heading = next(line for line in md.splitlines() if line.startswith("## ") and "Evil" in line)
    assert "\\<script\\>" in heading and "\\|" in heading
    # The draft's fence is longer than any backtick run in it, so nothing inside can close it.
    section = md[md.index(heading):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    fences = re.findall(r"(?m)^(`{3,})text$", section)
    assert len(fences) == 2 and all(len(f) >= 5 for f in fences)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_has_the_hand_off_section(lab_run, tmp_path, lang):
    from lxml import html as lxml_html

    out = tmp_path / f"r.{lang}.html"
    done = osint(["--config", str(lab_run["cfg"]), "report", "--case", str(CASE), "--lang", lang, "--out", str(out)],
                 lab_run["env"], lab_run["work"])
    assert done.returncode == 0, done.stderr
    doc = lxml_html.fromstring(out.read_bytes())
    section = doc.get_element_by_id("requests")
    assert doc.cssselect('nav a[href="#requests"]')
    found = {(a.get("data-role"), a.get("data-name")) for a in section.cssselect("article.holder")}
    assert found == LAB_HOLDERS
    words = {"zh": "证据保全请求", "en": "preservation request"}[lang]
    assert words in section.text_content()
    # Below the claims and infrastructure, above the evidence appendix its ids point to.
    ids = [s.get("id") for s in doc.cssselect("main > section")]
    assert ids.index("requests") == ids.index("appendix") - 1


def test_the_lab_case_exports_valid_stix_and_a_whole_misp_event(lab_run, tmp_path):
    """The STIX bundle and MISP event of a real enrichment run (names like _spf.example.net, CT log
    entries without a SHA-256), not only of the synthetic graph."""
    from pymisp import MISPEvent
    from test_export_misp import event_indicators, graph_indicators
    from test_export_stix import validate

    from osint.case import load_case
    from osint.graph import build_graph
    from osint.store import open_store

    for fmt in ("stix", "misp"):
        out = tmp_path / f"lab.{fmt}.json"
        done = osint(["--config", str(lab_run["cfg"]), "graph", "--case", str(CASE), "--export", fmt, "--out",
                      str(out)], lab_run["env"], lab_run["work"])
        assert done.returncode == 0, done.stderr
    assert validate(tmp_path / "lab.stix.json") == []
    stix = json.loads((tmp_path / "lab.stix.json").read_text("utf-8"))["objects"]
    assert sum(o["type"] == "x509-certificate" for o in stix) >= 5  # CT entries by serial and issuer
    event = MISPEvent()
    event.load_file(str(tmp_path / "lab.misp.json"))
    store = open_store(str(lab_run["store"]), create=False)
    try:
        g = build_graph(load_case(CASE), store)
    finally:
        store.close()
    assert event_indicators(event) == graph_indicators(g)
    assert {o.name for o in event.objects} >= {"domain-ip", "passive-dns", "whois", "ip-port", "url", "x509"}


def test_the_exchange_comes_with_the_law_enforcement_links_of_the_case_file(tmp_path):
    """On the AntBot case file: Binance, its law-enforcement portal and Kodex link (not every Binance
    page the complaint cites), and the broker programme the case file says the brand joined."""
    from osint.graph import build_graph
    from osint.handoff.render import render
    from osint.handoff.requests import record_holders
    from test_graph_fixtures import antbot_store, load_seeds

    store, _ = antbot_store(tmp_path / "e.sqlite")
    case = load_seeds()
    try:
        handoff = record_holders(case, build_graph(case, store))
    finally:
        store.close()
    [exchange] = [h for h in handoff.holders if h.role == "exchange"]
    assert exchange.name == case.incident.exchange
    assert [r.url for r in exchange.references] == [r.url for r in case.references if "law-enforcement" in r.url
                                                    or "kodex" in r.url]
    assert len(exchange.references) == 2
    assert [a.key for a in exchange.asks] == ["api_key_records", "api_key_usage", "counterparty_accounts",
                                              "broker_links"]
    zh = render(handoff, "zh", "md")
    assert all(r.url in zh for r in exchange.references) and "案件材料中引用的向贵方提交请求的链接" in zh
