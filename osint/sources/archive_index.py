"""A web archive's index, read: CDX JSON rows and Memento TimeMaps as captures, the rule that chooses
which captures to fetch, and the archives' URL and timestamp forms. No requests are made here; the
archive source (sources/archive.py) asks and records.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Iterable
from urllib.parse import urlsplit

from ..case.normalize import NormalizeError, normalize_url

CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
MAX_ROWS = 5000  # rows read from one index answer
TIMESTAMP = re.compile(r"^\d{4,14}$")
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
        if not TIMESTAMP.match(ts):
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


def archived_target(location: str) -> str | None:
    """The original URL an archive's redirect points to ('…/web/20230601000000id_/http://x/' -> 'http://x/')."""
    parts = urlsplit(location)
    m = _WAYBACK_PATH.search(parts.path + (f"?{parts.query}" if parts.query else ""))
    target = m.group(2) if m and re.match(r"https?:/", m.group(2)) else location
    target = re.sub(r"^(https?):/(?!/)", r"\1://", target)  # some replays squash the double slash
    try:
        return normalize_url(target)
    except NormalizeError:
        return None


def raw_memento(uri_m: str) -> str:
    """A Wayback-style URI-M in its id_ form (the original bytes); other URI-Ms as they are."""
    parts = urlsplit(uri_m)
    m = re.match(r"^(.*/)(\d{14})(/.*)$", parts.path)
    if m:
        path = f"{m.group(1)}{m.group(2)}id_{m.group(3)}"
        return parts._replace(path=path).geturl()
    return uri_m
