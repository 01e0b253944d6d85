"""Import a passive DNS export (COF NDJSON or CSV) as evidence, exactly as if a provider had answered."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from ..config import EnrichSettings, SourceSettings
from ..errors import OsintError
from ..sources.base import SourceContext
from ..sources.pdns import PassiveDNSSource, read_export
from ..transport.base import Query
from . import export_bytes, record_file


class ImportFormatError(OsintError):
    """The file is not a passive DNS export we can read (COF NDJSON, or CSV with a header)."""


def import_pdns_file(path: str | Path, store, run_id: str, *,
                     enrich: EnrichSettings | None = None) -> tuple[int, int]:
    """Store the file's bytes as one observation of source "pdns", then its parse.

    Returns (records read, the id the store gave the observation). Raises ImportFormatError naming the file and
    line of the first malformed record (nothing is stored then), OsintError if the file cannot
    be read.
    """
    path = Path(path)
    start = time.monotonic()
    raw = export_bytes(path, "passive DNS records", ImportFormatError)
    try:
        fmt, records = read_export(raw)
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path}: not UTF-8 text; export as COF NDJSON or CSV") from None
    except ValueError as exc:
        raise ImportFormatError(f"{path}: {exc}") from None
    if not records:
        raise ImportFormatError(f"{path}: no passive DNS records in the file")

    source = PassiveDNSSource(SourceSettings(), SourceContext(None, enrich or EnrichSettings()))
    digest = hashlib.sha256(raw).hexdigest()
    endpoint = f"file:{path.name}"
    # The same shape as a network question, so re-parsing and the graph treat both alike.
    query = Query(source.name, f"import {digest}", endpoint, "file",
                  {"file": path.name, "format": fmt, "size": len(raw)}, endpoint)
    oid = record_file(store, run_id, query, raw, {"format": fmt, "records": len(records)}, start)
    parsed = source.parse(query, raw, {"format": fmt})
    store.record_parse(oid, source.parser_id(), parsed.to_json())
    return len(records), oid
