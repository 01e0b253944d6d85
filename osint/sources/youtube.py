"""YouTube: a channel's public "about" page (youtube.com/@<handle>/about), read from the data embedded in it.

The page carries its data as one JSON object (`var ytInitialData = {...};`): the channel's
metadata (channelMetadataRenderer: title, description, externalId, vanityChannelUrl) and, for the
about panel, an aboutChannelViewModel (country, joinedDateText, subscriberCountText, links, each an
attributed text whose tap goes through youtube.com/redirect?q=<the real URL>). The object is decoded
with the JSON decoder from where the page starts it, then searched by key, so a moved panel is still
found.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator
from urllib.parse import parse_qs, quote, urlsplit

from ..case.indicators import context, find_indicators
from ..case.normalize import NormalizeError, normalize_handle, normalize_url
from ..common.timefmt import english_date
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import account_id, region_id, url_id
from .base import Parsed, ParseError, Source
from .googleplay import COUNTRIES
from .telegram import require_html, tme_handle
from .web import _host_node, decode_page, well_known

_START = re.compile(r"(?:var\s+ytInitialData|window\[\"ytInitialData\"\])\s*=\s*")
MAX_LINKS = 50
MAX_MENTIONS = 200
MAX_NODES_WALKED = 2_000_000  # JSON values visited looking for the panels: a hostile page stops here
LEAD_KINDS = ("domain", "ip", "email", "company")
_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")


def initial_data(page: str) -> dict[str, Any]:
    m = _START.search(page)
    if not m:
        raise ValueError("no ytInitialData in the page")
    data, _ = json.JSONDecoder().raw_decode(page, m.end())
    if not isinstance(data, dict):
        raise ValueError("ytInitialData is not an object")
    return data


def find_key(data: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key`, anywhere in the JSON (iteratively: no recursion limit to hit)."""
    stack, walked = [data], 0
    while stack and walked < MAX_NODES_WALKED:
        node = stack.pop()
        walked += 1
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key:
                    yield v
                if isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


