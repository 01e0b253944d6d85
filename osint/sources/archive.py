"""Web archives: what a page said before it changed or vanished, dated by the archive's capture time.

Two questions per page or host. First the archive's index: the Wayback Machine's CDX server
(`/cdx/search/cdx`, JSON output) or a Memento TimeMap (RFC 7089, link-format), for the captures'
times, original URLs, statuses, media types and digests. Then, for the captures a stated rule
chooses, the capture's original bytes (the `id_` form, never the replay page with the archive's
toolbar), which the web source's extractor reads; every fact is dated by the captures it rests on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

from ..case.normalize import NormalizeError, normalize_url
from ..config import SourceSettings
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from .base import Parsed, ParseError, Source
from .web import WebSource, _host_node, _url_node

CDX_URL = "https://web.archive.org/cdx/search/cdx"
CAPTURE_URL = "https://web.archive.org/web/"
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
# 2xx pages, redirects and 404s: what a page said, where it sent readers, and when it was gone.
DEFAULT_FILTER = "statuscode:([23]..|404)"
DEFAULT_RULE = ("incident", "first", "last", "digests")
RULES = frozenset(DEFAULT_RULE)
MAX_ROWS = 5000  # rows read from one index answer
MAX_URLS = 20  # distinct pages followed from one host query
_TS = re.compile(r"^\d{4,14}$")
_WAYBACK_PATH = re.compile(r"/(\d{4,14})(?:[a-z]{2}_)?/(.+)$")


@dataclass(frozen=True)
class Capture:
    """One row of an archive's index."""

    timestamp: str  # 14 digits, UTC
    original: str
    mimetype: str
    status: int | None
    digest: str
    length: int | None

    @property
    def when(self) -> str:
        return ts_iso(self.timestamp)


def ts_iso(ts: str) -> str:
    """A Wayback timestamp (1 to 14 digits, UTC) as ISO 8601: '20220510083000' -> '2022-05-10T08:30:00Z'."""
    t = pad_ts(ts)
    return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"


def pad_ts(ts: str) -> str:
    """1 to 14 digits to 14: a bare year is its first second ('2022' -> '20220101000000')."""
    return (ts + "0101000000"[max(0, len(ts) - 4):])[:14] if len(ts) < 14 else ts[:14]


def iso_ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def read_cdx(raw: bytes) -> tuple[list[Capture], str | None]:
    """Rows of a CDX JSON answer (header row first) and its resumption key, if any."""
    doc = json.loads(raw)
    if not isinstance(doc, list) or not all(isinstance(r, list) for r in doc):
        raise ValueError("not a CDX JSON array of rows")
    if not doc:
        return [], None
    header = [str(h) for h in doc[0]]
    resume = None
    rows = doc[1:]
    # showResumeKey: an empty row, then a row holding the key alone.
    if len(rows) >= 2 and rows[-2] == [] and len(rows[-1]) == 1:
        resume = str(rows[-1][0])
        rows = rows[:-2]
    idx = {name: header.index(name) for name in CDX_FIELDS if name in header}
    if "timestamp" not in idx or "original" not in idx:
        raise ValueError(f"CDX header lacks timestamp/original: {header[:10]}")
    out = []
    for row in rows[:MAX_ROWS]:
        if not row:
            continue
        get = lambda name: str(row[idx[name]]) if name in idx and idx[name] < len(row) else ""  # noqa: E731
        ts = get("timestamp")
        if not _TS.match(ts):
            continue
        status, length = get("statuscode"), get("length")
        out.append(Capture(pad_ts(ts), get("original"), get("mimetype"),
                           int(status) if status.isdigit() else None, get("digest") if get("digest") != "-" else "",
                           int(length) if length.isdigit() else None))
    return out, resume


_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[a-zA-Z_-]+\s*=\s*(?:"[^"]*"|[^;,\s<]+))*)')
_PARAM = re.compile(r';\s*([a-zA-Z_-]+)\s*=\s*"([^"]*)"|;\s*([a-zA-Z_-]+)\s*=\s*([^;,\s]+)')


