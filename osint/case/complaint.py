"""Read a complaint's text: every indicator, where it is written (section heading and line), and how it reads.

`osint case new` writes a draft case file from what this finds (see osint/case/draft.py). The indicators
come from the extractor the web source uses (osint/case/indicators.py); links are sorted here into the
suspects' own sites, accounts on known platforms and references, and companies are paired with the
credit code, legal representative and address the text gives next to their name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from osint.case import normalize as norm
from osint.case.indicators import Found, find_indicators
from osint.case.model import Standing
from osint.common.html import html_text

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_NUMBER = re.compile(r"^\s*([一二三四五六七八九十百]+|\d+)\s*[，,、.．:：)）]")
_URL = re.compile(r"https?://[^\s<>\"'\u3000-\u303f\uff01-\uff5e\u4e00-\u9fff]+", re.IGNORECASE)
# Profile links people write without a scheme ('www.youtube.com/@antradeio').
_BARE_URL = re.compile(r"(?<![\w@./:-])((?:[a-z0-9-]+\.)+[a-z]{2,24}/[^\s<>\"'\u3000-\u303f\uff01-\uff5e\u4e00-\u9fff]*)",
                       re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_LEGAL_REP = re.compile(r"法定代表人\s*[:：]\s*([\u4e00-\u9fff\u2e80-\u2fdf\u3400-\u4dbf·]{2,12})")
_ADDRESS = re.compile(r"(?:注册地址|地址|住所)\s*[:：]\s*(\S+)")
_CN_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_DEREGISTERED = re.compile(r"注销日期\s*[:：]?\s*" + _CN_DATE)
_FOUNDED = re.compile(r"成立日期\s*[:：]?\s*" + _CN_DATE)
_STATUS = re.compile(r"(注销|吊销|存续|在营|开业)(\s*[(（][^)）\n]*[)）])?")
_STATUS_KIND = {"注销": "deregistered", "吊销": "revoked", "存续": "active", "在营": "active", "开业": "active"}
_TIMES = (
    re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?"),
    re.compile(_CN_DATE + r"[^\d\n]{0,4}(\d{1,2})\s*[:：]\s*(\d{2})"),
)
_APP = re.compile(r"(Google Play|App Store)[^。\n]{0,16}?(?:上有|上的|有)\s*([A-Za-z0-9][\w .-]{0,40}?)\s*(?:APP|App|app|应用)")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")

# Hosts whose URLs are the platform's pages, not the suspects' own site (see also osint.sources.web.WELL_KNOWN).
PLATFORM_HOSTS = ("t.me", "telegram.me", "x.com", "twitter.com", "youtube.com", "youtu.be", "facebook.com",
                  "instagram.com", "tiktok.com", "linkedin.com", "medium.com", "reddit.com", "github.com",
                  "discord.gg", "discord.com", "binance.com", "google.com", "apple.com", "weibo.com", "qq.com")
FREE_MAIL = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "qq.com", "163.com", "126.com", "foxmail.com",
             "proton.me", "protonmail.com", "icloud.com", "sina.com")
# (platform, host, path pattern) for profile URLs: the handle is the pattern's group.
_PROFILES = (
    ("x", ("twitter.com", "x.com"), re.compile(r"^/@?([A-Za-z0-9_]{1,15})/?$")),
    ("telegram", ("t.me", "telegram.me"), re.compile(r"^/([A-Za-z0-9_]{4,64})/?$")),
    ("youtube", ("youtube.com",), re.compile(r"^/(?:@|c/|channel/|user/)([\w.-]+)/?$")),
    ("binance_square", ("binance.com",), re.compile(r"^/(?:[a-zA-Z-]+/)?(?:feed|square)/profile/([\w-]+)/?$")),
    ("github", ("github.com",), re.compile(r"^/([A-Za-z0-9-]{1,39})/?$")),
    ("facebook", ("facebook.com",), re.compile(r"^/([\w.]+)/?$")),
    ("instagram", ("instagram.com",), re.compile(r"^/([\w.]+)/?$")),
    ("medium", ("medium.com",), re.compile(r"^/@([\w.-]+)/?$")),
    ("tiktok", ("tiktok.com",), re.compile(r"^/@([\w.-]+)/?$")),
    ("reddit", ("reddit.com",), re.compile(r"^/(?:u|user)/([\w-]+)/?$")),
    ("linkedin", ("linkedin.com",), re.compile(r"^/(?:in|company)/([\w-]+)/?$")),
    ("weibo", ("weibo.com",), re.compile(r"^/(?:u/)?([\w]+)/?$")),
)
_RESERVED_PATHS = {"home", "search", "explore", "login", "signup", "share", "intent", "settings", "about", "help"}


@dataclass
class Place:
    """Where in the document something is written."""

    line: int
    section: str  # '六.3' or 'line only'

    def source(self, doc: str) -> str:
        return f"{doc} §{self.section} (line {self.line})" if self.section else f"{doc} (line {self.line})"


@dataclass
class Item:
    value: str  # as written
    places: list[Place]
    label: str | None = None
    extra: dict = field(default_factory=dict)
    unsure: list[str] = field(default_factory=list)


def _host_in(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host == h or host.endswith("." + h) for h in hosts)


def html_to_text(page: str) -> str:
    """Visible text of an HTML complaint, headings kept as Markdown headings so sections are found."""
    page = re.sub(r"<h([1-6])\b[^>]*>", lambda m: "\n" + "#" * int(m.group(1)) + " ", page, flags=re.I)
    page = re.sub(r"</h[1-6]\s*>", "\n", page, flags=re.I)
    return html_text(page)[0]


class _Document:
    def __init__(self, text: str):
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines = text.split("\n")
        # section path per line, from Markdown headings: '六', then '六.3'. The document's own title (a
        # first heading with no number, before numbered ones) is not a section.
        self.headings = [m.group(2).strip() for m in map(_HEADING.match, self.lines) if m]
        title = self.headings[0] if self.headings and not _NUMBER.match(self.headings[0]) else None
        self.sections: list[str] = []
        stack: list[tuple[int, str]] = []
        seen_title = False
        for line in self.lines:
            m = _HEADING.match(line)
            if m:
                level, text = len(m.group(1)), m.group(2).strip()
                if text == title and not seen_title:
                    seen_title = True
                    stack = []
                else:
                    num = _NUMBER.match(text)
                    while stack and stack[-1][0] >= level:
                        stack.pop()
                    stack.append((level, num.group(1) if num else " ".join(text.split())[:24]))
            parts = [t for _, t in stack]
            self.sections.append(".".join(parts) if all(map(_is_number, parts)) else " / ".join(parts))
        self.heading_text = [self._heading_at(i) for i in range(len(self.lines))]

    def _heading_at(self, index: int) -> str:
        for i in range(index, -1, -1):
            m = _HEADING.match(self.lines[i])
            if m:
                return m.group(2)
        return ""

    def line_of(self, pos: int) -> int:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo  # 0-based

    def place(self, pos: int) -> Place:
        i = self.line_of(pos)
        return Place(i + 1, self.sections[i])

    def label_before(self, pos: int) -> str | None:
        """The words that name a link: the line's text before it, or the line above when it stands alone."""
        i = self.line_of(pos)
        before = self.text[self.line_starts[i]:pos].strip()
        if before[-1:] in (":", "："):
            parts = [w for w in re.split(r"[:：]", before) if w.strip()]
            before = parts[-1] if parts else ""
        before = before.strip(" -–—\t")
        if before:
            return before[:80]
        j = i - 1
        while j >= 0 and not self.lines[j].strip():
            j -= 1
        if j >= 0 and not _HEADING.match(self.lines[j]):
            text = self.lines[j].strip().rstrip("：:").strip()
            if text and not _URL.search(text):
                return text[:80]
        return None


