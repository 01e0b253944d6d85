"""Find indicators in free text: IPs, domains, e-mails, Chinese companies and filings, crypto addresses."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import islice
from typing import Any, Iterator

from ..vocabulary import company_id, crypto_address_id, domain_id, email_id, icp_filing_id, ip_id
from .normalize import NormalizeError, domain_display, normalize_domain, normalize_email
from .uscc import USCCError, decode_uscc

MAX_OCCURRENCES = 20_000  # candidates per pattern and text: a page of repeated junk must not stall a run
CONTEXT_CHARS = 90  # either side of a match; the stored context stays under 200 characters
CONTEXT_MAX = 200

# Label characters: Latin (with accents), Greek and Cyrillic, so look-alike names are caught,
# but not CJK: Chinese text runs straight into host names without a space.
_L = "a-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_LABEL = rf"[{_L}](?:[{_L}-]{{0,61}}[{_L}])?"
_TLD = r"(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59})"
_HOST_END = rf"(?![{_L}-]|\.[{_L}])"
DOMAIN_RE = re.compile(rf"(?<![{_L}.@-])(?:{_LABEL}\.)+{_TLD}{_HOST_END}", re.IGNORECASE)
EMAIL_RE = re.compile(rf"(?<![a-z0-9._%+-])[a-z0-9._%+-]{{1,64}}@(?:{_LABEL}\.)+{_TLD}{_HOST_END}",
                      re.IGNORECASE)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_RE = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\d|\.\d)")
IPV6_RE = re.compile(r"(?<![\w:.])(?=[0-9a-f]{0,4}:[0-9a-f]{0,4}:)[0-9a-f:]{2,39}(?![\w:.])", re.IGNORECASE)
# 有限公司 and its longer forms; the name is the run of Han text before it, trimmed on the left
# (see _company_start). Searching for the suffix first keeps the scan linear.
COMPANY_SUFFIX_RE = re.compile(r"股份有限公司|有限责任公司|有限公司")
_HAN_RUN_END = re.compile(r"[\u4e00-\u9fff（）()]{2,40}$")
USCC_RE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}(?![0-9A-Z])")
ICP_RE = re.compile(r"[京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川蜀贵黔云滇藏陕秦甘陇青宁新]ICP[备证]\s?(\d{4,12})\s?号"
                    r"(?:\s?-\s?(\d{1,4}))?")
ETH_RE = re.compile(r"(?<![0-9a-z])0x[0-9a-f]{40}(?![0-9a-z])", re.IGNORECASE)
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BTC58_RE = re.compile(rf"(?<![0-9A-Za-z])[13][{_B58}]{{25,34}}(?![0-9A-Za-z])")
BECH32_RE = re.compile(r"(?<![0-9A-Za-z])(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71}(?![0-9A-Za-z])")
TRON_RE = re.compile(rf"(?<![0-9A-Za-z])T[{_B58}]{{33}}(?![0-9A-Za-z])")

# Dotted words that are file names, not host names ("app.js", "README.md").
FILE_EXTENSIONS = frozenset("""
js mjs cjs css scss less map json xml html htm xhtml php asp aspx jsp cgi txt md rst csv tsv log ini cfg conf
toml yml yaml lock png jpg jpeg gif bmp svg webp ico tif tiff psd pdf doc docx xls xlsx ppt pptx odt ods
zip rar gz tgz bz2 xz tar dmg pkg deb rpm apk ipa exe msi dll bin dat db sql bak tmp swp mp3 mp4 wav avi mov
mkv flv webm ogg woff woff2 ttf otf eot py pyc rb go rs ts tsx jsx vue java class jar kt swift cpp hpp cs
sh bat ps1 min bundle chunk
""".split())

# Cyrillic and Greek letters that pass for Latin ones.
_LOOKALIKES = set("аеорсухіјѕԁһԛԝӏкмнтвαορτνκιυχεβ")
_BOUNDARY_WORDS = ("名为", "属于", "主体", "为", "是", "由", "与", "和", "及", "或", "的", "系", "在", "于",
                   "被", "向", "称", "即", "将", "对", "给", "从", "经", "把", "让", "请")


@dataclass
class Found:
    """One indicator in the text: its node id, where it is, and what the node should know."""

    node: str
    kind: str
    start: int
    end: int
    text: str
    attrs: dict[str, Any] = field(default_factory=dict)  # node attributes
    fact_attrs: dict[str, Any] = field(default_factory=dict)


def clean_context(text: str) -> str:
    """Control and format characters out, whitespace collapsed, at most CONTEXT_MAX characters."""
    out = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    return " ".join(out.split())[:CONTEXT_MAX]


def context(text: str, start: int, end: int) -> str:
    return clean_context(text[max(0, start - CONTEXT_CHARS):end + CONTEXT_CHARS])


# -- checks that keep false positives out ------------------------------------------------------


def _scripts(label: str) -> set[str]:
    found = set()
    for ch in label:
        if ch.isalpha():
            found.add(unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0])
    return found


def possible_homograph(unicode_name: str) -> bool:
    """True when a label mixes scripts (Cyrillic 'а' among Latin letters) or is made of look-alikes."""
    for label in unicode_name.split("."):
        scripts = _scripts(label)
        if len(scripts) > 1:
            return True
        letters = [ch for ch in label if ch.isalpha()]
        if scripts and scripts != {"LATIN"} and letters and all(ch.lower() in _LOOKALIKES for ch in letters):
            return True
    return False


def _b58decode(text: str) -> bytes | None:
    n = 0
    for ch in text:
        i = _B58.find(ch)
        if i < 0:
            return None
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def base58check(text: str, versions: tuple[int, ...]) -> bool:
    data = _b58decode(text)
    if data is None or len(data) != 25 or data[0] not in versions:
        return False
    return hashlib.sha256(hashlib.sha256(data[:-4]).digest()).digest()[:4] == data[-4:]


_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32_valid(address: str) -> bool:
    """BIP 173 (bech32) or BIP 350 (bech32m) checksum of a bc1 address."""
    if address.lower() != address and address.upper() != address:
        return False
    a = address.lower()
    hrp, _, data = a.rpartition("1")
    if hrp != "bc" or len(data) < 7:
        return False
    values = [_BECH32_CHARSET.find(c) for c in data]
    if -1 in values:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _polymod(expanded + values) in (1, 0x2BC830A3)


@cache
def _place_re() -> re.Pattern[str]:
    """Province, city and district names and their short forms, longest first (深圳市, 深圳, ...)."""
    text = resources.files("osint").joinpath("data/regions.json").read_text("utf-8")
    names = set()
    for code, name in json.loads(text).items():
        if not code.isdigit() or not name:
            continue
        names.add(name)
        for suffix in ("特别行政区", "自治区", "省", "市", "区", "县"):
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                names.add(name[: -len(suffix)])
    names.update({"中国", "香港", "澳门", "台湾"})
    return re.compile("|".join(sorted(names, key=len, reverse=True)))


def _company_start(run: str) -> int:
    """Where a company name starts in a run of Han text ending in 有限公司."""
    place = _place_re().search(run)
    if place:
        return place.start()  # names begin with their place: 深圳实验蚁...
    cut = 0
    for word in _BOUNDARY_WORDS:
        at = run.rfind(word, 0, max(0, len(run) - 2))
        if at >= 0:
            cut = max(cut, at + len(word))
    return cut


# -- the finders -----------------------------------------------------------------------------


def _scan(regex: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    return islice(regex.finditer(text), MAX_OCCURRENCES)


def _domains(text: str) -> Iterator[Found]:
    for m in _scan(DOMAIN_RE, text):
        raw = m.group(0)
        if raw.rsplit(".", 1)[1].lower() in FILE_EXTENSIONS:
            continue
        try:
            name = normalize_domain(raw)
        except NormalizeError:
            continue
        display = domain_display(name)
        attrs: dict[str, Any] = {}
        if display != name:
            attrs["label"] = display
            if possible_homograph(display):
                attrs["possible_homograph"] = True
        yield Found(domain_id(name), "domain", m.start(), m.end(), raw, attrs)


def _emails(text: str) -> Iterator[Found]:
    for m in _scan(EMAIL_RE, text):
        raw = m.group(0)
        if raw.rsplit(".", 1)[1].lower() in FILE_EXTENSIONS:  # logo@2x.png
            continue
        try:
            email = normalize_email(raw)
        except NormalizeError:
            continue
        yield Found(email_id(email), "email", m.start(), m.end(), raw)


def _ips(text: str) -> Iterator[Found]:
    for regex in (IPV4_RE, IPV6_RE):
        for m in _scan(regex, text):
            try:
                ip = ipaddress.ip_address(m.group(0))
            except ValueError:
                continue
            if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local:
                continue  # examples in documentation and config snippets, not infrastructure
            yield Found(ip_id(ip), "ip", m.start(), m.end(), m.group(0))


def _companies(text: str) -> Iterator[Found]:
    for m in _scan(COMPANY_SUFFIX_RE, text):
        before = _HAN_RUN_END.search(text, max(0, m.start() - 40), m.start())
        if not before:
            continue
        run = before.group(0)
        run = run[run.rfind("公司") + 2:] if "公司" in run else run  # not into the previous name
        stem = run[_company_start(run):].lstrip("（）()")
        if len(stem) < 2:  # two characters of trade name at least, before 有限公司
            continue
        name = stem + m.group(0)
        yield Found(company_id(name), "company", m.start() - len(stem), m.end(), name, {"name": name})


def _usccs(text: str) -> Iterator[Found]:
    for m in _scan(USCC_RE, text):
        try:
            info = decode_uscc(m.group(0))
        except USCCError:
            continue
        yield Found(company_id(info.code), "company", m.start(), m.end(), m.group(0),
                    {"uscc": info.code, "division_code": info.division_code, "division_name": info.division_name})


def _icp(text: str) -> Iterator[Found]:
    for m in _scan(ICP_RE, text):
        # The filing is the operator's number; "-1" only numbers one of its sites.
        filing = f"{m.group(0)[0]}ICP{m.group(0)[4]}{m.group(1)}号"
        yield Found(icp_filing_id(filing), "icp_filing", m.start(), m.end(), m.group(0),
                    fact_attrs={"as_written": m.group(0)})


def _crypto(text: str) -> Iterator[Found]:
    for m in _scan(ETH_RE, text):
        yield Found(crypto_address_id(m.group(0).lower()), "crypto_address", m.start(), m.end(), m.group(0),
                    {"chain": "ethereum"})
    for m in _scan(BTC58_RE, text):
        if base58check(m.group(0), (0x00, 0x05)):
            yield Found(crypto_address_id(m.group(0)), "crypto_address", m.start(), m.end(), m.group(0),
                        {"chain": "bitcoin"})
    for m in _scan(BECH32_RE, text):
        if bech32_valid(m.group(0)):
            yield Found(crypto_address_id(m.group(0).lower()), "crypto_address", m.start(), m.end(),
                        m.group(0), {"chain": "bitcoin"})
    for m in _scan(TRON_RE, text):
        if base58check(m.group(0), (0x41,)):
            yield Found(crypto_address_id(m.group(0)), "crypto_address", m.start(), m.end(), m.group(0),
                        {"chain": "tron"})


# Rarer, sharper indicators first: when a page hits the mention cap, host names are what is lost.
FINDERS = (_ips, _crypto, _usccs, _icp, _companies, _emails, _domains)


def find_indicators(text: str) -> Iterator[Found]:
    """Indicator occurrences in text, finder by finder (callers dedupe by node)."""
    for finder in FINDERS:
        yield from finder(text)
