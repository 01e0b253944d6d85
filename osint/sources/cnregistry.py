"""Chinese company facts derived offline from the case: districts, addresses, representatives, name matches."""

from __future__ import annotations

import hashlib
import json
import re
from difflib import SequenceMatcher
from functools import cache
from importlib import resources
from typing import Any

from pypinyin import lazy_pinyin

from ..case.uscc import USCCError, decode_uscc
from ..textnorm import fold_cjk, person_pinyin, to_pinyin
from ..transport.base import Query
from ..vocabulary import address_id, person_id, region_id
from .base import Parsed, ParseError, Source

SIMILARITY_THRESHOLD = 0.8
# How much each part of a company name weighs when an English name is compared with a Chinese one:
# the trade name (字号) identifies a company; place and business line are shared by thousands.
WEIGHTS = {"stem": 0.7, "place": 0.15, "industry": 0.15}

FORMS = ("股份有限公司", "有限责任公司", "集团有限公司", "有限合伙", "有限公司", "分公司", "公司")
# Business lines (行业) and the English words registrants translate them into.
INDUSTRY: dict[str, tuple[str, ...]] = {
    "网络科技": ("network", "technology"), "信息技术": ("information", "technology"),
    "信息科技": ("information", "technology"), "电子商务": ("ecommerce",), "数字科技": ("digital", "technology"),
    "智能科技": ("intelligent", "technology"), "软件技术": ("software", "technology"),
    "供应链": ("supply", "chain"), "区块链": ("blockchain",), "计算机": ("computer",),
    "网络": ("network",), "科技": ("technology",), "信息": ("information",), "技术": ("technology",),
    "软件": ("software",), "数字": ("digital",), "智能": ("intelligent",), "电子": ("electronic",),
    "贸易": ("trading",), "商贸": ("trading",), "咨询": ("consulting",), "投资": ("investment",),
    "实业": ("industrial",), "发展": ("development",), "文化": ("culture",), "传媒": ("media",),
    "管理": ("management",), "服务": ("service",), "金融": ("financial",), "控股": ("holding",),
    "国际": ("international",), "物流": ("logistics",), "互联网": ("internet",),
}
_EN_SYNONYMS = {
    "technologies": "technology", "tech": "technology", "networks": "network", "networking": "network",
    "info": "information", "services": "service", "electronics": "electronic", "trade": "trading",
    "consultancy": "consulting", "holdings": "holding", "smart": "intelligent", "intelligence": "intelligent",
    "digit": "digital", "softwares": "software", "commerce": "ecommerce",
}
# Legal forms in English and in pinyin: they say nothing about which company it is.
_LEGAL_WORDS = {"co", "company", "ltd", "limited", "corp", "corporation", "inc", "incorporated", "llc", "plc",
                "the", "of", "and", "youxian", "gongsi", "zeren", "gufen", "jituan"}
_PLACE_ROMAN = {"香港": "hongkong", "澳门": "macau", "北京": "beijing"}
_HAN = re.compile(r"[\u3400-\u9fff]")


