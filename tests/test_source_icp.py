"""ICP filings: `osint import icp` (CSV and JSON exports), the lookup gateway, and the path a page's
footer number opens from a site to the case company."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lab.world import CASE
from lab.world import icp as icp_world
from lab.world import web as web_world

from osint.case import load_case
from osint.transport.pipeline import ask_once
from osint.graph import attribute
from osint.graph.build import build_graph
from osint.importers.icp import ImportFormatError, import_icp_file
from osint.sources.icp import ICPSource
from osint.sources.web import WebSource
from osint.store import EvidenceStore, Outcome
from source_helpers import clear_env_proxies, edges, facts, lab_with, make_source

REPO = Path(__file__).resolve().parents[1]
COMPANY = "company:91440300MA5LAB026M"  # 深圳实验蚁信息技术有限公司 in the lab case
FILER = "org:深圳实验蚁信息技术有限公司"
FILING = "icp_filing:粤ICP备00000000号"
HEADER = "主办单位名称,主办单位性质,网站备案号,网站名称,网站首页网址,审核日期\n"
GOOD_CSV = HEADER + ("深圳实验蚁信息技术有限公司,企业,粤ICP备00000000号-1,实验蚁,www.example.com,2021-03-15\n"
                     "王五,个人,京ICP备00000001号-1,王五的博客,blog.example.org,2019/7/1\n")


def store_leads(db, source):
    with EvidenceStore(str(db)) as s:
        return [lead for o in s.list(source=source) for lead in (s.latest_parse(o.id) or {}).get("leads", [])]


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def test_a_csv_export_is_stored_verbatim_and_dated(tmp_path, store):
    path = tmp_path / "icp.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    assert import_icp_file(path, store, "run-1") == (2, 1)
    (obs,) = store.list(source="icp")
    assert store.get(obs.id).raw == path.read_bytes() and obs.endpoint == "file:icp.csv"
    parsed = store.latest_parse(obs.id)
    by = {(f["s"], f["r"], f["o"]): f for f in parsed["facts"]}
    filed = by[(FILING, "icp_filed_by", FILER)]
    assert filed["first"] == "2021-03-15" and filed["a"]["nature"] == "企业"
    covers = by[(FILING, "icp_covers", "domain:www.example.com")]
    assert covers["first"] == "2021-03-15" and covers["a"]["licence"] == "粤ICP备00000000号-1"
    # A personal filing names a person, and the date written with slashes is read.
    assert by[("icp_filing:京ICP备00000001号", "icp_filed_by", "person:王五")]["first"] == "2019-07-01"
    assert FILER in parsed["leads"] and "domain:blog.example.org" in parsed["leads"]


def test_a_json_export_in_the_registers_shape(tmp_path, store):
    path = tmp_path / "icp.json"
    answer = {"code": 200, "params": {"list": icp_world.register(), "total": 2}}
    path.write_text(json.dumps(answer, ensure_ascii=False, indent=1), encoding="utf-8")
    assert import_icp_file(path, store, "run-1")[0] == 2
    parsed = store.latest_parse(store.list(source="icp")[0].id)
    assert {(f["s"], f["o"]) for f in parsed["facts"] if f["r"] == "icp_covers"} == {
        (FILING, "domain:example.com"), (FILING, "domain:labbot-cn.example")}


@pytest.mark.parametrize("name,text,where,what", [
    ("bad.csv", HEADER + "深圳实验蚁信息技术有限公司,企业,粤ICP备00000000号-1,实验蚁,www.example.com,2021-03-15\n"
                         "某公司,企业,not-a-filing,站,x.example.com,2021-01-01\n", 3, "not an ICP filing number"),
    ("bad.csv", HEADER + "某公司,企业,粤ICP备00000002号,站,x.example.com,last spring\n", 2, "not a date"),
    ("bad.csv", HEADER + "某公司,企业,粤ICP备00000002号,站\n", 2, "fields where the header has"),
    ("bad.csv", "name,licence\nx,y\n", 1, "header must name"),
    ("bad.json", '[\n {"主办单位名称": "某公司", "网站备案号": "粤ICP备00000002号"},\n {"主办单位名称": "",\n'
                 '  "网站备案号": "粤ICP备00000003号"}\n]\n', 3, "no 主办单位名称"),
    ("bad.json", '[\n {"主办单位名称": "某公司",\n  "网站备案号": }\n]\n', 3, "not JSON"),
])
def test_a_malformed_file_is_named_by_line_and_nothing_is_stored(tmp_path, store, name, text, where, what):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFormatError) as err:
        import_icp_file(path, store, "run-1", case=load_case(CASE))
    message = str(err.value)
    assert message.startswith(f"{path}:{where}: ") and what in message and "\n" not in message
    assert store.list() == []


def test_the_cli_exits_2_on_a_malformed_file_and_stores_nothing(tmp_path, guarded_env):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "某公司,企业,粤ICP备00000002号,站,x.example.com,2021-13-45\n", encoding="utf-8")
    db = tmp_path / "e.sqlite"
    done = subprocess.run([sys.executable, "-m", "osint", "--store", str(db), "import", "icp", str(bad),
                           "--case", str(CASE)], env=guarded_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"{bad}:2: " in done.stderr and "Traceback" not in done.stderr
    if db.exists():
        with EvidenceStore(str(db)) as s:
            assert s.list() == []


@pytest.fixture(scope="module")
def lab():
    with lab_with(web_world, icp_world) as lab:
        yield lab


@pytest.fixture
def proxied(lab, monkeypatch):
    clear_env_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", lab.proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield


def test_a_footer_number_and_an_imported_record_explain_the_site_to_the_company(lab, proxied, tmp_path, guarded_env):
    case = load_case(CASE)
    db = tmp_path / "evidence.sqlite"
    with EvidenceStore(str(db)) as store:
        web = make_source(WebSource, {})
        page = "url:http://www.example.com/guide/bind/"
        ask_once(web, web.queries(page, 0)[0], store)  # its footer: 粤ICP备00000000号-1
        path = tmp_path / "miit-export.csv"
        path.write_text(GOOD_CSV, encoding="utf-8")
        records, observations = import_icp_file(path, store, "import", case=case)
        assert (records, observations) == (2, 2)  # the file, and the name match of the one company filer
        g = build_graph(case, store)
    match = g.edges[FILER, COMPANY, "similar_name"]
    assert match["score"] == 1.0 and match["method"] == "pinyin"
    # The page also prints the company's credit code (a direct mention); the filing is a second, dated path.
    paths = {tuple((h.frm, h.relation, h.to) for h in p.hops): p for p in attribute.explain(g, page, COMPANY, k=12)}
    via_filing = ((page, "mentions", FILING), (FILING, "icp_filed_by", FILER), (FILER, "similar_name", COMPANY))
    assert via_filing in paths
    assert paths[via_filing].hops[1].first_seen == "2021-03-15"
    # The footer's number is also a lead: with a lookup gateway configured, the icp source asks about it.
    assert FILING in set(store_leads(db, "web"))
    # The command an investigator runs says the same, with the filing's date.
    conf = tmp_path / "osint.toml"
    conf.write_text(f'[store]\npath = "{db}"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "osint", "--config", str(conf), "explain", "domain:www.example.com",
                           COMPANY, "--case", str(CASE)], env=dict(guarded_env, COLUMNS="250"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "icp_covers" in done.stdout and "icp_filed_by" in done.stdout and "2021-03-15" in done.stdout
    assert "similar_name (score 1.0)" in done.stdout  # the filer's name against the case company's


def test_the_lookup_gateway_answers_by_domain_filing_and_company(lab):
    src = make_source(ICPSource, icp_world.settings(lab))
    assert src.ready() is None
    fetched, parsed, _ = ask_once(src, src.queries("domain:www.example.com", 0)[0])
    assert fetched.outcome is Outcome.ANSWERED
    assert edges(parsed, "icp_covers") == {(FILING, "domain:example.com")}  # asked for the registrable domain
    (filed,) = facts(parsed, "icp_filed_by")
    assert (filed.object, filed.first_seen, filed.attrs["via"]) == (FILER, "2021-03-15", "lookup")
    for node in (FILING, "company:深圳实验蚁信息技术有限公司"):
        fetched, parsed, _ = ask_once(src, src.queries(node, 0)[0])
        assert (FILING, FILER) in edges(parsed, "icp_filed_by"), node
        assert edges(parsed, "icp_covers") == {(FILING, "domain:example.com"), (FILING, "domain:labbot-cn.example")}
    fetched, parsed, _ = ask_once(src, src.queries("domain:unfiled.example", 0)[0])
    assert fetched.outcome is Outcome.NO_RECORD and parsed.facts == []


def test_without_an_endpoint_the_source_is_skipped_with_a_hint():
    src = make_source(ICPSource, {})
    assert "osint import icp" in src.ready() and src.queries("domain:example.com", 0) == []
