"""The offline Chinese registry source: facts derived from the lab case, each with stored evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osint.case import load_case
from osint.transport.pipeline import ask_once
from osint.sources.cnregistry import CNRegistrySource, name_similarity, name_stem
from osint.store import EvidenceStore, Outcome
from source_helpers import edges, make_source

CASE = Path(__file__).resolve().parent / "data" / "case.yaml"
NETWORK = "company:91440300MA5LAB018T"  # 深圳实验蚁网络科技有限公司
INFO = "company:91440300MA5LAB026M"  # 深圳实验蚁信息技术有限公司


@pytest.fixture(scope="module")
def case():
    return load_case(CASE)


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def ask(src, node, store=None):
    (q,) = src.queries(node, 0)
    return ask_once(src, q, store)


def test_a_case_company_gets_district_address_and_representative(case, store):
    src = make_source(CNRegistrySource, {}, case=case)
    fetched, parsed, oid = ask(src, NETWORK, store)
    assert fetched.outcome is Outcome.ANSWERED
    evidence = json.loads(store.get(oid).raw)  # what was derived is stored like any answer
    assert evidence["uscc"]["division_code"] == "440300" and evidence["name_stem"] == "实验蚁"
    assert edges(parsed, "in_district") == {(NETWORK, "region:440300"), ("address:深圳市南山区测试路1号", "region:440305")}
    assert parsed.nodes["region:440300"] == {"name": "深圳市", "city": "深圳市", "province": "广东省"}
    assert parsed.nodes["region:440305"]["name"] == "南山区"
    assert edges(parsed, "registered_at") == {(NETWORK, "address:深圳市南山区测试路1号")}
    assert edges(parsed, "legal_representative_of") == {("person:张三", NETWORK)}
    assert parsed.nodes["person:张三"]["pinyin"] == "Zhang San"
    assert parsed.nodes[NETWORK]["pinyin"] == "Shenzhen Shiyanyi Wangluo Keji Youxian Gongsi"
    assert edges(parsed, "shares_district") == {(NETWORK, INFO)}
    (stem,) = [f for f in parsed.facts if f.relation == "shares_name_stem"]
    assert (stem.subject, stem.object, stem.attrs) == (NETWORK, INFO, {"stem": "实验蚁"})


def test_pair_facts_are_the_same_whichever_company_is_asked(case):
    src = make_source(CNRegistrySource, {}, case=case)
    _, a, _ = ask(src, NETWORK)
    _, b, _ = ask(src, INFO)
    pairs = {"shares_district", "shares_name_stem"}
    assert {(f.subject, f.relation, f.object) for f in a.facts if f.relation in pairs} == \
        {(f.subject, f.relation, f.object) for f in b.facts if f.relation in pairs}


def test_a_company_named_on_a_web_page_meets_its_case_namesake(case):
    src = make_source(CNRegistrySource, {}, case=case)
    _, parsed, _ = ask(src, "company:深圳实验蚁信息技术有限公司")
    same = {(f.subject, f.object): f.attrs for f in parsed.facts if f.relation == "shares_name_stem"}
    assert same[(INFO, "company:深圳实验蚁信息技术有限公司")] == {"stem": "实验蚁", "same_name": True}
    assert (NETWORK, "company:深圳实验蚁信息技术有限公司") in same


def test_an_english_registrant_name_is_matched_by_pinyin(case, store):
    src = make_source(CNRegistrySource, {}, case=case)
    org = "org:Shenzhen Shiyanyi Network Technology Co., Ltd."
    fetched, parsed, oid = ask(src, org, store)
    scores = {f.object: f.attrs for f in parsed.facts if f.relation == "similar_name"}
    assert scores[NETWORK]["score"] == 1.0 and scores[NETWORK]["method"] == "pinyin"
    assert 0.8 <= scores[INFO]["score"] < 1.0  # same trade name, other business line
    assert {c["node"] for c in json.loads(store.get(oid).raw)["candidates"]} == {NETWORK, INFO}
    _, parsed, _ = ask(src, "org:Example Hosting Ltd")
    assert parsed.facts == []


def test_a_changed_case_is_a_new_question(case):
    (before,) = make_source(CNRegistrySource, {}, case=case).queries(NETWORK, 0)
    fixed = case.companies[0].model_copy(update={"legal_representative": "王五"})
    changed = case.model_copy(update={"companies": [fixed, *case.companies[1:]]})
    (after,) = make_source(CNRegistrySource, {}, case=changed).queries(NETWORK, 0)
    assert before.key != after.key and before.key.startswith(f"company {NETWORK[8:]} case:")


def test_nothing_without_a_case():
    src = make_source(CNRegistrySource, {}, case=None)
    assert src.queries(NETWORK, 0) == [] and src.queries("org:Anything Ltd", 0) == []


def test_an_unreadable_company_id_is_a_bad_answer(case):
    src = make_source(CNRegistrySource, {}, case=case)
    fetched, parsed, _ = ask(src, "company:91440300MA5LAB0XXX")
    assert fetched.outcome is Outcome.BAD_ANSWER and parsed is None


@pytest.mark.parametrize("chinese,low,high", [
    ("深圳小红蚁网络科技有限公司", 0.9, 1.0),
    ("深圳小红蚁信息技术有限公司", 0.8, 0.95),  # lower, still above the 0.8 threshold
    ("深圳实验蚁网络科技有限公司", 0.0, 0.8),
    ("北京金山云网络技术有限公司", 0.0, 0.5),
    ("深圳市腾讯计算机系统有限公司", 0.0, 0.5),
])
def test_name_similarity(chinese, low, high):
    score = name_similarity("Shenzhen Xiaohongyi Network Technology Co., Ltd.", chinese)
    assert low <= score <= high, score


def test_name_similarity_accepts_pinyin_spacing_and_romanized_business_lines():
    zh = "深圳小红蚁网络科技有限公司"
    assert name_similarity("SHENZHEN XIAOHONGYI WANGLUO KEJI YOUXIAN GONGSI", zh) == 1.0
    assert name_similarity("Shenzhen Xiao Hong Yi Network Technology Limited", zh) == 1.0
    assert name_similarity("深圳市小红蚁网络科技有限公司", zh) == 1.0
    assert name_similarity("Tencent Holdings Ltd", zh) < 0.2


def test_name_stem():
    assert name_stem("深圳小红蚁网络科技有限公司") == name_stem("深圳市小红蚁信息技术有限公司") == "小红蚁"
    assert name_stem("深圳市小红蚁（香港）有限公司") == "小红蚁"
