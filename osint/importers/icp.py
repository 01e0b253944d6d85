"""Import ICP filing records exported from the MIIT register (CSV or JSON) as evidence.

The file's bytes are one observation of source "icp", parsed exactly like a lookup gateway's answer. With a
case, each filing unit is then compared with the case's companies by the cn-registry source (offline), so an
imported filing reaches the case company as soon as it is stored.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from ..config import EnrichSettings, SourceSettings
from ..errors import OsintError
from ..sources.base import SourceContext
from ..sources.icp import ICPSource, RecordError, read_records, records_to_parsed
from ..transport.base import Query
from . import export_bytes, record_file


class ImportFormatError(OsintError):
    """The file is not an ICP export we can read (CSV with the register's columns, or JSON)."""


def import_icp_file(path: str | Path, store, run_id: str, *, case: Any = None,
                    enrich: EnrichSettings | None = None) -> tuple[int, int]:
    """Store the file as one observation of source "icp", then its parse; with a case, match the filers.

    Returns (records read, observations stored). ImportFormatError names the file and line of the first
    malformed record, and nothing is stored then.
    """
    path = Path(path)
    start = time.monotonic()
    raw = export_bytes(path, "ICP records", ImportFormatError)
    fmt = "json" if path.suffix.lower() in (".json", ".jsonl") else ("csv" if path.suffix.lower() == ".csv" else None)
    try:
        fmt, records = read_records(raw, fmt)
    except RecordError as exc:
        raise ImportFormatError(f"{path}:{exc.line}: {str(exc).split(': ', 1)[1]}") from None
    if not records:
        raise ImportFormatError(f"{path}: no ICP records in the file")

    enrich = enrich or EnrichSettings()
    source = ICPSource(SourceSettings(), SourceContext(case, enrich))
    digest = hashlib.sha256(raw).hexdigest()
    endpoint = f"file:{path.name}"
    query = Query(source.name, f"import {digest}", endpoint, "file",
                  {"file": path.name, "format": fmt, "size": len(raw)}, endpoint)
    parsed = records_to_parsed(records, "import")  # before storing: a bug here must not leave half an import
    oid = record_file(store, run_id, query, raw, {"format": fmt, "records": len(records)}, start)
    store.record_parse(oid, source.parser_id(), source.parse(query, raw, {"format": fmt}).to_json())
    stored = 1
    if case is not None:
        stored += _match_filers(parsed.leads, case, store, run_id, enrich)
    return len(records), stored


def _match_filers(leads: list[str], case: Any, store, run_id: str, enrich: EnrichSettings) -> int:
    """Ask cn-registry (offline) about each filing unit, as the engine would about any new org."""
    from ..transport.pipeline import ask_once
    from ..sources.cnregistry import CNRegistrySource

    registry = CNRegistrySource(SourceSettings(), SourceContext(case, enrich))
    known = store.latest_answers(registry.name)
    count = 0
    for node in leads:
        if not node.startswith(("org:", "company:")):
            continue
        for q in registry.queries(node, 0):
            if q.key in known:
                continue
            ask_once(registry, q, store, run_id=run_id)
            count += 1
    return count