def _is_number(token: str) -> bool:
    return bool(re.fullmatch(r"[一二三四五六七八九十百]+|\d+", token))


def _add(items: dict[str, Item], key: str, value: str, place: Place, **kw) -> Item:
    if key in items:
        if all(p.section != place.section for p in items[key].places):
            items[key].places.append(place)
        return items[key]
    items[key] = Item(value, [place], **kw)
    return items[key]


def _profile(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for platform, hosts, pattern in _PROFILES:
        if _host_in(host, hosts):
            m = pattern.match(parts.path or "/")
            if m and m.group(1).lower() not in _RESERVED_PATHS and not parts.query:
                return platform, m.group(1)
    return None


@dataclass
class Findings:
    """What a complaint holds, each item with the places it is written."""

    doc: _Document
    ips: dict[str, Item]
    domains: dict[str, Item]
    emails: dict[str, Item]
    accounts: dict[str, Item]
    seeds: dict[str, Item]  # the suspects' own pages, to be fetched
    references: dict[str, Item]  # everything else linked
    companies: list[Item]
    incident: tuple[str, Place, list[str]] | None
    extras: list[tuple[str, str, Place]]  # ICP filings and crypto addresses: no case-file section yet


def read_complaint(text: str) -> Findings:
    """Every indicator of a complaint's text (Markdown headings give the sections)."""
    doc = _Document(text)
    found = list(find_indicators(text))

    # -- links: accounts, the suspects' sites, references
    url_spans: list[tuple[int, int]] = []
    links: list[tuple[int, str, str]] = []  # (position, as written, canonical)
    for m in _URL.finditer(text):
        raw = m.group(0).rstrip(_TRAILING)
        try:
            links.append((m.start(), raw, norm.normalize_url(raw)))
        except norm.NormalizeError:
            continue
        url_spans.append((m.start(), m.start() + len(raw)))
    for m in _BARE_URL.finditer(text):
        raw = m.group(1).rstrip(_TRAILING)
        if any(s <= m.start(1) < e for s, e in url_spans):
            continue
        try:
            canonical = norm.normalize_url(raw, default_scheme="https")
        except norm.NormalizeError:
            continue
        if _host_in(urlsplit(canonical).hostname or "", PLATFORM_HOSTS):
            links.append((m.start(1), raw, canonical))
            url_spans.append((m.start(1), m.start(1) + len(raw)))
    links.sort()

    emails: dict[str, Item] = {}
    email_domains: set[str] = set()
    for f in found:
        if f.kind == "email":
            _add(emails, f.node, f.text, doc.place(f.start))
            domain = f.node.split("@", 1)[1]
            if not _host_in(domain, FREE_MAIL):
                email_domains.add(domain)

    accounts: dict[str, Item] = {}
    seeds: dict[str, Item] = {}
    references: dict[str, Item] = {}
    domains: dict[str, Item] = {}
    for pos, raw, url in links:
        place, label = doc.place(pos), doc.label_before(pos)
        host = urlsplit(url).hostname or ""
        profile = _profile(url)
        if profile:
            platform, handle = profile
            _add(accounts, f"{platform}:{handle.lower()}", raw, place, label=label,
                 extra={"platform": platform})
            continue
        site = host.removeprefix("www.")
        own = not _host_in(host, PLATFORM_HOSTS) and (urlsplit(url).path == "/" or site in email_domains)
        if own:
            _add(seeds, url, raw, place, label=label)
            if not _is_ip(host):
                _add(domains, host, host, place)
        else:
            item = _add(references, url, raw, place, label=label)
            if not _host_in(host, PLATFORM_HOSTS) and not item.unsure:
                item.unsure.append("a page on a site the text does not tie to the suspects; move it to "
                                   "seed_urls to have it fetched")
    for key, item in emails.items():  # the e-mail domains: business@antrade.io names antrade.io
        domain = key.split("@", 1)[1]
        if domain in email_domains:
            for place in item.places:
                _add(domains, domain, domain, place)
    for f in found:  # host names written bare in the text
        if f.kind != "domain" or any(s <= f.start < e for s, e in url_spans):
            continue
        name = f.node.split(":", 1)[1]
        in_email = f.start > 0 and text[f.start - 1] == "@"
        if _host_in(name, PLATFORM_HOSTS) or (in_email and _host_in(name, FREE_MAIL)):
            continue
        _add(domains, name, f.text if not in_email else name, doc.place(f.start))

    for m in _APP.finditer(text):
        platform = "google_play" if m.group(1) == "Google Play" else "app_store"
        name = m.group(2).strip()
        _add(accounts, f"{platform}:{name.lower()}", name, doc.place(m.start()),
             label=f"{name} app ({m.group(1)}; the text gives no link)", extra={"platform": platform, "name": name})

    ips: dict[str, Item] = {}
    for f in found:
        if f.kind == "ip":
            _add(ips, f.node, f.text, doc.place(f.start))

    companies = _companies(doc, found)
    extras = [(f.kind, f.node.split(":", 1)[1], doc.place(f.start)) for f in found
              if f.kind in ("icp_filing", "crypto_address")]

    return Findings(doc, ips, domains, emails, accounts, seeds, references, companies, _incident(doc), extras)


def _is_ip(host: str) -> bool:
    try:
        norm.normalize_ip(host.strip("[]"))
        return True
    except norm.NormalizeError:
        return False


def guess_brand(doc: _Document) -> str:
    """The Latin-letter name the headings repeat most (AntBot in 'AntBot服务器相关IP地址')."""
    words = Counter(w for h in doc.headings for w in _LATIN_WORD.findall(h)
                    if w.upper() not in {"IP", "URL", "API", "APP", "ID", "ICP", "WEBSITE", "EMAIL"})
    if not words:
        words = Counter(_LATIN_WORD.findall(doc.text))
    return words.most_common(1)[0][0] if words else "brand"


def _incident(doc: _Document) -> tuple[str, Place, list[str]] | None:
    for regex in _TIMES:
        for m in regex.finditer(doc.text):
            y, mo, d, h, mi = (int(g) for g in m.groups()[:5])
            s = int(m.group(6)) if regex.groups >= 6 and m.group(6) else 0
            try:
                date(y, mo, d)
            except ValueError:
                continue
            if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 60):
                continue
            chinese = bool(_HAN.search(doc.text))
            offset = "+08:00" if chinese else "+00:00"
            note = [f"the text gives no time zone; {offset} assumed ("
                    f"{'China Standard Time, the text is Chinese' if chinese else 'UTC'})"]
            return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{offset}", doc.place(m.start()), note
    return None


