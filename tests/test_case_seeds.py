"""The case files shipped with osint load, and hold what their sources state."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from osint.case import Relation, Standing, load_case, summary

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "seeds.yaml"
THREE_COMMAS = ROOT / "data" / "cases" / "3commas-2022.yaml"
LAB = ROOT / "tests" / "data" / "case.yaml"

ANTBOT_IPS = [
    "101.36.108.79", "101.36.117.216", "165.154.41.100", "165.154.60.7",
    "101.36.127.124", "122.10.161.141", "165.154.60.119", "165.154.44.65",
]


@pytest.fixture(scope="module")
def seeds():
    return load_case(SEEDS)


def of_kind(case, kind):
    return [i for i in case.indicators() if i.kind == kind]


def test_seeds_hold_the_complaints_indicators(seeds):
    assert seeds.id == "antbot-binance-2023"
    assert [i.value for i in of_kind(seeds, "ip")] == ANTBOT_IPS
    assert sorted(i.value for i in of_kind(seeds, "domain")) == ["antbot-ai.org", "antrade.io", "www.antrade.io"]
    assert [i.value for i in of_kind(seeds, "email")] == ["business@antrade.io", "support@antbot-ai.org"]
    assert [i.original for i in of_kind(seeds, "email")] == ["business@antrade.io", "Support@antbot-ai.org"]
    assert len(of_kind(seeds, "account")) == 6
    assert [i.value for i in seeds.seed_urls] == [
        "http://www.antrade.io/",
        "https://www.antbot-ai.org/",
        "https://www.antrade.io/guide/docs/cn/binding_binance/",
    ]


def test_every_seed_item_says_where_it_comes_from(seeds):
    for item in seeds.indicators():
        assert item.source and item.standing, item
    for claim in seeds.claims:
        assert claim.source.startswith("complaint §"), claim
    for ref in seeds.references:
        assert ref.source.startswith("complaint §"), ref


def test_seed_accounts(seeds):
    accounts = {a.node_id: a for a in of_kind(seeds, "account")}
    assert set(accounts) == {
        "account:youtube:antradeio", "account:x:antrade_io", "account:telegram:antbot_official",
        "account:binance_square:65248232", "account:binance_square:58344027",
        "account:google_play:antbot",
    }
    youtube = accounts["account:youtube:antradeio"]
    assert youtube.original == "www.youtube.com/@antradeio"  # as the complaint writes it
    assert youtube.url == "https://www.youtube.com/@antradeio"
    assert accounts["account:x:antrade_io"].url == "https://twitter.com/antrade_io"
    play = accounts["account:google_play:antbot"]
    assert play.url is None and play.name == "AntBot"  # the complaint gives no link


def test_seed_email_keeps_its_spelling_and_meets_the_sites(seeds):
    support = next(i for i in of_kind(seeds, "email") if i.value.startswith("support"))
    assert support.original == "Support@antbot-ai.org"  # as the complaint writes it
    assert support.node_id == "email:support@antbot-ai.org"  # as a page writing support@ names it


def test_seed_companies_are_valid_and_in_shenzhen(seeds):
    first, second = seeds.companies
    assert first.uscc == "91440300MA5GAKDP7P" and first.legal_representative == "李根生"
    assert first.status == "deregistered" and first.deregistered == date(2020, 12, 16)
    assert second.uscc == "91440300MA5GDKFU7E"
    assert second.founded == date(2020, 9, 25) and second.status == "active"
    assert second.abnormal_operations is True
    assert second.legal_representative == "任俊飞"
    assert second.legal_representative_original == "任俊\u2edc"
    assert second.legal_representative_pinyin == "Ren Junfei"
    for company in seeds.companies:
        assert company.decoded.valid
        assert company.decoded.division_name == "深圳市"
        assert company.decoded.province_name == "广东省"
        assert company.address.startswith("深圳市龙华区")
        assert company.name_pinyin.startswith("Shenzhen Xiaohongyi ")


def test_seed_claims(seeds):
    by_relation = {}
    for claim in seeds.claims:
        by_relation.setdefault(claim.relation, []).append(claim)
    servers = by_relation[Relation.ALLEGED_SERVER_OF]
    assert [c.subject for c in servers] == [f"ip:{ip}" for ip in ANTBOT_IPS]
    assert all(c.object == "brand:antbot" and c.standing == Standing.ALLEGED for c in servers)
    operators = by_relation[Relation.SUSPECTED_OPERATOR_OF]
    assert [c.subject for c in operators] == ["company:91440300MA5GAKDP7P", "company:91440300MA5GDKFU7E"]
    assert all(c.standing == Standing.SUSPECTED for c in operators)
    assert len(by_relation[Relation.WEBSITE_OF]) == 3
    assert {(c.subject, c.object) for c in by_relation[Relation.USES_EMAIL]} == {
        ("brand:antbot", "email:business@antrade.io"), ("brand:antbot", "email:support@antbot-ai.org")}
    assert len(by_relation[Relation.ACCOUNT_OF]) == 6


def test_seed_incident(seeds):
    incident = seeds.incident
    assert incident.time == datetime(2023, 3, 21, 1, 0, tzinfo=timezone(timedelta(hours=8)))
    assert incident.exchange == "Binance" and incident.victim == "王天佑"
    assert incident.assets == ["BTC", "ETH", "BNB", "ADA", "DOGE", "MATIC", "SHIB", "DOT"]
    assert [(x.amount, x.currency) for x in incident.losses] == [
        (Decimal("1.5"), "BTC"), (Decimal("40856.89"), "USDT"), (Decimal("300000"), "CNY")]
    assert incident.report_type == "计算机破坏 主动入侵"
    assert incident.node_id == "incident:antbot-binance-2023"


def test_seed_brand_and_references(seeds):
    brand = seeds.brand("antbot")
    assert brand.name == "AntBot" and brand.founded == 2020
    assert brand.broker.exchange == "Binance" and brand.broker.fast_api is True
    assert brand.broker.standing == Standing.STATED
    urls = {r.url for r in seeds.references}
    assert "https://www.binance.com/zh-CN/support/law-enforcement" in urls
    assert "https://app.kodex.us/binance-cn/signup" in urls
    assert "https://github.com/guhhhhaa/antbot-binance-weiquan" in urls
    assert "https://github.com/guhhhhaa/antbot-binance-weiquan/archive/refs/heads/main.zip" in urls
    assert len(seeds.references) == 19


def test_seed_warnings_point_at_the_lookalike_characters(seeds):
    assert any("seeds.yaml:" in w and "companies[1].legal_representative" in w and "U+2EDC" in w
               for w in seeds.warnings)


def test_summary_counts(seeds):
    counts = {kind: count for kind, count, _ in summary(seeds)}
    assert counts["ip"] == 8 and counts["domain"] == 3 and counts["email"] == 2
    assert counts["account"] == 6 and counts["company"] == 2 and counts["incident"] == 1


def test_three_commas_case_loads():
    case = load_case(THREE_COMMAS)
    assert case.id == "3commas-2022"
    assert [b.name for b in case.brands] == ["3Commas", "Skyrex"]
    assert case.brand("3commas").founded == 2017
    assert [i.period for i in case.incidents] == ["2022-12", "2022-11"]
    assert case.companies == [] and case.servers == []
    # The article names no domain: the services' own sites are there as leads, never as its claims.
    assert [i.node_id for i in case.indicators()] == ["domain:3commas.io", "domain:skyrex.io",
                                                      "url:https://3commas.io/", "url:https://skyrex.io/"]
    assert {i.standing for i in case.indicators()} == {Standing.LEAD}
    assert all(c.standing == Standing.LEAD for c in case.claims)
    tweets = [r.url for r in case.references if "twitter.com" in r.url]
    assert len(tweets) == 4
    assert not any("3commas.io" in r.url for r in case.references)  # the article never names it


def test_lab_case_has_the_values_fixtures_rely_on():
    case = load_case(LAB)
    assert case.id == "lab-case" and case.warnings == []
    assert case.incident.exchange == "ExampleExchange"
    assert [i.value for i in case.servers] == [
        "192.0.2.10", "198.51.100.20", "203.0.113.30", "100.64.1.10", "100.64.1.11", "100.64.2.20"]
    brand = case.brand("labbot")
    assert (brand.name_zh, brand.name_pinyin) == ("实验蚁", "Shiyanyi")
    assert [d.value for d in brand.websites] == ["example.com", "www.example.com", "example.net"]
    assert [e.value for e in brand.emails] == ["business@example.com", "support@example.net"]
    assert [a.node_id for a in brand.accounts] == ["account:telegram:labbot_example", "account:x:labbot_example",
                                                    "account:google_play:com.example.labbot",
                                                    "account:youtube:labbot_example"]
    assert [c.legal_representative for c in case.companies] == ["张三", "李四"]
    assert all(c.decoded.valid and c.decoded.division_code == "440300" for c in case.companies)
    assert [u.value for u in case.seed_urls] == ["http://www.example.com/guide/bind/", "http://example.net/"]
