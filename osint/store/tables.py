"""The store's tables as the newest migration (migrations/versions/) leaves them, and the records read from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..transport.base import Outcome
from .types import BigId, JSONDoc, UTCTime

metadata = sa.MetaData()

# The migrations create them; these describe them for queries.
observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("query_key", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("request", JSONDoc, nullable=False),  # credentials removed
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("observed_at", UTCTime, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("raw", sa.LargeBinary),
    sa.Column("raw_size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("meta", JSONDoc),  # HTTP status and headers, redirects, resolver used
    sa.Column("tool_version", sa.String(32), nullable=False),
)

parses = sa.Table(
    "parses",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("observation_id", sa.BigInteger, sa.ForeignKey("observations.id"), nullable=False),
    sa.Column("parser", sa.String(128), nullable=False),  # source@version + library versions
    sa.Column("parsed", JSONDoc, nullable=False),  # {"facts": [...], "nodes": {...}, "leads": [...]}
    sa.Column("created_at", UTCTime, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("started_at", UTCTime, nullable=False),
    sa.Column("finished_at", UTCTime),
    sa.Column("command", sa.Text, nullable=False),  # the password of a store URL hidden
    sa.Column("status", sa.String(32)),
    sa.Column("summary", JSONDoc),
    sa.Column("db_user", sa.String(128)),
    sa.Column("client_host", sa.String(255)),
)


@dataclass(frozen=True)
class Observation:
    id: int
    run_id: str
    source: str
    query_key: str
    subject: str
    request: dict[str, Any]
    endpoint: str
    observed_at: str
    duration_ms: float
    outcome: Outcome
    error: str | None
    raw: bytes | None
    raw_size: int
    sha256: str
    meta: dict[str, Any]
    tool_version: str

    @property
    def evidence_id(self) -> str:
        return f"ev{self.id}"

    @classmethod
    def from_row(cls, row: Any) -> "Observation":
        m = row._mapping
        return cls(
            id=m["id"], run_id=m["run_id"], source=m["source"], query_key=m["query_key"],
            subject=m["subject"], request=m["request"], endpoint=m["endpoint"],
            observed_at=m["observed_at"], duration_ms=m["duration_ms"], outcome=Outcome(m["outcome"]),
            error=m["error"], raw=m.get("raw"), raw_size=m["raw_size"],
            sha256=m["sha256"], meta=m["meta"] or {}, tool_version=m["tool_version"],
        )


@dataclass(frozen=True)
class HashMismatch:
    observation_id: int
    source: str
    query_key: str
    stored: str
    actual: str
