"""The web pages and archive captures of a store as WARC (ISO 28500), for the archivists' own tools.

Per page: a `request` record (the question as sent), a `response` record (the status, the headers we
keep and the stored bytes, untouched) and a `metadata` record naming our observation and its SHA-256.
A capture fetched from a web archive is written as the page it was: its original URL and the
archive's capture time, so that replay tools show it where and when it was; the metadata record says
from which archive address it was fetched and when. Written with warcio; the same store always gives
the same bytes (record ids derive from the observation, dates from the evidence, not the clock).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any, Iterable
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .. import __version__
from ..sources.archive_index import ts_iso
from ..store.evidence import Observation

WARC_SOURCES = ("web", "archive")
_NS = uuid.UUID("5f0c3a52-6d0e-4f6a-9b1e-0a5c1e0f0b12")  # record ids: uuid5 of this and the observation
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
            308: "Permanent Redirect", 404: "Not Found", 410: "Gone"}


def _rid(observation: Observation, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_NS, f'{observation.id}:{observation.sha256}:{kind}')}>"


def _warc_date(text: str) -> str:
    """An ISO time as WARC-Date wants it: UTC, seconds, Z."""
    t = text.replace("+00:00", "Z")
    if "." in t:
        t = t.split(".", 1)[0] + "Z"
    return t if t.endswith("Z") else t + "Z"


def wanted(o: Observation) -> bool:
    """Pages and captures that came back with bytes and an HTTP status (not CDX or TimeMap answers)."""
    if o.source not in WARC_SOURCES or not o.raw_size or not isinstance(o.meta, dict) or o.meta.get("status") is None:
        return False
    return o.source == "web" or "capture" in (o.request or {})


def _page(o: Observation) -> tuple[str, str, dict[str, str]]:
    """(target URI, WARC-Date, extra metadata) of one page or capture."""
    capture = (o.request or {}).get("capture")
    if capture:
        extra = {"fetched-from": str(o.request.get("url")), "fetched-at": _warc_date(o.observed_at),
                 "archive-capture": str(capture.get("timestamp")), "archive-digest": str(capture.get("digest") or "")}
        return str(capture["original"]), ts_iso(str(capture["timestamp"])), extra
    url = str((o.meta or {}).get("final_url") or (o.request or {}).get("url"))
    return url, _warc_date(o.observed_at), {}


def write_warc(observations: Iterable[Observation], out: io.BufferedIOBase | Any, raw_of: Any) -> int:
    """Write every page and capture among `observations` to `out` (gzipped per record); return how many.

    `raw_of(observation)` gives its stored bytes (the store keeps them; observations listed without)."""
    writer = WARCWriter(out, gzip=True, warc_version="1.0")
    info = writer.create_warc_record("", "warcinfo", payload=io.BytesIO(
        f"software: osint {__version__}\nformat: WARC File Format 1.0\n"
        "description: pages and web-archive captures of an osint evidence store\n".encode("utf-8")),
        warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(_NS, 'warcinfo')}>",
                           "WARC-Date": "1980-01-01T00:00:00Z", "WARC-Filename": "pages.warc.gz"})
    writer.write_record(info)
    n = 0
    for o in observations:
        if not wanted(o):
            continue
        raw = raw_of(o)
        uri, date, extra = _page(o)
        status = int(o.meta["status"])
        headers = [(k.title(), str(v)) for k, v in sorted((o.meta.get("headers") or {}).items())
                   if k not in ("content-length", "content-encoding", "transfer-encoding")]
        headers.append(("Content-Length", str(len(raw))))
        http = StatusAndHeaders(f"{status} {_REASONS.get(status, 'Status')}", headers, protocol="HTTP/1.1")
        response_id = _rid(o, "response")
        response = writer.create_warc_record(uri, "response", payload=io.BytesIO(raw), length=len(raw),
                                             http_headers=http,
                                             warc_headers_dict={"WARC-Record-ID": response_id, "WARC-Date": date})
        parts = urlsplit(uri)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        req_headers = [("Host", parts.netloc)] + [(k, str(v)) for k, v in sorted(((o.request or {}).get("headers")
                                                                                   or {}).items())]
        request = writer.create_warc_record(uri, "request",
                                            http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", req_headers,
                                                                          protocol="HTTP/1.1", is_http_request=True),
                                            warc_headers_dict={"WARC-Record-ID": _rid(o, "request"),
                                                               "WARC-Date": date,
                                                               "WARC-Concurrent-To": response_id})
        fields = {"osint-observation": o.evidence_id, "osint-source": o.source, "sha256": o.sha256,
                  "observed-at": _warc_date(o.observed_at), "outcome": str(o.outcome), **extra}
        body = "".join(f"{k}: {v}\n" for k, v in fields.items()).encode("utf-8")
        meta = writer.create_warc_record(uri, "metadata", payload=io.BytesIO(body), length=len(body),
                                         warc_content_type="application/warc-fields",
                                         warc_headers_dict={"WARC-Record-ID": _rid(o, "metadata"),
                                                            "WARC-Date": date, "WARC-Refers-To": response_id})
        for record in (response, request, meta):
            writer.write_record(record)
        n += 1
    return n


def read_warc(fh: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The responses of a WARC written here, each with its metadata ({uri, date, status, payload, fields}),
    and the records whose digests do not match their bytes."""
    from warcio.exceptions import ArchiveLoadFailed

    responses: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    try:
        for rec in ArchiveIterator(fh, check_digests=True):
            rid = rec.rec_headers.get_header("WARC-Record-ID")
            uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
            payload = rec.content_stream().read()
            checker = rec.digest_checker
            if checker.passed is False:
                problems.append(f"{rec.rec_type} record of {uri}: {'; '.join(checker.problems)}")
            if rec.rec_type == "response":
                responses[rid] = {"uri": uri, "date": rec.rec_headers.get_header("WARC-Date"),
                                  "status": int(rec.http_headers.get_statuscode()), "payload": payload,
                                  "fields": {}}
            elif rec.rec_type == "metadata":
                text = payload.decode("utf-8", errors="replace")
                fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
                target = responses.get(rec.rec_headers.get_header("WARC-Refers-To"))
                if target is not None:
                    target["fields"] = fields
    except (ArchiveLoadFailed, ValueError, OSError, EOFError) as exc:
        text = str(getattr(exc, "msg", "") or exc).strip()
        problems.append(f"not a readable WARC: {text.splitlines()[0] if text else exc.__class__.__name__}")
    return list(responses.values()), problems


def check_warc(fh: Any) -> list[str]:
    """Problems of a WARC written here: records whose digests fail, pages whose bytes are not the
    observation's (the SHA-256 its metadata record names)."""
    pages, problems = read_warc(fh)
    for page in pages:
        want = page["fields"].get("sha256")
        got = hashlib.sha256(page["payload"]).hexdigest()
        if want != got:
            problems.append(f"{page['uri']} ({page['fields'].get('osint-observation', '?')}): payload SHA-256 "
                            f"is {got}, but its metadata says {want}")
    return problems
