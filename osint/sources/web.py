"""Web pages: fetch a page (or a domain's home page) and note the indicators and links it shows."""

from __future__ import annotations

import codecs
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..case.indicators import clean_context, context, find_indicators
from ..case.normalize import NormalizeError, normalize_domain, normalize_email, normalize_ip, normalize_url
from ..common.html import html_text
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import domain_id, email_id, ip_id, url_id
from .base import Parsed, Source
from .fingerprints import declared_icon, default_favicons, favicon_parsed, image_kind, page_fingerprints

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/xml", "application/xml")
TEXT_CAP = 2_000_000  # characters of page text searched for indicators
MAX_MENTIONS = 500  # distinct indicators kept per page
MAX_LINKS = 100  # links to other hosts kept per page
# Companies: cn-registry compares them offline; filings: the icp source looks them up.
LEAD_KINDS = ("domain", "ip", "email", "company", "icp_filing")
# Platforms every page links to or names. They stay in the graph as links and mentions, but
# enriching them (crt.sh for x.com, passive DNS for t.me) says nothing about the suspects.
WELL_KNOWN = ("t.me", "telegram.me", "telegram.org", "x.com", "twitter.com", "facebook.com", "instagram.com",
              "youtube.com", "youtu.be", "tiktok.com", "linkedin.com", "medium.com", "reddit.com", "github.com",
              "discord.gg", "discord.com", "google.com", "apple.com", "microsoft.com", "qq.com", "weibo.com",
              "baidu.com", "wechat.com", "binance.com", "miit.gov.cn", "w3.org", "schema.org", "cloudflare.com")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)



def content_type(meta: dict[str, Any]) -> str:
    return str((meta.get("headers") or {}).get("content-type") or "").split(";")[0].strip().lower()


def _header_charset(meta: dict[str, Any]) -> str | None:
    ctype = str((meta.get("headers") or {}).get("content-type") or "")
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", ctype, re.IGNORECASE)
    return m.group(1) if m else None


def decode_page(raw: bytes, meta: dict[str, Any]) -> str:
    """Text of the page: BOM, then the header's charset, then a <meta> charset, then UTF-8."""
    boms = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
    for bom, enc in boms:
        if raw.startswith(bom):
            return raw[len(bom):].decode(enc, errors="replace")
    declared = _header_charset(meta)
    if not declared:
        m = _META_CHARSET.search(raw[:8192])
        declared = m.group(1).decode("ascii") if m else None
    encoding = "utf-8"
    if declared:
        try:
            encoding = codecs.lookup(declared).name
        except LookupError:
            pass
    # Pages labelled GB2312 or GBK are written in their superset more often than not.
    if encoding in ("gb2312", "gbk", "euc_cn"):
        encoding = "gb18030"
    try:
        return raw.decode(encoding, errors="replace")
    except (LookupError, UnicodeError):
        # The page named a codec that is no text encoding (charset=zlib, base64) or one that
        # cannot replace bad bytes (idna): the page is read as UTF-8 rather than lost.
        return raw.decode("utf-8", errors="replace")


def _is_html(ctype: str, text: str) -> bool:
    if ctype in ("text/html", "application/xhtml+xml"):
        return True
    return ctype == "" and text.lstrip()[:1] == "<"


def well_known(node: str) -> bool:
    host = node.partition(":")[2]
    return any(host == d or host.endswith("." + d) for d in WELL_KNOWN)


def _url_node(url: str) -> str | None:
    try:
        return url_id(normalize_url(url))
    except NormalizeError:
        return None