@cache
def _regions() -> dict[str, str]:
    text = resources.files("osint").joinpath("data/regions.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if k.isdigit()}


@cache
def _place_names() -> tuple[str, ...]:
    names = set(_PLACE_ROMAN)
    for name in _regions().values():
        names.add(name)
        for suffix in ("特别行政区", "自治区", "省", "市", "区", "县"):
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                names.add(name[: -len(suffix)])
    return tuple(sorted(names, key=len, reverse=True))


@cache
def _industry_by_pinyin() -> dict[str, tuple[str, ...]]:
    # 'wangluo' -> ('network',): registrants sometimes romanize the business line instead.
    return {"".join(lazy_pinyin(zh)): en for zh, en in INDUSTRY.items()}


def split_company_name(name: str) -> tuple[str, str, list[str], str]:
    """(place, trade name, business lines, legal form): 深圳小红蚁网络科技有限公司 -> 深圳, 小红蚁, [网络科技], 有限公司."""
    rest = fold_cjk(name).strip()
    form = next((f for f in FORMS if rest.endswith(f)), "")
    rest = rest[: len(rest) - len(form)]
    rest = re.sub(r"[（(][^）)]*[）)]", "", rest)  # （香港）, （深圳）: a branch's place, not its name
    place = ""
    while True:
        p = next((p for p in _place_names() if rest.startswith(p) and len(rest) > len(p)), "")
        if not p:
            break
        place, rest = place + p, rest[len(p):]
    lines: list[str] = []
    while True:
        line = next((w for w in sorted(INDUSTRY, key=len, reverse=True) if rest.endswith(w) and len(rest) > len(w)), "")
        if not line:
            break
        lines.insert(0, line)
        rest = rest[: len(rest) - len(line)]
    return place, rest, lines, form


def name_stem(name: str) -> str:
    """The trade name (字号) of a company: 深圳市小红蚁信息技术有限公司 -> 小红蚁."""
    return split_company_name(name)[1]


def _roman(text: str) -> str:
    return "".join(lazy_pinyin(fold_cjk(text))).lower()


def _place_roman(place: str) -> str:
    out = ""
    for p in _place_names():  # longest first, so 深圳市 before 深圳
        if p in place:
            short = p
            for suffix in ("特别行政区", "自治区", "省", "市", "区", "县"):
                if short.endswith(suffix) and len(short) > len(suffix) + 1:
                    short = short[: -len(suffix)]
            out = _PLACE_ROMAN.get(short, _roman(short))
            break
    return out


def _english_tokens(text: str) -> list[str]:
    text = text.lower().replace("e-commerce", "ecommerce")
    tokens = [_EN_SYNONYMS.get(t, t) for t in re.split(r"[^a-z0-9]+", text) if t]
    return [t for t in tokens if t not in _LEGAL_WORDS]


def name_similarity(english: str, chinese: str) -> float:
    """How well a romanized or English company name matches a Chinese registered name, 0..1.

    'Shenzhen Xiaohongyi Network Technology Co., Ltd.' matches 深圳小红蚁网络科技有限公司 fully: the
    place and trade name are compared in pinyin, the business line through its usual translation.
    """
    place, stem, lines, _ = split_company_name(chinese)
    if _HAN.search(english):  # a Chinese name on both sides: compare the parts directly
        o_place, o_stem, o_lines, _ = split_company_name(english)
        tokens = [_place_roman(o_place)] if o_place else []
        tokens += [_roman(o_stem)] + [w for line in o_lines for w in INDUSTRY[line]]
    else:
        tokens = _english_tokens(english)
    zh_industry = {w for line in lines for w in INDUSTRY[line]}
    by_pinyin = _industry_by_pinyin()
    industry_words = {w for words in INDUSTRY.values() for w in words}

    place_roman = _place_roman(place) if place else ""
    place_score = 1.0
    if place_roman:
        place_score = 1.0 if place_roman in tokens else 0.0
        tokens = [t for t in tokens if t != place_roman]
    en_industry: set[str] = set()
    rest = []
    for t in tokens:
        if t in industry_words:
            en_industry.add(t)
        elif t in by_pinyin:
            en_industry.update(by_pinyin[t])
        else:
            rest.append(t)
    union = zh_industry | en_industry
    industry_score = len(zh_industry & en_industry) / len(union) if union else 1.0
    en_stem, zh_stem = "".join(rest), _roman(stem)
    stem_score = SequenceMatcher(None, en_stem, zh_stem).ratio() if en_stem and zh_stem else 0.0
    score = (WEIGHTS["stem"] * stem_score + WEIGHTS["place"] * place_score
             + WEIGHTS["industry"] * industry_score)
    return round(score, 3)


def district_of_address(address: str, division_code: str | None) -> str | None:
    """The district code an address names within the company's city: 深圳市南山区... -> 440305."""
    if not division_code:
        return None
    city = division_code[:4]
    for code, name in _regions().items():
        if code.startswith(city) and code != city + "00" and name in address:
            return code
    return None


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CNRegistrySource(Source):
    name = "cn-registry"
    wire = "local"
    description = "Chinese company facts derived offline: districts, addresses, representatives, name matches"
    consumes = ("company", "org")
    produces = ("region", "address", "person", "company")
    emits = ("similar_name", "legal_representative_of", "registered_at", "in_district", "shares_district",
             "shares_name_stem")
    needs_key = False
    key_env = None
    default_endpoint = "local"
    default_rate = 1000.0
    default_burst = 100
    default_concurrency = 1
    default_timeout = 5.0
    ttl = 365 * 86400.0  # derived from the case alone: the question names the case's version
    version = "1"
    offline = True
    credential_keys = ()

    @property
    def threshold(self) -> float:
        return float(self.settings.get("similarity_threshold", SIMILARITY_THRESHOLD))

    def _companies(self) -> list[Any]:
        case = self.context.case
        return list(case.companies) if case is not None else []

    def queries(self, node: str, depth: int) -> list[Query]:
        if self.context.case is None:
            return []
        kind, _, value = node.partition(":")
        if kind == "company" and value:
            request = {"kind": "company", "node": node}
        elif kind == "org" and value:
            request = {"kind": "org", "node": node, "name": value}
        else:
            return []
        # The answer depends on the case's companies, so a corrected case file is a new question.
        return [Query(self.name, f"{kind} {value} case:{self._case_digest()}", node, "local", request, "local",
                      (), True, depth)]

    def _case_digest(self) -> str:
        records = [[c.node_id, c.name, c.uscc, c.legal_representative, c.address, c.status, c.name_pinyin,
                    c.legal_representative_pinyin] for c in self._companies()]
        return hashlib.sha256(canonical_json(records)).hexdigest()[:12]

    def local_answer(self, query: Query) -> bytes:
        """What was derived, as canonical JSON, so that derived facts have stored evidence too."""
        if query.request.get("kind") == "org":
            return canonical_json(self._org_answer(query.request["name"]))
        return canonical_json(self._company_answer(query.request["node"]))

    def _company_answer(self, node: str) -> dict[str, Any]:
        value = node.partition(":")[2]
        companies = self._companies()
        record = next((c for c in companies if c.node_id == node), None)
        decoded = None
        code = record.uscc if record is not None and record.uscc else value
        try:
            info = record.decoded if record is not None and record.decoded else decode_uscc(code)
            decoded = {"code": info.code, "division_code": info.division_code, "division_name": info.division_name,
                       "city_name": info.city_name, "province_name": info.province_name,
                       "authority": info.authority, "entity_kind": info.entity_kind}
        except USCCError:
            decoded = None
        if record is None and decoded is None and "有限" not in value and "公司" not in value:
            raise ValueError(f"{node}: neither a valid credit code nor a company name")
        name = record.name if record is not None else (value if decoded is None else None)
        answer: dict[str, Any] = {"kind": "company", "node": node, "uscc": decoded, "name": name,
                                  "name_stem": name_stem(name) if name else None, "in_case": record is not None}
        if record is not None:
            answer["record"] = {
                "name": record.name, "name_pinyin": record.name_pinyin or to_pinyin(record.name),
                "legal_representative": record.legal_representative,
                "legal_representative_pinyin": record.legal_representative_pinyin
                or (person_pinyin(record.legal_representative) if record.legal_representative else None),
                "address": record.address,
                "address_district": district_of_address(record.address or "", decoded and decoded["division_code"]),
                "status": record.status,
            }
        answer["peers"] = [
            {"node": c.node_id, "name": c.name, "name_stem": name_stem(c.name),
             "division_code": c.decoded.division_code if c.decoded else None}
            for c in companies if c.node_id != node
        ]
        return answer

    def _org_answer(self, name: str) -> dict[str, Any]:
        candidates = [{"node": c.node_id, "name": c.name, "score": name_similarity(name, c.name)}
                      for c in self._companies()]
        return {"kind": "org", "name": name, "method": "pinyin", "threshold": self.threshold,
                "candidates": candidates}

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ParseError(f"cn-registry: stored answer to {query.key} is not JSON: {exc}") from None
        if answer.get("kind") == "org":
            return self._parse_org(query, answer)
        return self._parse_company(answer)

    def _parse_org(self, query: Query, answer: dict[str, Any]) -> Parsed:
        out = Parsed()
        for cand in answer.get("candidates", []):
            if cand["score"] >= answer["threshold"]:
                out.fact(query.subject, "similar_name", cand["node"], score=cand["score"], method=answer["method"],
                         compared=cand["name"])
        return out

    def _parse_company(self, answer: dict[str, Any]) -> Parsed:
        out = Parsed()
        node = answer["node"]
        decoded = answer.get("uscc")
        division = decoded["division_code"] if decoded else None
        if decoded:
            region = region_id(division)
            out.fact(node, "in_district", region, source_field="uscc")
            out.node(region, name=decoded["division_name"], city=decoded["city_name"],
                     province=decoded["province_name"])
            out.node(node, uscc=decoded["code"], registration_authority=decoded["authority"],
                     entity_kind=decoded["entity_kind"])
        record = answer.get("record")
        if record:
            out.node(node, name=record["name"], label=record["name"], pinyin=record["name_pinyin"],
                     status=record["status"], name_stem=answer.get("name_stem"))
            if record.get("legal_representative"):
                person = person_id(record['legal_representative'])
                out.fact(person, "legal_representative_of", node)
                out.node(person, pinyin=record.get("legal_representative_pinyin"))
            if record.get("address"):
                address = address_id(record['address'])
                out.fact(node, "registered_at", address)
                if record.get("address_district"):
                    code = record["address_district"]
                    out.fact(address, "in_district", region_id(code), source_field="address")
                    out.node(region_id(code), name=_regions().get(code), city=_regions().get(code[:4] + "00"),
                             province=_regions().get(code[:2] + "0000"))
        elif answer.get("name"):
            out.node(node, name=answer["name"], pinyin=to_pinyin(answer["name"]), name_stem=answer.get("name_stem"))
        stem = answer.get("name_stem")
        for peer in answer.get("peers", []):
            # One edge per pair, whichever company was asked about: subject is the smaller id.
            a, b = sorted((node, peer["node"]))
            if division and peer.get("division_code") == division:
                out.fact(a, "shares_district", b, division_code=division)
            if stem and len(stem) >= 2 and peer.get("name_stem") == stem:
                out.fact(a, "shares_name_stem", b, stem=stem,
                         same_name=True if answer.get("name") == peer.get("name") else None)
        return out
