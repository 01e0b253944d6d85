"""Web archives: what a page said before it changed or vanished, dated by the archive's capture time.

Two questions per page or host. First the archive's index: the Wayback Machine's CDX server
(`/cdx/search/cdx`, JSON output) or a Memento TimeMap (RFC 7089, link-format), for the captures'
times, original URLs, statuses, media types and digests. Then, for the captures a stated rule
chooses, the capture's original bytes (the `id_` form, never the replay page with the archive's
toolbar), which the web source's extractor reads; every fact is dated by the captures it rests on.
Reading the index and choosing the captures is in sources/archive_index.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..config import SourceSettings
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from .archive_index import (
    CDX_FIELDS, TIMESTAMP, Capture, archived_target, choose, iso_ts, raw_memento, read_cdx, read_timemap, ts_iso,
)
from .base import Parsed, ParseError, Source
from .web import WebSource, _host_node, _url_node

CDX_URL = "https://web.archive.org/cdx/search/cdx"
CAPTURE_URL = "https://web.archive.org/web/"
# 2xx pages, redirects and 404s: what a page said, where it sent readers, and when it was gone.
DEFAULT_FILTER = "statuscode:([23]..|404)"
DEFAULT_RULE = ("incident", "first", "last", "digests")
RULES = frozenset(DEFAULT_RULE)
MAX_URLS = 20  # distinct pages followed from one host query


def _incident(context: Any) -> str | None:
    case = getattr(context, "case", None)
    inc = getattr(case, "incident", None)
    inc = inc() if callable(inc) else inc
    t = getattr(inc, "time", None)
    return iso_ts(t) if isinstance(t, datetime) else None


class ArchiveSource(Source):
    name = "archive"
    description = ("Web archives (Wayback CDX, Memento TimeMaps): what pages said in the past, "
                   "dated by capture time")
    consumes = ("url", "domain")
    produces = WebSource.produces  # a capture is read as the web source reads a page
    emits = WebSource.emits + ("redirects_to", "missing_from")
    needs_key = False
    key_env = None
    default_endpoint = CDX_URL
    default_rate = 0.5  # the Internet Archive throttles: one request every two seconds by default
    default_burst = 1
    default_concurrency = 2
    default_timeout = 60.0
    default_retries = 3
    default_max_bytes = 5_000_000  # per capture, and per index answer
    ttl = 30 * 86400.0  # captures of the past do not change
    version = "1"
    credential_keys = ()

    def __init__(self, settings: SourceSettings, context: Any):
        super().__init__(settings, context)
        self._web = WebSource(SourceSettings(), context)

    # -- settings ----------------------------------------------------------------------

    @property
    def cdx_url(self) -> str | None:
        url = self.settings.get("cdx_url", self.settings.get("endpoint", CDX_URL))
        return url or None  # "" turns the CDX server off (Memento archives only)

    @property
    def endpoint(self) -> str:
        return self.cdx_url or (self.timemaps[0] if self.timemaps else "(none configured)")

    def rate_for(self, server: str) -> float:
        """Per-archive rates: `rates = {"web.archive.org" = 0.5, "arquivo.pt" = 1}` (host, or host:port)."""
        rates = self.settings.get("rates") or {}
        host = server.rsplit(":", 1)[0] if server.count(":") == 1 else server
        for key in (server, host):
            value = rates.get(key) if isinstance(rates, dict) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return float(value)
        return self.rate

    @property
    def capture_url(self) -> str:
        url = self.settings.get("capture_url") or CAPTURE_URL
        return url if url.endswith("/") else url + "/"

    @property
    def timemaps(self) -> list[str]:
        return [str(u) for u in self.settings.get("timemaps") or []]

    def rule(self) -> list[str]:
        rule = self.settings.get("select") or list(DEFAULT_RULE)
        return [r for r in rule if r in RULES]

    @property
    def max_captures(self) -> int:
        return int(self.settings.get("max_captures_per_url", 6))

    # -- questions ---------------------------------------------------------------------

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        if kind == "url" and value:
            target, match = value, str(self.settings.get("url_match", "exact"))
        elif kind == "domain" and value and not any(lab.startswith("_") for lab in value.split(".")):
            mode = self.settings.get("domains", "case")
            if mode in (False, "none", "off") or (mode not in (True, "all") and depth != 0):
                return []
            target, match = value, str(self.settings.get("domain_match", "host"))
        else:
            return []
        if kind == "url" and urlsplit(target).scheme not in ("http", "https"):
            return []
        out = []
        if self.cdx_url:
            out.append(self._cdx_query(node, target, match, depth, None))
        if kind == "url":
            for tm in self.timemaps:
                url = tm + target if "{url}" not in tm else tm.replace("{url}", target)
                out.append(Query(self.name, f"timemap {tm} {target}", node, "http",
                                 {"url": url, "headers": {"Accept": "application/link-format"}},
                                 _origin(url), (), True, depth))
        return out

    def _cdx_query(self, node: str, target: str, match: str, depth: int, resume: str | None) -> Query:
        params: dict[str, Any] = {"url": target, "output": "json", "matchType": match,
                                  "fl": ",".join(CDX_FIELDS)}
        collapse = self.settings.get("collapse", "digest")
        if collapse:
            params["collapse"] = collapse
        flt = self.settings.get("filter", DEFAULT_FILTER)
        if flt:
            params["filter"] = flt
        for name in ("from", "to"):
            if self.settings.get(name):
                params[name] = str(self.settings.get(name))
        params["limit"] = int(self.settings.get("limit", 1000))
        params["showResumeKey"] = "true"
        if resume:
            params["resumeKey"] = resume
        key = f"cdx {match} {target}" + (f" resume {resume}" if resume else "")
        return Query(self.name, key, node, "http", {"url": self.cdx_url, "params": params,
                                                    "headers": {"Accept": "application/json"}},
                     _origin(self.cdx_url), (), True, depth)

    def capture_query(self, subject: str, cap: Capture, times: list[str], depth: int, archive: str) -> Query:
        # id_: the bytes as the archive received them, without the replay toolbar or rewritten links.
        url = f"{archive}{cap.timestamp}id_/{cap.original}"
        ident = cap.digest if cap.digest and cap.status and cap.status < 300 else f"{cap.timestamp} {cap.original}"
        request = {"url": url, "follow_redirects": False, "headers": {"Accept": "*/*"},
                   "capture": {"original": cap.original, "timestamp": cap.timestamp, "digest": cap.digest,
                               "status": cap.status, "mimetype": cap.mimetype, "times": sorted(times)}}
        return Query(self.name, f"capture {ident}", subject, "http", request, _origin(url), (), True, depth)

    # -- answers -----------------------------------------------------------------------

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED:
            return fetched
        if "capture" in query.request:
            status = fetched.meta.get("status") or 200
            # A captured file (an APK, an image) is kept as evidence, not read as a page: as the web source does.
            return fetched if 300 <= status < 400 else self._web.classify(query, fetched)
        try:
            rows = self._index(query, fetched.raw or b"")
        except (ValueError, UnicodeError, RecursionError) as exc:
            fetched.outcome = Outcome.BAD_ANSWER
            fetched.error = f"{query.endpoint} sent no readable capture index: {str(exc)[:200]}"
            return fetched
        if not rows:
            fetched.outcome = Outcome.NO_RECORD
        return fetched

    def _index(self, query: Query, raw: bytes) -> list[Capture]:
        if query.key.startswith("timemap "):
            return read_timemap(raw)
        return read_cdx(raw)[0]

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if "capture" in query.request:
            return self._parse_capture(query, raw, meta)
        if (meta.get("status") or 200) >= 400 or not raw.strip():
            return Parsed()
        out = Parsed()
        try:
            if query.key.startswith("timemap "):
                rows, resume, archive = read_timemap(raw), None, None
            else:
                rows, resume = read_cdx(raw)
                archive = self.capture_url
        except ValueError as exc:
            raise ParseError(f"archive: cannot read the answer to {query.key}: {exc}") from None
        if resume:
            params = query.request["params"]
            out.followups.append(self._cdx_query(query.subject, params["url"], params["matchType"], query.depth,
                                                 resume))
        pages: dict[str, list[Capture]] = {}
        for cap in rows:
            node = _url_node(cap.original)
            if node is not None:
                pages.setdefault(node, []).append(cap)
        incident = _incident(self.context)
        for page, caps in list(pages.items())[:MAX_URLS]:
            gone = sorted(c.timestamp for c in caps if c.status == 404)
            host = _host_node(caps[0].original)
            if gone and host:
                out.fact(page, "missing_from", host, first_seen=ts_iso(gone[0]), last_seen=ts_iso(gone[-1]),
                         captures=len(gone), status=404)
            for cap, cap_times in choose(caps, self.rule(), self.max_captures, incident):
                if archive is None:  # a Memento archive: the URI-M is the capture's own address
                    out.followups.append(self._memento_query(query, page, cap, cap_times))
                else:
                    out.followups.append(self.capture_query(page, cap, cap_times, query.depth, archive))
        return out

    def _memento_query(self, query: Query, page: str, cap: Capture, times: list[str]) -> Query:
        uri_m = cap.digest.removeprefix("memento:")
        url = raw_memento(uri_m)
        request = {"url": url, "follow_redirects": False, "headers": {"Accept": "*/*"},
                   "capture": {"original": cap.original, "timestamp": cap.timestamp, "digest": "",
                               "status": None, "mimetype": "", "times": sorted(times), "memento": uri_m}}
        # A URI-M is the TimeMap's word: trusted only on a server the configuration names.
        configured = {_origin(u) for u in [*self.timemaps, self.cdx_url or "", self.capture_url] if u}
        return Query(self.name, f"capture {url}", page, "http", request, _origin(url), (),
                     _origin(url) in configured, query.depth)

    def _parse_capture(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        cap = query.request["capture"]
        original = cap["original"]
        times = [t for t in cap.get("times") or [cap["timestamp"]] if isinstance(t, str) and TIMESTAMP.match(t)]
        first, last = ts_iso(min(times)), ts_iso(max(times))
        status = meta.get("status")
        page = _url_node(original)
        out = Parsed()
        if page is None:
            return out
        stamp = {"capture": first, "archive": _origin(query.request["url"])}
        if status is not None and 300 <= status < 400:
            location = (meta.get("headers") or {}).get("location") or ""
            target = archived_target(urljoin(query.request["url"], location))
            node = _url_node(target) if target else None
            hop = urljoin(query.request["url"], location)
            if node == page and _origin(hop) == _origin(query.request["url"]) and "id_/" in hop:
                # The archive's own redirect to its nearest capture of the same page (a timestamp
                # that was not exact): that capture is the answer, asked once, still in its id_ form.
                out.followups.append(replace(query, key=f"capture {hop}", request={**query.request, "url": hop}))
                return out
            if node and node != page:
                out.fact(page, "redirects_to", node, first_seen=first, last_seen=last, status=status, **stamp)
                host = _host_node(target)
                if host and host.startswith("domain:"):
                    out.leads.append(host)
            return out
        # The web source's reading of the page, as if it had been fetched from the original address.
        web_meta = {"status": status, "headers": meta.get("headers") or {}, "final_url": original}
        web_query = Query("web", f"GET {original}", page, "http", {"url": original}, _origin(original), (), False,
                          query.depth)
        parsed = self._web.parse(web_query, raw, web_meta)
        out.nodes = parsed.nodes
        out.leads = parsed.leads
        for f in parsed.facts:
            out.facts.append(replace(f, first_seen=first, last_seen=last, attrs={**f.attrs, **stamp}))
        return out


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


__all__ = ["ArchiveSource", "Capture", "choose", "read_cdx", "read_timemap", "ts_iso"]