def _host_node(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").strip("[]")
    if not host:
        return None
    try:
        return ip_id(normalize_ip(host))
    except NormalizeError:
        pass
    try:
        return domain_id(normalize_domain(host))
    except NormalizeError:
        return None


class WebSource(Source):
    name = "web"
    description = "Web pages: indicators, links, and site fingerprints (trackers, favicon, copyright, title)"
    consumes = ("url", "domain")
    produces = ("url", "domain", "ip", "email", "company", "icp_filing", "crypto_address", "tracker", "favicon",
                "copyright", "page_title")
    emits = ("hosted_on", "links_to", "mentions", "uses_tracker", "has_favicon", "shows_copyright", "has_title")
    needs_key = False
    key_env = None
    default_endpoint = "http://"  # pages are fetched wherever they are
    default_rate = 1.0  # per web server: these are the suspects' own servers
    default_burst = 2
    default_concurrency = 4
    default_timeout = 20.0
    default_max_bytes = 5_000_000
    ttl = 86400.0
    version = "1"
    credential_keys = ()

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind == "url" and value:
            url = value
        elif kind == "domain" and value and self._wants_home_page(value, depth):
            url = f"http://{value}/"
        else:
            return []
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return []
        request = {"url": url, "headers": {"Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"}}
        # Untrusted: a page address from a case file or another page may point inside our network.
        return [Query(self.name, f"GET {url}", node, "http", request, f"{parts.scheme}://{parts.netloc}",
                      (), False, depth)]

    def _wants_home_page(self, domain: str, depth: int) -> bool:
        # Visiting a site is contact with whoever runs it. By default only the case's own domains
        # (depth 0) are visited, not every name a certificate or a page happened to mention.
        mode = self.settings.get("home_pages", "case")
        if mode in (False, "none", "off") or any(label.startswith("_") for label in domain.split(".")):
            return False
        return mode in (True, "all") or depth == 0

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED:
            return fetched
        if query.request.get("favicon"):
            return self._classify_icon(query, fetched)
        ctype = content_type(fetched.meta)
        if ctype in PAGE_TYPES or ctype.startswith("text/") or ctype.endswith("+xml"):
            return fetched
        if not ctype and (fetched.raw or b"").lstrip()[:1] in (b"<", b""):
            return fetched
        fetched.outcome = Outcome.BAD_ANSWER  # the bytes stay stored: a file is evidence too
        fetched.error = f"{query.request['url']} is {ctype or 'unlabelled binary data'}, not a web page"
        return fetched

    def _classify_icon(self, query: Query, fetched: Fetched) -> Fetched:
        if content_type(fetched.meta) in ("text/html", "application/xhtml+xml"):
            fetched.outcome = Outcome.NO_RECORD  # a page where the icon should be: the site has none
        elif image_kind(fetched.raw or b"") is None:
            fetched.outcome = Outcome.BAD_ANSWER
            fetched.error = f"{query.request['url']} is not an image ({content_type(fetched.meta) or 'unlabelled'})"
        return fetched

    def _icon_query(self, page_source: str, final: str, site: str | None, depth: int) -> Query | None:
        if site is None or self.settings.get("favicons", True) in (False, "off", "none"):
            return None
        href = declared_icon(page_source)
        icon = urljoin(final, href) if href else urljoin(final, "/favicon.ico")
        parts = urlsplit(icon)
        if parts.scheme not in ("http", "https"):
            return None
        request = {"url": icon, "headers": {"Accept": "image/*,*/*;q=0.5"}, "favicon": True, "site": site}
        # One question per site: a shared icon on a third host is evidence for each site that shows it.
        same_host = _host_node(icon) == site
        key = f"GET favicon {icon}" if same_host else f"GET favicon {icon} for {site.partition(':')[2]}"
        return Query(self.name, key, site, "http", request, f"{parts.scheme}://{parts.netloc}", (), False, depth)

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if query.request.get("favicon"):
            if (meta.get("status") or 200) >= 400 or image_kind(raw) is None:
                return Parsed()
            return favicon_parsed(query.request["site"], query.request["url"], raw,
                                  default_favicons(self.settings.get("default_favicons")))
        out = Parsed()
        asked = query.request["url"]
        final = meta.get("final_url") or asked
        page = _url_node(final) or _url_node(asked)
        if page is None:
            return out
        self._redirects(out, meta)
        for url in dict.fromkeys((asked, final)):
            node, host = _url_node(url), _host_node(url)
            if node and host:
                out.fact(node, "hosted_on", host)
        status = meta.get("status")
        out.node(page, http_status=status)
        if (status or 200) >= 400 or not raw:
            return out

        ctype = content_type(meta)
        text = decode_page(raw, meta)
        source_text = text[:TEXT_CAP]
        title, hrefs = None, []
        html_page = _is_html(ctype, text)
        if html_page:
            text, title, hrefs = html_text(text)
        out.node(page, title=title, content_type=ctype or None)
        text = text[:TEXT_CAP]

        own_host = _host_node(final)
        page_fingerprints(out, page, source_text, text, title, title_pivot=query.depth == 0)
        if html_page and (icon := self._icon_query(source_text, final, own_host, query.depth)):
            out.followups.append(icon)
        mentioned = self._mentions(out, page, text)
        self._links(out, page, final, hrefs, own_host, mentioned)
        out.leads = sorted({lead for lead in out.leads if lead != own_host and lead != query.subject})
        return out

    def _redirects(self, out: Parsed, meta: dict[str, Any]) -> None:
        for hop in meta.get("redirects") or []:
            src, dst = _url_node(hop.get("from") or ""), _url_node(hop.get("to") or "")
            if src and dst:
                out.fact(src, "links_to", dst, redirect=True, status=hop.get("status"))

    def _mentions(self, out: Parsed, page: str, text: str) -> set[str]:
        seen: dict[str, dict[str, Any]] = {}
        for found in find_indicators(text):
            if found.node in seen:
                seen[found.node]["count"] += 1
                continue
            if len(seen) >= MAX_MENTIONS:
                continue
            seen[found.node] = {"count": 1, "context": context(text, found.start, found.end), **found.fact_attrs}
            out.node(found.node, **found.attrs)
            if found.kind in LEAD_KINDS and not (found.kind == "domain" and well_known(found.node)):
                out.leads.append(found.node)
        for node, attrs in seen.items():
            out.fact(page, "mentions", node, **attrs)
        return set(seen)

    def _links(self, out: Parsed, page: str, base: str, hrefs: list[str], own_host: str | None,
               mentioned: set[str]) -> None:
        linked: set[str] = set()
        for href in hrefs:
            href = href.strip()
            if href.lower().startswith("mailto:"):
                address = href[7:].split("?", 1)[0]
                try:
                    email = email_id(normalize_email(address))
                except NormalizeError:
                    continue
                if email in mentioned:
                    continue
                mentioned.add(email)
                out.fact(page, "mentions", email, context=clean_context(f"mailto link: {address}"))
                out.leads.append(email)
                continue
            target = urljoin(base, href)
            node, host = _url_node(target), _host_node(target)
            if not node or not host or host == own_host or node in linked:
                continue
            if len(linked) >= MAX_LINKS:
                break
            linked.add(node)
            out.fact(page, "links_to", node)
            if host.startswith("domain:") and not well_known(host):
                out.leads.append(host)
