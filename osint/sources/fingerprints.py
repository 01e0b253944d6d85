"""What says who runs a site rather than where it is hosted: analytics and tracker ids, the favicon, the
copyright line, the title. Each becomes a node that any two sites can share.

Trackers are read from the page source (scripts included): Baidu Tongji (hm.js?<32 hex>), CNZZ/Umeng site
ids, 51.la ids, Google Analytics (UA-, G-) and Tag Manager (GTM-) ids. The favicon's hash is the one Shodan
indexes (`http.favicon.hash`): MurmurHash3 (32-bit, signed) of the body's base64 with a newline every 76
characters, as Python's base64.encodebytes writes it. Framework default favicons say nothing about the
operator, so their hashes are kept off the graph (DEFAULT_FAVICONS, plus the `default_favicons` option).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, Iterator

import mmh3

from ..case.indicators import clean_context
from ..vocabulary import copyright_id, favicon_id, page_title_id, tracker_id
from .base import Parsed

# (tracker kind, pattern): group 1 is the id. Only script-shaped uses, so a number in prose is not an id.
TRACKER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("baidu", re.compile(r"hm\.baidu\.com/hm\.js\?([0-9a-f]{32})\b", re.I)),
    ("cnzz", re.compile(r"(?:cnzz\.com|umeng\.com)/[a-z_]*\.(?:php|js)\?(?:[^\"'\s<>]*?&(?:amp;)?)?"
                        r"(?:id|web_id|siteid)=(\d{4,12})\b", re.I)),
    ("cnzz", re.compile(r"_czc\.push\(\s*\[\s*[\"']_setAccount[\"']\s*,\s*[\"'](\d{4,12})[\"']", re.I)),
    ("51la", re.compile(r"js\.users\.51\.la/(\d{4,12})\.js", re.I)),
    ("51la", re.compile(r"LA\.init\(\s*\{[^}]{0,200}?\bid\s*:\s*[\"']([A-Za-z0-9]{8,32})[\"']")),
    ("ga", re.compile(r"\b(UA-\d{4,10}-\d{1,4})\b")),
    ("ga4", re.compile(r"(?:googletagmanager\.com/gtag/js\?id=|gtag\(\s*[\"']config[\"']\s*,\s*[\"'])"
                       r"(G-[A-Z0-9]{6,12})\b")),
    ("gtm", re.compile(r"\b(GTM-[A-Z0-9]{4,9})\b")),
)
TRACKER_NAMES = {"baidu": "Baidu Tongji", "cnzz": "CNZZ/Umeng", "51la": "51.la", "ga": "Google Analytics",
                 "ga4": "Google Analytics 4", "gtm": "Google Tag Manager"}
MAX_TRACKERS = 50  # per page

# Favicons that frameworks and servers ship: thousands of unrelated sites show them. Hashes as Shodan gives
# them (http.favicon.hash), from the public favicon databases.
DEFAULT_FAVICONS: dict[int, str] = {
    116323821: "Spring Boot default",
    -297069493: "Apache Tomcat default",
    81586312: "Jenkins default",
}

_COPYRIGHT = re.compile(r"(?:©|\(c\)|&copy;|copyright|版权所有)", re.I)
_COPYRIGHT_NOISE = re.compile(r"(?:©|\(c\)|&copy;|copyright|版权所有|all rights reserved\.?|保留所有权利|"
                              r"(?:19|20)\d\d(?:\s*[-–~至]\s*(?:(?:19|20)\d\d|present|now|今))?)", re.I)
MIN_COPYRIGHT_HOLDER = 3  # characters left once years and the © words are gone
# Titles every default install or error page has: they link nothing.
GENERIC_TITLES = {"", "home", "index", "welcome", "首页", "主页", "default", "untitled", "document", "loading",
                  "loading...", "welcome to nginx!", "apache2 ubuntu default page: it works", "it works!",
                  "404 not found", "403 forbidden", "502 bad gateway", "503 service unavailable", "not found",
                  "test page for the nginx http server on fedora", "iis windows server", "site not found"}
MIN_TITLE = 4


def trackers(page_source: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, id, start, end) of every tracker id in a page's source, scripts included."""
    seen: set[tuple[str, str]] = set()
    for kind, pattern in TRACKER_PATTERNS:
        for m in pattern.finditer(page_source):
            ident = m.group(1).lower() if kind == "baidu" else m.group(1)
            if (kind, ident) in seen:
                continue
            seen.add((kind, ident))
            yield kind, ident, m.start(), m.end()
            if len(seen) >= MAX_TRACKERS:
                return


