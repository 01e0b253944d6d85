"""`osint report` and `osint graph --export png` on the lab case, checked as a reader would see them:
in real headless Chromium (Debian's package, driven by Playwright), offline, in both languages.

The lab's WHOIS answer for example.net carries a hostile registrant organisation (a <script> and an
<img onerror>): it must show up in the report as text and never run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import html as lxml_html

from lab.world import CASE, start_lab, stop_lab

pytestmark = pytest.mark.timeout(400)

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("OSINT_TEST_ARTIFACTS", REPO / "test-artifacts"))
HOSTILE_ORG = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">Evil Registrant Ltd'
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = os.environ.get("OSINT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed: the README's test command installs it (apt-get install chromium)")
    return path


def osint(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "osint", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    """The lab case enriched once against the whole lab, with a hostile WHOIS registrant."""
    from conftest import lab_env

    work = tmp_path_factory.mktemp("report")
    lab = start_lab()
    try:
        text = (REPO / "tests" / "data" / "lab" / "whois" / "example.net.txt").read_text(encoding="utf-8")
        text = re.sub(r"(?m)^Registrant Organization: .*$", f"Registrant Organization: {HOSTILE_ORG}", text)
        lab.whois.add_answer("example.net", text)
        store = work / "evidence.sqlite"
        cfg = lab.write_config(work / "osint.toml", store)
        env = lab_env(lab)
        env["SOURCE_DATE_EPOCH"] = "1700000000"
        enriched = osint(["--config", str(cfg), "enrich", "--case", str(CASE)], env, work)
        assert enriched.returncode in (0, 1), enriched.stderr
        yield {"work": work, "cfg": cfg, "env": env, "store": store}
    finally:
        stop_lab(lab)


@pytest.fixture(scope="module")
def reports(lab_run):
    out = {}
    for lang in ("en", "zh"):
        path = lab_run["work"] / f"lab.{lang}.html"
        done = osint(["--config", str(lab_run["cfg"]), "report", "--case", str(CASE), "--lang", lang,
                      "--out", str(path)], lab_run["env"], lab_run["work"])
        assert done.returncode == 0, done.stderr
        assert str(path) in done.stdout
        out[lang] = path
    return out


def _doc(path: Path):
    return lxml_html.fromstring(path.read_bytes())


def _payload(doc) -> dict:
    return json.loads(doc.get_element_by_id("osint-data").text)


def test_report_has_every_section_in_both_languages(reports, lab_run):
    claims = json.loads(osint(["--config", str(lab_run["cfg"]), "attribute", "--case", str(CASE), "--format", "json"],
                              lab_run["env"], lab_run["work"]).stdout)["claims"]
    docs = {lang: _doc(p) for lang, p in reports.items()}
    for lang, doc in docs.items():
        assert doc.get("lang") == ("zh-CN" if lang == "zh" else "en")
        for section in ("summary", "claims", "leads", "infrastructure", "timeline", "graph", "appendix"):
            assert doc.get_element_by_id(section) is not None, (lang, section)
        # Every claim of `osint attribute`, with its status, in the same order.
        rows = doc.cssselect("tr.claim-row")
        assert [r.get("data-status") for r in rows] == [c["status"] for c in claims]
        # Infrastructure: the complaint's IPs with what the lab's ASN and Shodan said about them.
        ip_rows = {r.cssselect("td")[0].text_content().split()[0]: r.text_content() for r in doc.cssselect("table.ips tr")[1:]}
        assert "AS64500" in ip_rows["100.64.1.10"] and "443" in ip_rows["100.64.1.10"]
        assert "Example Hosting Ltd" in ip_rows["100.64.1.10"]
        domains = doc.cssselect("table.domains")[0].text_content()
        assert "Example Registrar, Inc." in domains and "2020-09-28" in domains
        # The timeline holds the incident and registry, WHOIS, passive DNS, certificate and web-archive dates.
        kinds = {g.get("class").split()[1] for g in doc.cssselect("svg.timeline g.tl-row")}
        assert kinds == {"tl-incident", "tl-company", "tl-domain", "tl-pdns", "tl-certificate", "tl-capture"}
        assert doc.cssselect("svg.timeline line.incident")
    en, zh = (docs[k].cssselect("main")[0].text_content() for k in ("en", "zh"))  # the visible text
    assert "已佐证" in zh and "证据附录" in zh and "corroborated" in en
    # Chinese names keep their characters in both; the English report adds pinyin.
    assert "深圳实验蚁信息技术有限公司 (Shenzhen Shiyanyi Xinxi Jishu Youxian Gongsi)" in en
    assert "深圳实验蚁信息技术有限公司" in zh and "Shenzhen Shiyanyi Xinxi" not in zh


def test_evidence_appendix_matches_the_store_byte_for_byte(reports, lab_run):
    doc = _doc(reports["en"])
    rows = doc.cssselect("table.evidence tr")[1:]
    with sqlite3.connect(lab_run["store"]) as db:
        stored = {f"ev{i}": (src, sha) for i, src, sha in db.execute("SELECT id, source, sha256 FROM observations")}
    assert len(rows) > 20
    for row in rows:
        cells = [c.text_content().strip() for c in row.cssselect("td")]
        assert row.get("id") == f"ev-{cells[0][2:]}"
        assert (cells[1], cells[5]) == stored[cells[0]]
    # Every evidence link in the report points at a row of the appendix.
    anchors = {row.get("id") for row in rows}
    links = {a.get("href")[1:] for a in doc.cssselect("a.ev-link")}
    assert links and links <= anchors


def test_hostile_whois_text_is_escaped(reports):
    for path in reports.values():
        text = path.read_text(encoding="utf-8")
        assert "<script>window.__pwned" not in text and "<img src=x" not in text
        doc = _doc(path)
        assert len(doc.cssselect("script")) == 3  # the data, the graph library, our script: nothing else
        assert not doc.cssselect("img")
        assert HOSTILE_ORG in doc.text_content()  # shown, as text
        assert any(n["data"]["label"] == HOSTILE_ORG for n in _payload(doc)["graph"]["nodes"])


def test_report_is_self_contained(reports):
    for path in reports.values():
        doc = _doc(path)
        csp = doc.cssselect('meta[http-equiv="Content-Security-Policy"]')[0].get("content")
        assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert not doc.cssselect("link, iframe, object, embed, [src]")
        external = [a.get("href") for a in doc.cssselect("[href]") if not a.get("href").startswith("#")]
        assert external == []


def test_report_is_reproducible(lab_run, reports, tmp_path):
    again = tmp_path / "again.en.html"
    done = osint(["--config", str(lab_run["cfg"]), "report", "--case", str(CASE), "--lang", "en", "--out", str(again)],
                 lab_run["env"], lab_run["work"])
    assert done.returncode == 0, done.stderr
    assert again.read_bytes() == reports["en"].read_bytes()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_in_headless_chromium(reports, lang):
    from playwright.sync_api import sync_playwright

    path = reports[lang]
    url = path.resolve().as_uri()
    payload = _payload(_doc(path))
    console, requests, errors = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.wait_for_function("window.osintReport && window.osintReport.cy.nodes().length > 0", timeout=20000)
            assert page.evaluate("window.osintReport.cy.nodes().length") == len(payload["graph"]["nodes"])
            assert page.evaluate("window.osintReport.cy.edges().length") == len(payload["graph"]["edges"])
            # The hostile WHOIS text did not run.
            assert page.evaluate("typeof window.__pwned") == "undefined"
            # The graph view draws: its canvas is not blank.
            cy = page.locator("#cy")
            cy.scroll_into_view_if_needed()
            # cytoscape caches where its canvas is on the page; resize() makes it measure again after the scroll.
            page.evaluate("window.osintReport.cy.resize()")
            shot = cy.screenshot()
            assert len(set(shot[i] for i in range(200, len(shot), 97))) > 20
            # A real click on a node shows its attributes and the evidence behind its edges.
            target = "ip:100.64.1.10"
            x, y = page.evaluate("""(id) => {
                const cy = window.osintReport.cy; const n = cy.getElementById(id);
                cy.zoom(2); cy.center(n);
                const r = n.renderedPosition(); const box = cy.container().getBoundingClientRect();
                return [box.left + r.x, box.top + r.y]; }""", target)
            page.mouse.click(x, y)
            panel = page.locator("#node-info")
            panel.locator("h3").wait_for(timeout=5000)
            assert panel.locator("h3").inner_text() == "100.64.1.10"
            assert "AS64500" in panel.inner_text()
            first = panel.locator("a.ev-link").first
            ev = int(first.inner_text()[2:])
            sha = next(e["sha256"] for e in payload["evidence"] if e["id"] == ev)
            assert sha[:12] in panel.inner_text()
            first.click()
            assert page.evaluate("location.hash") == f"#ev-{ev}"
            assert sha in page.locator(f"#ev-{ev}").inner_text()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / f"report.{lang}.png"))
            cy.scroll_into_view_if_needed()
            page.locator("#graph").screenshot(path=str(ARTIFACTS / f"report-graph.{lang}.png"))
        finally:
            browser.close()
    assert errors == []
    assert not [m for m in console if m.startswith(("error", "warning"))], console
    assert requests == [url], "the report asked for something other than itself"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_export_draws_chinese_labels(lab_run, tmp_path, caplog):
    out = tmp_path / "lab.png"
    done = osint(["--config", str(lab_run["cfg"]), "graph", "--case", str(CASE), "--export", "png", "--out", str(out)],
                 lab_run["env"], lab_run["work"])
    assert done.returncode == 0, done.stderr
    assert "no CJK font" not in done.stderr, "the set-up must install a CJK font (fonts-noto-cjk)"
    data = out.read_bytes()
    width, height = _png_size(data)
    assert 1000 <= width <= 10000 and 700 <= height <= 10000
    assert 50_000 < len(data) < 20_000_000
    # In-process, on the case alone: every Chinese glyph found (matplotlib warns of each missing one).
    from osint.case import load_case
    from osint.export.png import cjk_font, export_png
    from osint.graph import build_graph

    assert cjk_font() is not None
    graph = build_graph(load_case(CASE), None)
    assert any("\u4e00" <= ch <= "\u9fff" for _, d in graph.nodes(data=True) for ch in str(d.get("label")))
    with caplog.at_level("WARNING", logger="osint.export.png"):
        export_png(graph, tmp_path / "case.png")
    assert not [r for r in caplog.records if "drawn as boxes" in r.getMessage()]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "case.png", ARTIFACTS / "lab-case.png")


def test_missing_graph_library_is_one_clear_error(monkeypatch, tmp_path):
    from osint.report import assets

    monkeypatch.setattr(assets, "_candidates", lambda: [tmp_path / "node_modules"])
    with pytest.raises(assets.AssetError, match=r"npm ci"):
        assets.graph_library()


def test_unknown_language_is_refused(lab_run):
    done = osint(["--config", str(lab_run["cfg"]), "report", "--case", str(CASE), "--lang", "fr"],
                 lab_run["env"], lab_run["work"])
    assert done.returncode == 2 and "fr" in done.stderr


def test_both_languages_have_every_word():
    from osint.graph.style import KINDS
    from osint.report.i18n import KINDS_ZH, RELATIONS_ZH, TEXT

    assert set(TEXT["en"]) == set(TEXT["zh"])
    assert all(TEXT["zh"][k] for k in TEXT["zh"])
    assert set(KINDS) <= set(KINDS_ZH)
    relations = set(re.findall(r"`([a-z_]+)`", (REPO / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
                               .split("## Relations")[1].split("## Parsed JSON")[0]))
    attrs = {"kind", "rrtype", "first_seen", "last_seen"}  # edge attributes the section also names
    assert relations - attrs <= set(RELATIONS_ZH), relations - attrs - set(RELATIONS_ZH)


def test_script_data_cannot_close_its_script_element():
    from osint.report.render import script_json

    hostile = {"label": "</script><script>alert(1)</script>\u2028&amp;"}
    text = str(script_json(hostile))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == hostile


def test_case_only_report_needs_no_store(tmp_path, guarded_env):
    out = tmp_path / "seeds.zh.html"
    done = osint(["report", "--case", str(REPO / "data" / "seeds.yaml"), "--case-only", "--out", str(out)],
                 guarded_env, tmp_path)
    assert done.returncode == 0, done.stderr
    doc = _doc(out)
    rows = doc.cssselect("tr.claim-row")
    assert rows and {r.get("data-status") for r in rows} == {"uncorroborated"}  # the case file never corroborates itself
    assert "165.154.60.7" in doc.cssselect("table.ips")[0].text_content()
    assert not doc.cssselect("table.evidence")  # no store, no appendix rows
    assert "未读取证据存储" in doc.cssselect("main")[0].text_content()


def test_the_chinese_report_has_no_english_sentence_outside_names_and_identifiers(reports):
    """Every sentence the tool writes (attribution reasons, notes, standings, hop notes) is Chinese in the
    zh report; what stays Latin is data: node names, identifiers, commands, source names, table cells
    copied from registries."""
    from osint.sources import registered_sources

    doc = _doc(reports["zh"])
    main = doc.cssselect("main")[0]
    data = set()
    # The hand-off drafts quote the case file and the holders' names (data) inside Chinese sentences.
    for selector in ("script", "style", "code", ".node", ".data", "table.ips", "table.domains", "table.evidence", "svg",
                     "section#requests pre.draft", "section#requests table"):
        for el in main.cssselect(selector):
            data.update(el.iter())
    sources = set(registered_sources()) | {"case", "uscc"}
    sentence = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,]+[A-Za-z][A-Za-z'’-]*){2,}")
    found = []
    for el in main.iter():
        texts = [] if el in data else [el.text]
        if el.getparent() is not None and el.getparent() not in data:
            texts.append(el.tail)
        for text in filter(None, texts):
            for m in sentence.finditer(text):
                if not set(re.split(r"[ ,]+", m.group(0))) <= sources:
                    found.append(m.group(0))
    assert found == []
    # The claims' reasons are there, in Chinese.
    assert "证据路径直达" in main.text_content()


def test_attribute_and_explain_agree_on_every_claim_of_the_lab_case(lab_run):
    """One path finder: `osint explain` between a claim's two ends finds an evidence path exactly when
    `osint attribute` calls the claim corroborated, and --via-claims shows the claim it rests on."""
    from osint.case import load_case
    from osint.graph import build_graph
    from osint.graph.attribute import claim_ends, explain
    from osint.store import open_store

    claims = json.loads(osint(["--config", str(lab_run["cfg"]), "attribute", "--case", str(CASE), "--format", "json"],
                              lab_run["env"], lab_run["work"]).stdout)["claims"]
    case = load_case(CASE)
    store = open_store(str(lab_run["store"]), create=False)
    try:
        graph = build_graph(case, store)
    finally:
        store.close()
    statuses = set()
    for c in claims:
        statuses.add(c["status"])
        start, end = claim_ends(graph, c["subject"], c["object"])
        evidence = [p for p in explain(graph, start, end, k=5) if p.sources]
        assert bool(evidence) == (c["status"] == "corroborated"), c["subject"]
        bridged = explain(graph, start, end, k=5, via_claims=True)
        if c["status"] in ("supported_via_claim", "linked_to_each_other"):
            assert bridged and bridged[0].hops[-1].claim
            rests = {(r["subject"], r["relation"], r["object"]) for r in c["rests_on"]}
            last = bridged[0].hops[-1]
            assert ((last.frm, last.relation, last.to) in rests) or ((last.to, last.relation, last.frm) in rests)
    assert "corroborated" in statuses and len(statuses) >= 2
    # The CLI says the same for one claim of each kind it found.
    for c in claims:
        start, end = claim_ends(graph, c["subject"], c["object"])
        done = osint(["--config", str(lab_run["cfg"]), "explain", start, end, "--case", str(CASE)],
                     lab_run["env"], lab_run["work"])
        assert c["status"].replace("_", " ") in done.stdout
        assert done.returncode == (0 if c["status"] == "corroborated" else 1), done.stdout
        break
