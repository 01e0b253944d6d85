"""Column types that fit each database: timestamptz and jsonb on PostgreSQL, text on SQLite.

The rest of the code sees the same values whatever the database: times as UTC ISO 8601 strings
ending in Z, JSON documents as Python values. Text bound for the database is cleaned first: lone
surrogates (from hostile "\\ud800" escapes) cannot be encoded as UTF-8, and PostgreSQL refuses NUL in
text and jsonb; both become U+FFFD. The raw bytes keep the original.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str | None) -> str | None:
    """The text with every NUL and lone surrogate replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if text else text


def clean_json(value: Any) -> Any:
    """A JSON-able value with its strings (keys too) cleaned, for jsonb and UTF-8 alike."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def _finite(value: Any) -> Any:
    """NaN and infinities (a hostile 1e999) as strings: jsonb, like JSON itself, has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def iso_utc(value: datetime) -> str:
    """UTC ISO 8601 ending in Z: microseconds when there are any (as osint writes), none otherwise."""
    spec = "microseconds" if value.microsecond else "seconds"
    return value.astimezone(timezone.utc).isoformat(timespec=spec).replace("+00:00", "Z")


class UTCTime(TypeDecorator):
    """timestamptz on PostgreSQL, an ISO 8601 string elsewhere; always an ISO string ending in Z to Python."""

    impl = sa.String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.String(40))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dialect.name != "postgresql":
                return value  # kept as written, as osint always did (it writes one fixed-width form)
            value = parsed
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value if dialect.name == "postgresql" else iso_utc(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return iso_utc(value) if isinstance(value, datetime) else value


class JSONDoc(TypeDecorator):
    """jsonb on PostgreSQL, JSON text elsewhere; a Python value either way."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = clean_json(value)
        if dialect.name == "postgresql":
            return _finite(value)  # JSONB serialises it; it refuses NaN and Infinity
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return json.loads(value) if isinstance(value, (str, bytes)) else value


# Ids: BIGINT on PostgreSQL; SQLite's rowid alias must be spelled INTEGER to count by itself.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
