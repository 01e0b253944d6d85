"""NewObservation: the one shape of a raw answer on its way into the store (the engine's, an importer's, a test's)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..transport.base import Fetched, Outcome, Query
from .types import clean_text


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sha256_hex(data: bytes | None) -> str:
    return hashlib.sha256(data or b"").hexdigest()


@dataclass(frozen=True)
class NewObservation:
    """One answer to one question, as it is stored before anyone parses it (EvidenceStore.record,
    BatchWriter.observation). The store adds the id, the size and the SHA-256 of `raw`."""

    run_id: str
    source: str
    query_key: str
    subject: str
    request: Any
    endpoint: str
    outcome: Outcome | str
    raw: bytes | None
    duration_ms: float
    tool_version: str
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    observed_at: str | None = None  # ISO UTC; None: now, when the row is written

    @classmethod
    def of(cls, run_id: str, source: str, query: Query, fetched: Fetched, tool_version: str) -> NewObservation:
        """What the store keeps of one answer: the question, where it went, and the untouched bytes."""
        return cls(run_id=run_id, source=source, query_key=query.key, subject=query.subject,
                   request=query.request, endpoint=fetched.endpoint or query.endpoint, outcome=fetched.outcome,
                   raw=fetched.raw, duration_ms=fetched.duration_ms, error=fetched.error, meta=fetched.meta,
                   tool_version=tool_version)

    def row(self) -> dict[str, Any]:
        """The observations table's columns for this answer (text cleaned of what no database keeps)."""
        raw = self.raw
        return dict(
            run_id=self.run_id, source=self.source, query_key=clean_text(self.query_key),
            subject=clean_text(self.subject), request=self.request, endpoint=clean_text(self.endpoint),
            observed_at=self.observed_at or utcnow(), duration_ms=round(self.duration_ms, 3),
            outcome=str(self.outcome), error=clean_text(self.error), raw=raw, raw_size=len(raw or b""),
            sha256=sha256_hex(raw), meta=self.meta or {}, tool_version=self.tool_version,
        )
