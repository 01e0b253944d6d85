"""Shared fixtures for the graph, attribution and export tests: the real case file, a small fake case,
and an evidence store filled with answers shaped like the real sources' parses (docs/CONTRACTS.md)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from osint.store import EvidenceStore, NewObservation
from osint.store.evidence import Outcome

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "data" / "seeds.yaml"
INCIDENT = datetime(2023, 3, 21, 1, 0, tzinfo=timezone(timedelta(hours=8)))

HOSTILE = ("=HYPERLINK(\"http://evil\")\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\ufffe\uffff"
           "<b>&amp;</b> \"quoted\" 'single' \u202eevil\u202c \U0001F4A3 \ud800 tab\there\r\nnew line")


def load_seeds() -> Any:
    from osint.case import load_case

    return load_case(SEEDS)


def ind(kind: str, value: str, **extra: Any) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, value=value, original=extra.pop("original", value),
                           display=extra.pop("display", value), source=extra.pop("source", "§1"),
                           standing=extra.pop("standing", "stated by the victim"), label=None, note=None,
                           node_id=f"{kind}:{value}", **extra)


def fake_case(label: str = "AntBot", *, servers: tuple[str, ...] = ("192.0.2.10",)) -> SimpleNamespace:
    """A case object with the loader's shape (osint.case.Case), free of its validation, so hostile
    text can reach the graph the way a hostile source answer could."""
    website = ind("domain", "example-bot.test")
    email = ind("email", "ops@example-bot.test")
    ips = [ind("ip", ip, standing="alleged by the victim") for ip in servers]
    incident = SimpleNamespace(id="fake-case", time=INCIDENT, period=None, kind="API-key theft",
                               exchange="Binance", victim=None, assets=["BTC"], losses=[], report_type=None,
                               description=label, source="§1", standing="alleged by the victim")
    brand = SimpleNamespace(id="bot", name=label, name_zh="小红蚁", aliases=[], name_pinyin=None, description=label,
                            founded=2020, location=None, websites=[website], emails=[email], accounts=[],
                            broker=None, notes=None, source="§6", standing="stated by the victim")
    decoded = SimpleNamespace(division_code="440300", division_name="深圳市", province_name="广东省")
    company = SimpleNamespace(uscc="91440300MA5GDKFU7E", name="深圳小红蚁信息技术有限公司",
                              name_pinyin="Shenzhen Xiaohongyi Xinxi Jishu Youxian Gongsi",
                              legal_representative="任俊飞", legal_representative_original="任俊⻜",
                              legal_representative_pinyin="Ren Junfei", address=f"深圳市龙华区 {label}",
                              status="active", status_as_written="存续", founded=date(2020, 9, 25),
                              deregistered=None, abnormal_operations=True, notes=None, decoded=decoded,
                              source="§2", standing="from the public company registry")
    claims = [SimpleNamespace(subject=i.node_id, relation="alleged_server_of", object="brand:bot", source="§5",
                              standing="alleged by the victim", text=f"{label} server", quote=label)
              for i in ips]
    claims += [
        SimpleNamespace(subject=website.node_id, relation="website_of", object="brand:bot", source="§6",
                        standing="stated by the victim", text="website", quote=None),
        SimpleNamespace(subject="brand:bot", relation="uses_email", object=email.node_id, source="§6",
                        standing="stated by the victim", text="email", quote=None),
        SimpleNamespace(subject="company:91440300MA5GDKFU7E", relation="suspected_operator_of",
                        object="brand:bot", source="§2", standing="suspected", text="operator", quote=None),
    ]
    return SimpleNamespace(id="fake-case", title=f"Fake case {label}", incidents=[incident], incident=incident,
                           brands=[brand], companies=[company], claims=claims, seed_urls=[], references=[],
                           indicators=lambda: [website, email, *ips])


class StoreWriter:
    """Records answers and their parses the way the engine does (raw bytes first, then the parse)."""

    def __init__(self, path: Path):
        self.store = EvidenceStore(str(path))
        self.n = 0

    def answer(self, source: str, key: str, parsed: dict[str, Any] | None, *, at: str,
               outcome: Outcome = Outcome.ANSWERED, subject: str | None = None) -> int:
        self.n += 1
        oid = self.store.record(NewObservation(
            run_id="run1", source=source, query_key=key, subject=subject or key, request={"q": key}, endpoint="lab",
            outcome=outcome, raw=f"raw answer {self.n}".encode(), duration_ms=1.0, tool_version="test",
            observed_at=at,
        ))
        if parsed is not None:
            self.store.record_parse(oid, f"{source}@1", {"facts": [], "nodes": {}, "leads": [], "followups": [],
                                                         **parsed})
        return oid


def fact(s: str, r: str, o: str, first: str | None = None, last: str | None = None, **attrs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"s": s, "r": r, "o": o}
    if attrs:
        out["a"] = attrs
    if first:
        out["first"] = first
    if last:
        out["last"] = last
    return out


def antbot_store(path: Path) -> tuple[EvidenceStore, dict[str, int]]:
    """Evidence about the AntBot case (data/seeds.yaml): what a run of every source could find."""
    w = StoreWriter(path)
    ids: dict[str, int] = {}
    # An older answer to the same passive DNS question: superseded, its fact must not appear.
    ids["pdns_old"] = w.answer("pdns", "rrset:antrade.io", {"facts": [
        fact("domain:antrade.io", "resolves_to", "ip:198.51.100.99", "2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z")]},
        at="2024-01-01T00:00:00Z")
    ids["pdns"] = w.answer("pdns", "rrset:antrade.io", {"facts": [
        fact("domain:antrade.io", "resolves_to", "ip:101.36.108.79", "2022-11-01T00:00:00Z", "2023-05-01T12:00:00Z",
             rrtype="A", count=42, provider="lab")]}, at="2024-02-01T00:00:00Z")
    ids["dns_a"] = w.answer("dns", "A:antrade.io", {"facts": [
        fact("domain:antrade.io", "resolves_to", "ip:101.36.108.79", rrtype="A")]}, at="2024-03-01T00:00:00Z")
    ids["dns_cname"] = w.answer("dns", "CNAME:www.antrade.io", {"facts": [
        fact("domain:www.antrade.io", "resolves_to", "domain:antrade.io", rrtype="CNAME")]}, at="2024-03-01T00:00:01Z")
    ids["whois"] = w.answer("whois", "domain:antrade.io", {
        "facts": [fact("domain:antrade.io", "registered_with", "registrar:Lab Registrar"),
                  fact("domain:antrade.io", "registrant", "org:Shenzhen Xiaohongyi Information Technology Co., Ltd."),
                  fact("org:Shenzhen Xiaohongyi Information Technology Co., Ltd.", "located_in", "region:CN",
                       source="whois registrant country"),
                  fact("domain:antrade.io", "uses_email", "email:admin@antrade.io", role="registrant"),
                  fact("domain:antbot-ai.org", "registered_with", "registrar:Lab Registrar")],
        "nodes": {"domain:antrade.io": {"created": "2020-08-01", "redacted": ["phone", "street"]},
                  "registrar:Lab Registrar": {"iana_id": "9999"}}}, at="2024-03-02T00:00:00Z")
    ids["cnregistry"] = w.answer("cnregistry", "similar:Shenzhen Xiaohongyi", {"facts": [
        fact("org:Shenzhen Xiaohongyi Information Technology Co., Ltd.", "similar_name", "company:91440300MA5GDKFU7E",
             score=0.92, method="pinyin")]}, at="2024-03-03T00:00:00Z")
    # Two alleged servers share an SSH host key; one of them serves a certificate for api.antrade.io.
    for ip, key in (("165.154.60.7", "shodan_a"), ("165.154.60.119", "shodan_b")):
        facts = [fact(f"ip:{ip}", "has_service", f"service:{ip}:22/tcp", last="2024-03-04T00:00:00Z"),
                 fact(f"service:{ip}:22/tcp", "serves_ssh_key", "sshkey:SHA256:labkey", last="2024-03-04T00:00:00Z"),
                 fact(f"ip:{ip}", "announced_by", "asn:AS135377", last="2024-03-04T00:00:00Z"),
                 fact(f"ip:{ip}", "operated_by", "org:UCloud", last="2024-03-04T00:00:00Z", source_field="isp"),
                 fact(f"ip:{ip}", "located_in", "region:HK", last="2024-03-04T00:00:00Z")]
        if ip == "165.154.60.119":
            facts += [fact(f"ip:{ip}", "has_service", f"service:{ip}:443/tcp", last="2024-03-04T00:00:00Z"),
                      fact(f"service:{ip}:443/tcp", "serves_certificate", "certificate:" + "ab" * 32),
                      fact("certificate:" + "ab" * 32, "certificate_names", "domain:api.antrade.io",
                           "2023-01-01T00:00:00Z", "2023-12-31T23:59:59Z")]
        ids[key] = w.answer("shodan", f"host:{ip}", {"facts": facts, "nodes": {
            f"service:{ip}:22/tcp": {"port": 22, "transport": "tcp", "product": "OpenSSH"},
            "sshkey:SHA256:labkey": {"key_type": "ssh-ed25519"}}}, at="2024-03-04T00:00:00Z")
    # The same ASN holds two other alleged servers: a shared provider is no corroboration.
    ids["asn"] = w.answer("asn", "origin:101.36.117.216", {"facts": [
        fact("ip:101.36.117.216", "announced_by", "asn:AS135377"),
        fact("ip:101.36.108.79", "announced_by", "asn:AS135377")]}, at="2024-03-05T00:00:00Z")
    # Reverse DNS of another alleged server named someone else's host at the time of the incident.
    ids["pdns_ptr"] = w.answer("pdns", "ptr:122.10.161.141", {"facts": [
        fact("ip:122.10.161.141", "ptr", "domain:mail.other-operator.example", "2023-01-01T00:00:00Z",
             "2023-06-30T00:00:00Z", rrtype="PTR", provider="lab")]}, at="2024-03-06T00:00:00Z")
    # A web page on a listed website mentions a crypto address and the listed e-mail.
    ids["web"] = w.answer("web", "GET https://www.antbot-ai.org/", {"facts": [
        fact("url:https://www.antbot-ai.org/", "hosted_on", "domain:www.antbot-ai.org"),
        fact("url:https://www.antbot-ai.org/", "mentions", "email:business@antrade.io", count=1,
             context="contact business@antrade.io"),
        fact("url:https://www.antbot-ai.org/", "mentions", "crypto_address:TXyzLabLabLabLabLabLabLabLabLabLab",
             context="deposit to TXyz…")],
        "nodes": {"url:https://www.antbot-ai.org/": {"title": "AntBot", "http_status": 200}}},
        at="2024-03-07T00:00:00Z")
    ids["unparsed"] = w.answer("dns", "MX:antrade.io", None, at="2024-03-08T00:00:00Z")
    ids["timeout"] = w.answer("whois", "domain:antbot-ai.org", None, at="2024-03-08T00:00:01Z",
                              outcome=Outcome.TIMEOUT)
    return w.store, ids


def hostile_store(path: Path) -> EvidenceStore:
    """Answers full of what hostile WHOIS and web text can carry (a store cannot hold lone surrogates)."""
    text = HOSTILE.replace("\ud800", "")
    w = StoreWriter(path)
    w.answer("whois", "domain:example-bot.test", {"facts": [
        fact("domain:example-bot.test", "registrant", f"org:{text}"),
        fact("domain:example-bot.test", "registrant", "org:Acme\x00"),
        fact("domain:example-bot.test", "registrant", "org:Acme"),
        fact(f"org:{text}", "located_in", "region:CN", source=text),
        fact("ip:192.0.2.10", "ptr", "domain:example-bot.test", "2023-01-01", "2023-12-31",
             count=3, ratio=float("nan"), big=2**40, nested=[1, "a", None, [2, text]], mapping={"k": text},
             empty="", nothing=None, flag=True),
        fact("url:https://example-bot.test/", "mentions", "email:ops@example-bot.test", "2024-02-01", "2023-01-01",
             context=text, count="three")],
        "nodes": {f"org:{text}": {"label": text * 3, "vulns": [text, "CVE-2024-0001"], "empty": "", "none": None,
                                  "score": 1e308, "neg": -5, "inf": float("inf")},
                  "domain:example-bot.test": {"title": "=cmd|' /C calc'!A0", "redacted": ["name", "street"]}}},
        at="2024-01-01T00:00:00Z")
    return w.store


@pytest.fixture
def hostile_graph(tmp_path: Path) -> Any:
    """A graph built from a hostile case (10 kB labels, controls, RTL marks, emoji, a lone
    surrogate) and hostile answers."""
    from osint.graph import build_graph

    store = hostile_store(tmp_path / "hostile.sqlite")
    graph = build_graph(fake_case(HOSTILE + "x" * 10_000), store)
    store.close()
    return graph


@pytest.fixture
def seeds_case() -> Any:
    if not SEEDS.exists():
        pytest.skip("data/seeds.yaml is not there")
    return load_seeds()


@pytest.fixture
def antbot(tmp_path: Path, seeds_case: Any) -> tuple[Any, EvidenceStore, dict[str, int]]:
    store, ids = antbot_store(tmp_path / "evidence.sqlite")
    yield seeds_case, store, ids
    store.close()


def test_the_synthetic_store_answers_like_the_engine(tmp_path: Path) -> None:
    store, ids = antbot_store(tmp_path / "e.sqlite")
    newest = {o.id for o in store.newest_per_query()}
    assert ids["pdns"] in newest and ids["pdns_old"] not in newest
    assert store.latest_parse(ids["unparsed"]) is None
    store.close()