def read_timemap(raw: bytes) -> list[Capture]:
    """Mementos of an RFC 7089 TimeMap in link-format (RFC 6690): each memento's URI-M and datetime."""
    text = raw.decode("utf-8", errors="replace")
    if "<" not in text:
        raise ValueError("not a link-format TimeMap")
    original = ""
    mementos: list[tuple[str, str]] = []
    for m in _LINK.finditer(text):
        uri, params = m.group(1).strip(), m.group(2)
        attrs = {}
        for p in _PARAM.finditer(params):
            attrs[(p.group(1) or p.group(3)).lower()] = p.group(2) if p.group(1) else p.group(4)
        rels = attrs.get("rel", "").split()
        if "original" in rels:
            original = uri
        if "memento" in rels and attrs.get("datetime"):
            mementos.append((uri, attrs["datetime"]))
    out = []
    for uri, when in mementos[:MAX_ROWS]:
        try:
            dt = parsedate_to_datetime(when)
        except (TypeError, ValueError, IndexError):
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        ts = iso_ts(dt)
        if len(ts) != 14:  # a year before 1000: no capture of the web
            continue
        # Mementos carry no digest: the URI-M stands in, so each is a distinct capture.
        out.append(Capture(ts, original or uri, "", None, f"memento:{uri}", None))
    return out


def _incident(context: Any) -> str | None:
    case = getattr(context, "case", None)
    inc = getattr(case, "incident", None)
    inc = inc() if callable(inc) else inc
    t = getattr(inc, "time", None)
    return iso_ts(t) if isinstance(t, datetime) else None


def choose(captures: list[Capture], rule: Iterable[str], cap: int, incident: str | None) -> list[tuple[Capture, list[str]]]:
    """The captures to fetch for one page, and the capture times each one's facts are dated by.

    Identical digests are fetched once: the first capture of a digest is fetched, and the facts
    read from it span every capture of that digest. `rule` orders what is kept when `cap` cuts:
    `incident` (the captures nearest before and after the incident), `first`/`last` (of the page),
    `digests` (every other distinct content, oldest first). Redirect captures count as content.
    """
    rows = sorted((c for c in captures if c.status != 404), key=lambda c: c.timestamp)
    if not rows:
        return []
    by_digest: dict[str, list[Capture]] = {}
    for c in rows:
        by_digest.setdefault(c.digest or f"{c.timestamp} {c.original}", []).append(c)
    key = lambda c: c.digest or f"{c.timestamp} {c.original}"  # noqa: E731
    wanted: list[str] = []
    for step in rule:
        if step == "incident" and incident:
            before = [c for c in rows if c.timestamp <= incident]
            after = [c for c in rows if c.timestamp > incident]
            wanted += [key(c) for c in (before[-1:] + after[:1])]
        elif step == "first":
            wanted.append(key(rows[0]))
        elif step == "last":
            wanted.append(key(rows[-1]))
        elif step == "digests":
            wanted += [key(c) for c in rows]
    chosen = list(dict.fromkeys(wanted))[:max(0, cap)]
    return [(by_digest[k][0], [c.timestamp for c in by_digest[k]]) for k in chosen]


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
        url = _raw_memento(uri_m)
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
        times = [t for t in cap.get("times") or [cap["timestamp"]] if isinstance(t, str) and _TS.match(t)]
        first, last = ts_iso(min(times)), ts_iso(max(times))
        status = meta.get("status")
        page = _url_node(original)
        out = Parsed()
        if page is None:
            return out
        stamp = {"capture": first, "archive": _origin(query.request["url"])}
        if status is not None and 300 <= status < 400:
            location = (meta.get("headers") or {}).get("location") or ""
            target = _archived_target(urljoin(query.request["url"], location))
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


def _archived_target(location: str) -> str | None:
    """The original URL an archive's redirect points to ('…/web/20230601000000id_/http://x/' -> 'http://x/')."""
    parts = urlsplit(location)
    m = _WAYBACK_PATH.search(parts.path + (f"?{parts.query}" if parts.query else ""))
    target = m.group(2) if m and re.match(r"https?:/", m.group(2)) else location
    target = re.sub(r"^(https?):/(?!/)", r"\1://", target)  # some replays squash the double slash
    try:
        return normalize_url(target)
    except NormalizeError:
        return None


def _raw_memento(uri_m: str) -> str:
    """A Wayback-style URI-M in its id_ form (the original bytes); other URI-Ms as they are."""
    parts = urlsplit(uri_m)
    m = re.match(r"^(.*/)(\d{14})(/.*)$", parts.path)
    if m:
        path = f"{m.group(1)}{m.group(2)}id_{m.group(3)}"
        return parts._replace(path=path).geturl()
    return uri_m


__all__ = ["ArchiveSource", "Capture", "choose", "read_cdx", "read_timemap", "ts_iso"]
