"""Dates and times as the project writes them: ISO 8601 in UTC, `YYYY-MM-DDTHH:MM:SSZ`."""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (as sources and certificates write them)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def iso_utc(value: datetime) -> str:
    """An aware datetime as ISO UTC with Z (a naive one is read as local time, as datetime.astimezone does)."""
    return value.astimezone(timezone.utc).strftime(ISO_UTC)


def moment(text: Any, *, end: bool = False) -> datetime | None:
    """An ISO date or time as an aware UTC datetime; a bare date is its first (or, for an end,
    its last) instant. None when the text is not a date."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        if len(text) == 10:
            d = datetime.fromisoformat(text).date()
            return datetime.combine(d, time.max if end else time.min, timezone.utc)
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return as_utc(value)


def utc_text(text: Any, *, end: bool = False) -> str | None:
    """An ISO date or time (at least a full date) as ISO UTC with Z; a bare date is its first
    (or, for an end, its last) second. None when the text is not a date."""
    when = moment(text, end=end)
    return when.strftime(ISO_UTC) if when else None


def iso_utc_text(text: Any) -> str | None:
    """A timestamp as sources write it ('2019-12-07T00:00:00', naive meaning UTC) as ISO UTC with Z.
    Unlike utc_text, any form datetime.fromisoformat reads is taken (e.g. '20191207')."""
    if not isinstance(text, str) or not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return as_utc(dt).strftime(ISO_UTC)


def epoch_iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO UTC with Z; None for no time or one no calendar holds."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime(ISO_UTC)
    except (OverflowError, OSError, ValueError):
        return None


ENGLISH_DATES = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y")  # 'Jan 5, 2021', 'January 5, 2021', '5 Jan 2021'


def english_date(text: Any, extra: tuple[str, ...] = ()) -> str | None:
    """A date as web pages write it in English (or in one of `extra`'s formats) -> 'YYYY-MM-DD'; None otherwise."""
    if not isinstance(text, str):
        return None
    for fmt in (*ENGLISH_DATES, *extra):
        try:
            return datetime.strptime(text.strip(), fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return None
