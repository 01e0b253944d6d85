"""Telegram: a public channel's web preview (t.me/s/<name>, older posts with ?before=<post id>).

The preview is the page Telegram serves to browsers without an account: the channel's title,
description and counters, then its latest posts (about 20), each with its id (data-post="name/123"),
its time (<time datetime>), its text and links; a "more" link (a.tme_messages_more[data-before])
leads to the page of older posts. Links and handles in posts become `mentions`/`links_to` with the
post's time, so a channel that announces a case's domain ties the account to that site.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import lxml.etree
import lxml.html

from ..case.indicators import clean_context, context, find_indicators
from ..case.normalize import NormalizeError, normalize_handle, normalize_url
from ..common.timefmt import iso_utc_text
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import account_id, url_id
from .base import Parsed, ParseError, Source
from .web import _host_node, content_type, decode_page, well_known

MAX_POSTS = 200  # posts read from one page (Telegram serves about 20; more is a hostile page)
MAX_MENTIONS = 500  # distinct indicators kept per page
MAX_PAGES = 5  # pages of older posts followed per channel (the engine also stops a chain at 5)
_HANDLE = re.compile(r"(?<![\w@./])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
_TME_TEXT = re.compile(r"(?<![\w.])(?:t|telegram)\.me/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})\b")
_TME = ("t.me", "telegram.me", "www.t.me", "www.telegram.me")
LEAD_KINDS = ("domain", "ip", "email", "company")


def require_html(query: Query, fetched: Fetched) -> bool:
    """False (and the answer marked a bad one, its bytes kept) when a platform sent something other
    than an HTML page: a JSON error, an image, a file."""
    ctype = content_type(fetched.meta)
    if ctype in ("", "text/html", "application/xhtml+xml"):
        return True
    fetched.outcome = Outcome.BAD_ANSWER
    fetched.error = f"{query.request['url']} is {ctype}, not an HTML page"
    return False


def _has_class(cls: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')"


def _first(el: Any, xpath: str) -> Any:
    found = el.xpath(xpath)
    return found[0] if found else None


def _text(el: Any) -> str | None:
    if el is None:
        return None
    for br in el.iter("br"):
        br.tail = "\n" + (br.tail or "")
    text = el.text_content().strip()
    return text or None


def parse_count(text: str) -> int | None:
    """'12.3K' -> 12300, '1 204' -> 1204, '2M' -> 2000000."""
    value = text.replace(" ", "").replace("\u00a0", "").replace(",", "").strip()
    scale = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(value[-1:].upper(), 1)
    if scale != 1:
        value = value[:-1]
    try:
        return int(round(float(value) * scale))
    except ValueError:
        return None


def tme_handle(url: str) -> str | None:
    """The channel or user a t.me link names ('https://t.me/labbot' -> 'labbot'; posts and invites: None)."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in _TME:
        return None
    segs = [s for s in parts.path.split("/") if s]
    if segs and segs[0] == "s":
        segs = segs[1:]
    if not segs or segs[0].startswith("+") or segs[0] in ("joinchat", "addstickers", "share", "proxy", "c"):
        return None
    try:
        return normalize_handle(segs[0])
    except NormalizeError:
        return None


