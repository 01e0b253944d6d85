"""ISO-UTC times as every layer writes them (osint/common/timefmt.py): what the hand-off, STIX and sources print."""

from datetime import datetime, timedelta, timezone

from osint.common.timefmt import epoch_iso, iso_utc, iso_utc_text, moment, utc_text


def test_a_bare_date_spans_its_whole_day():
    # The hand-off's request window ends at the last second of its last day, not at its first.
    assert utc_text("2023-05-01") == "2023-05-01T00:00:00Z"
    assert utc_text("2023-05-01", end=True) == "2023-05-01T23:59:59Z"
    assert moment("2023-05-01", end=True) > moment("2023-05-01T23:59:58Z")


def test_offsets_become_utc_and_naive_times_are_utc():
    assert utc_text("2023-05-01T08:00:00+08:00") == "2023-05-01T00:00:00Z"
    assert iso_utc_text("2019-12-07T00:00:00") == "2019-12-07T00:00:00Z"
    assert iso_utc(datetime(2023, 5, 1, 8, tzinfo=timezone(timedelta(hours=8)))) == "2023-05-01T00:00:00Z"


def test_what_is_no_time_gives_none():
    assert utc_text("yesterday") is None and utc_text(None) is None and utc_text("2023") is None
    assert iso_utc_text("") is None and iso_utc_text(20230501) is None
    assert epoch_iso(None) is None and epoch_iso(1e20) is None  # a nonsense time in someone's export
    assert epoch_iso(0) == "1970-01-01T00:00:00Z"