def _companies(doc: _Document, found: list[Found]) -> list[Item]:
    names = sorted((f for f in found if f.kind == "company" and "name" in f.attrs), key=lambda f: f.start)
    codes = sorted((f for f in found if f.kind == "company" and "uscc" in f.attrs), key=lambda f: f.start)
    out: dict[str, Item] = {}
    for n, f in enumerate(names):
        end = names[n + 1].start if n + 1 < len(names) else len(doc.text)
        block = doc.text[f.end:end]
        heading = doc.heading_text[doc.line_of(f.start)]
        item = _add(out, f.attrs["name"], f.attrs["name"], doc.place(f.start))
        x = item.extra
        code = next((c for c in codes if f.end <= c.start < end), None)
        if code and "uscc" not in x:
            x["uscc"] = code.attrs["uscc"]
        for key, regex in (("legal_representative", _LEGAL_REP), ("address", _ADDRESS)):
            m = regex.search(block)
            if m and key not in x:
                x[key] = m.group(1).rstrip("，,。;；")
        line_end = block.find("\n")
        m = _STATUS.search(block[: line_end if line_end >= 0 else len(block)])
        if m and "status" not in x:
            x["status"], x["status_as_written"] = _STATUS_KIND[m.group(1)], (m.group(0)).strip()
        for key, regex in (("founded", _FOUNDED), ("deregistered", _DEREGISTERED)):
            m = regex.search(block)
            if m and key not in x:
                try:
                    x[key] = date(*(int(g) for g in m.groups())).isoformat()
                except ValueError:
                    item.unsure.append(f"{key}: {m.group(0)!r} is not a real date")
        if "经营异常" in block:
            x["abnormal_operations"] = True
        if "怀疑" in heading or "怀疑" in block[:200]:
            x["_claim_standing"] = Standing.SUSPECTED.value
            x["_quote"] = heading
        if "uscc" not in x:
            item.unsure.append("no credit code (统一社会信用代码) next to this name")
        if x.get("legal_representative") or x.get("address"):
            item.unsure.append("registry details as the text pairs them with this name; if copied from the "
                               "company registry, the standing is 'from the public company registry'")
    paired = {i.extra.get("uscc") for i in out.values()}
    for c in codes:  # a code with no name before it
        if c.attrs["uscc"] not in paired:
            item = _add(out, c.attrs["uscc"], f"(company with credit code {c.attrs['uscc']})", doc.place(c.start))
            item.extra["uscc"] = c.attrs["uscc"]
            item.unsure.append("the text gives this credit code with no company name; write the name")
    return list(out.values())