def copyright_line(text: str) -> tuple[str, str] | None:
    """(holder, line as written) of the page's copyright notice: '© 2021 XX有限公司' -> 'XX有限公司'."""
    for line in text.splitlines():
        if not _COPYRIGHT.search(line):
            continue
        written = clean_context(line)[:160]
        holder = " ".join(_COPYRIGHT_NOISE.sub(" ", written).split()).strip(" .,;:|-—·，。")
        if len(holder) >= MIN_COPYRIGHT_HOLDER:
            return holder, written
    return None


def specific_title(title: str | None) -> str | None:
    if not title:
        return None
    title = " ".join(title.split())[:200]
    return title if len(title) >= MIN_TITLE and title.lower() not in GENERIC_TITLES else None


def page_fingerprints(out: Parsed, page: str, source_text: str, visible_text: str, title: str | None,
                      title_pivot: bool = False) -> None:
    """Tracker, copyright and title nodes of one page, linked from the page's url node; with title_pivot the
    title is a lead too (Shodan searches by it: the case's own sites only, each search costs a credit)."""
    for kind, ident, start, end in trackers(source_text):
        node = tracker_id(kind, ident)
        out.node(node, label=f"{TRACKER_NAMES[kind]} {ident}", tracker=TRACKER_NAMES[kind])
        out.fact(page, "uses_tracker", node, context=clean_context(source_text[max(0, start - 60):end + 20]))
    found = copyright_line(visible_text)
    if found:
        holder, written = found
        node = copyright_id(holder)
        out.node(node, label=holder)
        out.fact(page, "shows_copyright", node, as_written=written)
    t = specific_title(title)
    if t:
        out.node(page_title_id(t), label=t)
        out.fact(page, "has_title", page_title_id(t))
        if title_pivot:
            out.leads.append(page_title_id(t))


# -- favicons ---------------------------------------------------------------------------------

_ICON_REL = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?(?:shortcut\s+)?icon\b[^>]*>", re.I)
_HREF = re.compile(r"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)


def declared_icon(page_source: str) -> str | None:
    """The href of the page's <link rel="icon">, if it declares one."""
    m = _ICON_REL.search(page_source[:200_000])
    if not m:
        return None
    h = _HREF.search(m.group(0))
    href = next((g for g in h.groups() if g), None) if h else None
    return href.strip() if href and not href.strip().lower().startswith("data:") else None


def favicon_hash(body: bytes) -> int:
    """Shodan's http.favicon.hash: mmh3 (signed 32-bit) of the base64 body, newline every 76 characters."""
    return mmh3.hash(base64.encodebytes(body))


def image_kind(body: bytes) -> str | None:
    """What image format the bytes are, checked by structure, not by the server's word."""
    if body.startswith(b"\x00\x00\x01\x00") and len(body) >= 22:
        return "ico"
    if body.startswith(b"\x89PNG\r\n\x1a\n") and body[12:16] == b"IHDR":
        return "png"
    if body[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if body.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if body.startswith(b"BM") and len(body) > 26:
        return "bmp"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "webp"
    head = body[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in body[:2048].lower()):
        return "svg"
    return None


def favicon_parsed(site: str, icon_url: str, body: bytes, defaults: dict[int, str]) -> Parsed:
    out = Parsed()
    h = favicon_hash(body)
    default = defaults.get(h)
    if default:
        # A framework's icon: noted on the site, never a node two sites could meet at.
        out.node(site, favicon_mmh3=h, favicon_default=default)
        return out
    node = favicon_id(h)
    out.node(node, label=f"favicon {h}", mmh3=h, sha256=hashlib.sha256(body).hexdigest(), size=len(body),
             format=image_kind(body))
    out.fact(site, "has_favicon", node, url=icon_url)
    out.leads.append(node)  # a pivot: Shodan searches by it
    return out


def default_favicons(option: Any) -> dict[int, str]:
    """The built-in defaults plus the configured ones (`default_favicons = [hash, ...]`)."""
    found = dict(DEFAULT_FAVICONS)
    for item in option or ():
        try:
            found[int(item)] = "configured default"
        except (TypeError, ValueError):
            continue
    return found