class TelegramSource(Source):
    name = "telegram"
    description = "Telegram: a public channel's web preview (t.me/s/<name>): posts, links, handles"
    consumes = ("account",)
    produces = ("account", "url", "domain", "ip", "email", "company", "crypto_address", "icp_filing")
    emits = ("mentions", "links_to")
    needs_key = False
    key_env = None
    default_endpoint = "https://t.me"
    default_rate = 0.5  # one page every two seconds: Telegram answers 429 to faster readers
    default_burst = 2
    default_concurrency = 2
    default_timeout = 20.0
    default_max_bytes = 5_000_000
    ttl = 86400.0
    version = "1"
    credential_keys = ()

    @property
    def max_pages(self) -> int:
        return int(self.settings.get("max_pages", MAX_PAGES))

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        platform, _, handle = value.partition(":")
        if kind != "account" or platform != "telegram" or not handle:
            return []
        return [self._page(node, handle, None, 1, depth)]

    def _page(self, node: str, handle: str, before: int | None, page: int, depth: int) -> Query:
        base = str(self.endpoint).rstrip("/")
        url = f"{base}/s/{quote(handle)}" + (f"?before={before}" if before is not None else "")
        key = f"channel {handle}" + (f" before {before}" if before is not None else "")
        request = {"url": url, "headers": {"Accept": "text/html"}, "channel": handle, "page": page}
        return Query(self.name, key, node, "http", request, base, (), True, depth)

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED or not require_html(query, fetched):
            return fetched
        head = (fetched.raw or b"")[:400_000]
        if b"tgme_channel_info" not in head and b"tgme_widget_message" not in head:
            # t.me answers a private, deleted or mistyped channel with its plain contact page.
            fetched.outcome = Outcome.NO_RECORD
            fetched.error = f"no public preview of {query.request['channel']} (private, deleted or not a channel)"
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        out = Parsed()
        channel = query.subject
        handle = query.request["channel"]
        if not raw:
            return out
        try:
            doc = lxml.html.document_fromstring(decode_page(raw, meta),
                                                parser=lxml.html.HTMLParser(huge_tree=True))
        except (lxml.etree.LxmlError, ValueError) as exc:
            raise ParseError(f"telegram: {handle}: unreadable page: {exc}") from None
        page_url = meta.get("final_url") or query.request["url"]
        info = _first(doc, f"//div[{_has_class('tgme_channel_info')}]")
        if info is not None:
            title = _text(_first(info, f".//div[{_has_class('tgme_channel_info_header_title')}]"))
            description = _text(_first(info, f".//div[{_has_class('tgme_channel_info_description')}]"))
            counters = {}
            for div in info.xpath(f".//div[{_has_class('tgme_channel_info_counter')}]"):
                kind = _text(_first(div, f".//span[{_has_class('counter_type')}]"))
                value = _text(_first(div, f".//span[{_has_class('counter_value')}]"))
                if kind and value and (n := parse_count(value)) is not None:
                    counters[kind.lower()] = n
            out.node(channel, label=title, title=title, description=description,
                     subscribers=counters.get("subscribers", counters.get("members")),
                     preview_url=f"https://t.me/s/{handle}")
            if description:
                self._read_text(out, channel, description, where="channel description", when=None)
        posts = doc.xpath(f"//div[{_has_class('tgme_widget_message')} and @data-post]")
        out.node(channel, **({"posts_on_page_truncated": len(posts)} if len(posts) > MAX_POSTS else {}))
        seen: set[str] = set()
        times = []
        for post in posts[:MAX_POSTS]:
            when = _first(post, f".//a[{_has_class('tgme_widget_message_date')}]//time/@datetime")
            when = iso_utc_text(str(when)) if when is not None else None  # Telegram writes UTC with an offset
            if when:
                times.append(when)
            post_id = str(post.get("data-post"))
            body = _first(post, f".//div[{_has_class('tgme_widget_message_text')}]")
            text = _text(body) or ""
            hrefs = [a.get("href") for a in (body.iter("a") if body is not None else ()) if a.get("href")]
            preview = _first(post, f".//a[{_has_class('tgme_widget_message_link_preview')}]/@href")
            if preview is not None:
                hrefs.append(str(preview))
            where = f"post {post_id}" + (f" at {when}" if when else "")
            self._read_text(out, channel, text, where=where, when=when, seen=seen)
            for href in hrefs:
                self._link(out, channel, urljoin(page_url, href.strip()), text, where, when, seen)
        if times:
            out.node(channel, oldest_post_seen=min(times), newest_post_seen=max(times))
        more = _first(doc, f"//a[{_has_class('tme_messages_more')} and @data-before]/@data-before")
        page = int(query.request.get("page") or 1)
        if more is not None and str(more).isdigit() and page < self.max_pages and posts:
            before = int(more)
            asked = query.request["url"]
            if f"before={before}" not in asked:
                out.followups.append(self._page(channel, handle, before, page + 1, query.depth))
        out.leads = sorted(set(out.leads))
        return out

    def _read_text(self, out: Parsed, channel: str, text: str, *, where: str, when: str | None,
                   seen: set[str] | None = None) -> None:
        seen = set() if seen is None else seen
        for found in find_indicators(text):
            if found.node in seen or len(seen) >= MAX_MENTIONS or found.node.partition(":")[2] in _TME:
                continue  # t.me itself: the handle after it is what counts, and is read below
            seen.add(found.node)
            out.node(found.node, **found.attrs)
            out.fact(channel, "mentions", found.node, first_seen=when, last_seen=when, posted=when, where=where,
                     context=context(text, found.start, found.end), **found.fact_attrs)
            if found.kind in LEAD_KINDS and not (found.kind == "domain" and well_known(found.node)):
                out.leads.append(found.node)
        for m in [*_HANDLE.finditer(text), *_TME_TEXT.finditer(text)]:
            try:
                other = account_id("telegram", normalize_handle(m.group(1)))
            except NormalizeError:
                continue
            if other != channel and other not in seen and len(seen) < MAX_MENTIONS:
                seen.add(other)
                out.fact(channel, "mentions", other, first_seen=when, last_seen=when, posted=when, where=where,
                         context=context(text, m.start(), m.end()))

    def _link(self, out: Parsed, channel: str, href: str, text: str, where: str, when: str | None,
              seen: set[str]) -> None:
        if urlsplit(href).scheme not in ("http", "https"):
            return
        if handle := tme_handle(href):
            other = account_id("telegram", handle)
            if other != channel and other not in seen and len(seen) < MAX_MENTIONS:
                seen.add(other)
                out.fact(channel, "mentions", other, first_seen=when, last_seen=when, posted=when, where=where,
                         context=clean_context(f"link {href}"))
            return
        if (urlsplit(href).hostname or "").lower() in _TME:
            return  # the channel's own posts, photos and invites
        try:
            url = url_id(normalize_url(href))
        except NormalizeError:
            return
        host = _host_node(href)
        if url not in seen and len(seen) < MAX_MENTIONS:
            seen.add(url)
            out.fact(channel, "links_to", url, first_seen=when, last_seen=when, posted=when, where=where,
                     context=clean_context(text[:200]) or None)
        if host and host not in seen and len(seen) < MAX_MENTIONS:
            seen.add(host)
            out.fact(channel, "mentions", host, first_seen=when, last_seen=when, posted=when, where=where,
                     context=clean_context(f"link {href}"))
            if not well_known(host):
                out.leads.append(host)