def _content(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        for k in ("content", "simpleText"):
            if isinstance(value.get(k), str):
                return value[k].strip() or None
        runs = value.get("runs")
        if isinstance(runs, list):
            return "".join(r.get("text", "") for r in runs if isinstance(r, dict)).strip() or None
    return None


def real_url(link: Any) -> str | None:
    """The URL an attributed link opens: the q= of YouTube's redirect, or the shown text."""
    for url in find_key(link, "url"):
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.path == "/redirect" and (q := parse_qs(parts.query).get("q")):
                return q[0]
            if parts.scheme in ("http", "https"):
                return url
    text = _content(link)
    if text and " " not in text:
        return text if "://" in text else f"https://{text}"
    return None


def joined_date(text: str | None) -> str | None:
    """'Joined Mar 5, 2021' -> '2021-03-05'."""
    return english_date(re.sub(r"^\s*Joined\s+", "", text)) if text else None


class YouTubeSource(Source):
    name = "youtube"
    description = "YouTube: a channel's public about page: title, description, links, country, joined"
    consumes = ("account",)
    produces = ("account", "url", "domain", "ip", "email", "region", "company")
    emits = ("mentions", "links_to", "hosted_on", "located_in")
    needs_key = False
    key_env = None
    default_endpoint = "https://www.youtube.com"
    default_rate = 0.5
    default_burst = 2
    default_concurrency = 2
    default_timeout = 20.0
    default_max_bytes = 5_000_000
    ttl = 7 * 86400.0
    version = "1"
    credential_keys = ()

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        platform, _, handle = value.partition(":")
        if kind != "account" or platform != "youtube" or not handle:
            return []
        path = f"/@{quote(handle)}/about"
        written = self._written_channel_id(node)
        if written:  # channel ids are case-sensitive; the node id is folded, the case file is not
            path = f"/channel/{written}/about"
        base = str(self.endpoint).rstrip("/")
        request = {"url": base + path, "headers": {"Accept": "text/html", "Accept-Language": "en"},
                   "channel": handle}
        return [Query(self.name, f"channel {handle}", node, "http", request, base, (), True, depth)]

    def _written_channel_id(self, node: str) -> str | None:
        case = self.context.case
        for item in (case.indicators() if case is not None else ()):
            if item.node_id == node and getattr(item, "url", None):
                segs = [s for s in urlsplit(item.url).path.split("/") if s]
                if len(segs) >= 2 and segs[0] == "channel" and _CHANNEL_ID.match(segs[1]):
                    return segs[1]
        return None

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED or not require_html(query, fetched):
            return fetched
        if b"ytInitialData" not in (fetched.raw or b""):
            fetched.outcome = Outcome.BAD_ANSWER
            fetched.error = f"{query.request['url']}: not a YouTube channel page (no ytInitialData)"
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        out = Parsed()
        if not raw or (meta.get("status") or 200) >= 400:
            return out
        try:
            data = initial_data(decode_page(raw, meta))
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"youtube: {query.key}: cannot read the page's data: {exc}") from None
        channel = query.subject
        meta_r = next((v for v in find_key(data, "channelMetadataRenderer") if isinstance(v, dict)), {})
        about = next((v for v in find_key(data, "aboutChannelViewModel") if isinstance(v, dict)), {})
        if not meta_r and not about:
            return out  # a page without a channel (YouTube's "this page isn't available")
        description = _content(about.get("description")) or _content(meta_r.get("description"))
        country = _content(about.get("country"))
        title = _content(meta_r.get("title"))
        out.node(channel, label=title, title=title, description=description,
                 channel_id=_content(about.get("channelId")) or _content(meta_r.get("externalId")),
                 vanity_url=_content(meta_r.get("vanityChannelUrl")), country=country,
                 joined=joined_date(_content(about.get("joinedDateText"))),
                 subscribers=_content(about.get("subscriberCountText")), views=_content(about.get("viewCountText")),
                 keywords=_content(meta_r.get("keywords")))
        if country and (code := COUNTRIES.get(country.lower())):
            out.fact(channel, "located_in", region_id(code), via="channel country (as the owner set it)")
        seen: set[str] = set()
        if description:
            for found in find_indicators(description):
                if found.node in seen or len(seen) >= MAX_MENTIONS:
                    continue
                seen.add(found.node)
                out.node(found.node, **found.attrs)
                out.fact(channel, "mentions", found.node, where="channel description",
                         context=context(description, found.start, found.end), **found.fact_attrs)
                if found.kind in LEAD_KINDS and not (found.kind == "domain" and well_known(found.node)):
                    out.leads.append(found.node)
        links = about.get("links") if isinstance(about.get("links"), list) else []
        for item in links[:MAX_LINKS]:
            view = item.get("channelExternalLinkViewModel") if isinstance(item, dict) else None
            if not isinstance(view, dict):
                continue
            url = real_url(view.get("link"))
            label = _content(view.get("title"))
            if url:
                self._link(out, channel, url, label, seen)
        out.leads = sorted(set(out.leads))
        return out

    def _link(self, out: Parsed, channel: str, href: str, label: str | None, seen: set[str]) -> None:
        if handle := tme_handle(href):
            other = account_id("telegram", handle)
            out.fact(channel, "links_to", other, where="channel links", label=label)
            return
        try:
            url = url_id(normalize_url(href))
        except NormalizeError:
            return
        if url in seen:
            return
        seen.add(url)
        out.fact(channel, "links_to", url, where="channel links", label=label)
        if host := _host_node(href):
            out.fact(url, "hosted_on", host)
            if host.startswith("domain:x.com") or host.startswith("domain:twitter.com"):
                handle_x = urlsplit(href).path.strip("/").split("/")[0]
                try:
                    out.fact(channel, "links_to", account_id("x", normalize_handle(handle_x)), where="channel links")
                except NormalizeError:
                    pass
            elif not well_known(host):
                out.leads.append(host)
