"""The lab world's web archive: a Wayback-style CDX server, capture replay and a Memento TimeMap.

Shapes as the Wayback CDX server documents them: `output=json` is an array whose first row names the
fields; `showResumeKey=true` ends a page cut by `limit` with an empty row and a row holding the key;
`collapse=digest` drops adjacent duplicates only; `filter=[!]field:regex` matches the whole field.
Captures replay at `/web/<14 digits>id_/<original>` as the original bytes; without `id_` the page
comes rewritten, with the archive's toolbar (which our source must never ask for).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..http_server import HTTPRequest, Response

NAME = "archive"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "archive"
CDX_PATH = "/wayback/cdx/search/cdx"
WEB_PREFIX = "/wayback/web/"
TIMEMAP_PREFIX = "/memento/timemap/link/"
GUIDE = "http://www.example.com/guide/bind/"
MOVED_TO = "http://www.example.com/guide/bind-v2/"
OLD_IP = "203.0.113.88"  # listed only by captures of 2022

# (timestamp, original as the crawler wrote it, mimetype, status, capture file or None)
CAPTURES = [
    ("20220301000000", "http://www.example.com/", "text/html", 200, "home-2022.html"),
    ("20220510083000", "http://www.example.com:80/guide/bind/", "text/html", 200, "guide-2022.html"),
    ("20220601120000", "http://www.example.com/guide/bind/", "text/html", 200, "guide-2022.html"),
    ("20221101090000", "http://www.example.com/guide/bind/", "text/html", 200, "guide-2022b.html"),
    ("20230115000000", "http://www.example.com/guide/bind/", "text/html", 200, "guide-2022.html"),
    ("20230402100000", "http://www.example.com/guide/bind/", "text/html", 200, "guide-2023.html"),
    ("20230601000000", "http://www.example.com/guide/bind/", "text/html", 302, None),
    ("20240101000000", "http://www.example.com/guide/bind/", "text/html", 404, None),
    ("20240301000000", "http://www.example.com/guide/bind/", "text/html", 503, None),
]
REDIRECT_BODY = b"<html><body>302 Found</body></html>"
MISSING_BODY = b"<html><body>404 Not Found</body></html>"
ERROR_BODY = b"<html><body>503 Service Unavailable</body></html>"


def surt(url: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return ",".join(reversed(host.split("."))) + ")" + (parts.path or "/").lower() + (
        "?" + parts.query if parts.query else "")


def body_of(row: tuple) -> bytes:
    ts, original, mime, status, name = row
    if name:
        return (DATA / "captures" / name).read_bytes()
    return {302: REDIRECT_BODY, 404: MISSING_BODY}.get(status, ERROR_BODY)


def digest(body: bytes) -> str:
    return base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")  # the form CDX indexes use


def cdx_rows() -> list[list[str]]:
    rows = []
    for row in CAPTURES:
        ts, original, mime, status, _ = row
        body = body_of(row)
        rows.append([surt(original), ts, original, mime, str(status), digest(body), str(len(body) + 300)])
    return sorted(rows, key=lambda r: (r[0], r[1]))


def _matches(row: list[str], url: str, match: str) -> bool:
    key = surt(url)
    if match == "exact":
        return row[0] == key
    if match == "prefix":
        return row[0].startswith(key.rstrip("/"))
    host = key.split(")", 1)[0]
    if match == "host":
        return row[0].split(")", 1)[0] == host
    if match == "domain":
        h = row[0].split(")", 1)[0]
        return h == host or h.startswith(host + ",")
    return False


FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def cdx(request: HTTPRequest) -> Response:
    q, p = request.query, request.params
    url = p.get("url", "")
    match = p.get("matchType", "exact")
    if url.endswith("*"):
        url, match = url.rstrip("*"), "prefix"
    rows = [r for r in cdx_rows() if _matches(r, url, match)]
    if p.get("from"):
        rows = [r for r in rows if r[1] >= p["from"].ljust(14, "0")]
    if p.get("to"):
        rows = [r for r in rows if r[1][:len(p["to"])] <= p["to"]]
    for flt in q.get("filter", []):
        negate = flt.startswith("!")
        name, _, regex = flt.lstrip("!").partition(":")
        i = FIELDS.index(name)
        rows = [r for r in rows if bool(re.fullmatch(regex, r[i])) != negate]
    for spec in q.get("collapse", []):
        name, _, n = spec.partition(":")
        i = FIELDS.index(name)
        cut = int(n) if n else None
        kept, last = [], None
        for r in rows:
            value = (r[0], r[i][:cut])
            if value != last:
                kept.append(r)
            last = value
        rows = kept
    if p.get("resumeKey"):
        after = unquote(p["resumeKey"]).rstrip("!")
        rows = [r for r in rows if f"{r[0]} {r[1]}" > after]
    limit = int(p.get("limit", "150000"))
    more = len(rows) > limit
    rows = rows[:limit]
    fl = p.get("fl")
    cols = [FIELDS.index(f) for f in fl.split(",")] if fl else list(range(len(FIELDS)))
    if p.get("output") != "json":
        text = "".join(" ".join(r[c] for c in cols) + "\n" for r in rows)
        return Response(200, text, content_type="text/plain")
    doc: list[list[str]] = [[FIELDS[c] for c in cols]] if rows else []
    doc += [[r[c] for c in cols] for r in rows]
    if more and p.get("showResumeKey") == "true":
        doc += [[], [quote(f"{rows[-1][0]} {rows[-1][1]}!", safe="")]]
    return Response(200, json.dumps(doc).encode(), content_type="application/json")


_REPLAY = re.compile(r"^/wayback/web/(\d{14})(id_)?/(.+)$")


def replay(request: HTTPRequest, base: str) -> Response:
    m = _REPLAY.match(request.path)
    if not m:
        return Response(404, "not a capture address\n")
    ts, raw_mode, original = m.group(1), m.group(2), m.group(3)
    original = re.sub(r"^(https?):/(?!/)", r"\1://", original)
    found = [row for row in CAPTURES if row[0] == ts and surt(row[1]) == surt(original)]
    if not found:
        # As the Wayback Machine does: a timestamp that is not a capture's goes to the nearest capture.
        near = sorted((abs(int(row[0]) - int(ts)), row[0]) for row in CAPTURES if surt(row[1]) == surt(original))
        if near:
            where = f"{base}{WEB_PREFIX}{near[0][1]}{raw_mode or ''}/{original}"
            return Response(302, b"", {"Location": where}, content_type="text/plain")
        return Response(404, MISSING_BODY, content_type="text/html")
    row = found[0]
    body = body_of(row)
    when = format_datetime(datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc), usegmt=True)
    headers = {"Memento-Datetime": when, "Link": f'<{original}>; rel="original"'}
    if row[3] == 302:
        headers["Location"] = f"{base}{WEB_PREFIX}20230601000001id_/{MOVED_TO}"
    if not raw_mode:  # the replay page: rewritten links and the archive's toolbar
        body = body.replace(b"<body>", b"<body><div id=\"wm-ipp\">LAB WAYBACK TOOLBAR 203.0.113.250</div>", 1)
    return Response(row[3], body, headers, content_type="text/html; charset=utf-8")


def timemap(request: HTTPRequest, base: str) -> Response:
    original = request.target.split(TIMEMAP_PREFIX, 1)[1]
    original = re.sub(r"^(https?):/(?!/)", r"\1://", original)
    rows = [r for r in CAPTURES if surt(r[1]) == surt(original) and r[3] == 200]
    if not rows:
        return Response(404, "no mementos\n")
    lines = [f'<{original}>; rel="original"',
             f'<{base}{TIMEMAP_PREFIX}{original}>; rel="self"; type="application/link-format"']
    for i, (ts, orig, *_rest) in enumerate(rows):
        rel = "first memento" if i == 0 else "last memento" if i == len(rows) - 1 else "memento"
        when = format_datetime(datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc), usegmt=True)
        lines.append(f'<{base}{WEB_PREFIX}{ts}/{orig}>; rel="{rel}"; datetime="{when}"')
    return Response(200, ",\n".join(lines) + "\n", content_type="application/link-format")


def install(lab: Any) -> None:
    base = lab.http.url
    lab.http.get(CDX_PATH, cdx)
    lab.http.get(WEB_PREFIX, lambda r: replay(r, base), prefix=True)
    lab.http.get(TIMEMAP_PREFIX, lambda r: timemap(r, base), prefix=True)


def settings(lab: Any) -> dict[str, Any]:
    return {"cdx_url": f"{lab.http.url}{CDX_PATH}", "capture_url": f"{lab.http.url}{WEB_PREFIX}",
            "limit": 4, "rate": 50, "burst": 10}
