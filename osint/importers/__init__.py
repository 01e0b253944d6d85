"""Importers: evidence that arrives as files (exports from other tools) rather than from the network."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import OsintError
from ..store import EvidenceStore, NewObservation
from ..transport.base import Fetched, Outcome, Query


def export_bytes(path: Path, what: str, empty: type[OsintError]) -> bytes:
    """The exported file's bytes. One line naming the file when it cannot be read (OsintError) or holds
    nothing (`empty`, the importer's own format error); nothing is stored either way."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OsintError(f"{path}: cannot read the file: {exc.strerror}") from None
    if not raw.strip():
        raise empty(f"{path}: no {what} in the file (it is empty)")
    return raw


def record_file(store: EvidenceStore, run_id: str, query: Query, raw: bytes, meta: dict[str, Any],
                started: float) -> int:
    """Store an imported file as the answer to `query` (the same shape as a network answer, so re-parsing and
    the graph treat both alike); `started` is time.monotonic() when reading began. The observation id."""
    answer = Fetched(Outcome.ANSWERED, raw=raw, meta=meta, endpoint=query.endpoint,
                     duration_ms=(time.monotonic() - started) * 1000.0)
    return store.record(NewObservation.of(run_id, query.source, query, answer, __version__))
