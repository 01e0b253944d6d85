"""The evidence store: append-only, hashed, verifiable, and the cache's memory."""

import sqlite3
from dataclasses import replace

import psycopg
import pytest

from osint.store import NewObservation, Outcome, open_store
from osint.store.evidence import sha256_hex


def _record(store, key="A example.com", raw=b"answer bytes", outcome=Outcome.ANSWERED, source="dns"):
    return store.record(NewObservation(
        run_id="r1", source=source, query_key=key, subject="domain:example.com",
        request={"qname": "example.com", "rdtype": "A"}, endpoint="127.0.0.1:53", outcome=outcome, raw=raw,
        duration_ms=1.5, tool_version="test",
    ))


def test_raw_bytes_and_hash_are_kept_exactly(store_target):
    store = open_store(store_target)
    raw = bytes(range(256)) * 3
    oid = _record(store, raw=raw)
    obs = store.get(oid)
    assert obs.raw == raw
    assert obs.sha256 == sha256_hex(raw)
    assert obs.raw_size == len(raw)
    assert obs.observed_at.endswith("Z")


def test_nothing_is_overwritten_and_the_newest_answer_wins(store_target):
    store = open_store(store_target)
    first = _record(store, raw=b"old")
    second = _record(store, raw=b"new")
    _record(store, raw=None, outcome=Outcome.TIMEOUT)  # a later failure does not hide the answer
    assert store.get(first).raw == b"old"
    assert store.latest("dns", "A example.com").id == second
    assert store.latest_answers("dns") == {"A example.com": (second, store.get(second).observed_at)}
    newest = list(store.newest_per_query())
    assert [o.outcome for o in newest] == [Outcome.TIMEOUT]
    assert store.counts() == {"dns": {"answered": 2, "timeout": 1}}


def _tamper(target, sql, params):
    """Change a stored row behind the store's back, as a disk fault or a hand with a superuser's rights would."""
    if "://" not in target:
        with sqlite3.connect(target) as db:
            db.execute(sql.replace("%s", "?"), params)
        return
    with psycopg.connect(target.replace("postgresql://", "postgresql://", 1), autocommit=True) as db:
        db.execute("ALTER TABLE observations DISABLE TRIGGER USER")
        db.execute(sql, params)
        db.execute("ALTER TABLE observations ENABLE TRIGGER USER")


def test_verify_reports_a_flipped_byte(store_target):
    store = open_store(store_target)
    _record(store, key="A one.example", raw=b"first answer")
    target = _record(store, key="A two.example", raw=b"second answer")
    store.close()
    _tamper(store_target, "UPDATE observations SET raw = %s WHERE id = %s", (b"second answeR", target))
    store = open_store(store_target)
    checked, bad = store.verify()
    assert checked == 2
    assert [m.observation_id for m in bad] == [target]
    assert bad[0].stored == sha256_hex(b"second answer")


def test_parses_are_appended_beside_their_observation(store_target):
    store = open_store(store_target)
    oid = _record(store)
    store.record_parse(oid, "dns@1", {"facts": [], "leads": ["ip:192.0.2.1"]})
    store.record_parse(oid, "dns@2", {"facts": [], "leads": []})
    assert store.latest_parse(oid) == {"facts": [], "leads": []}


def test_opening_a_missing_store_without_create_names_the_path(tmp_path):
    import pytest

    from osint.errors import StoreError

    with pytest.raises(StoreError, match="no evidence store here yet"):
        open_store(str(tmp_path / "absent.sqlite"), create=False)


def test_list_by_ids_answers_for_exactly_those_observations_without_their_bytes(store_target):
    store = open_store(store_target)
    ids = [_record(store, key=f"A host{i}.example", raw=f"answer {i}".encode()) for i in range(3)]
    # More ids than SQLite takes in one statement, most of them not in the store.
    asked = [ids[0], ids[2], *range(10_000, 11_200)]
    found = store.list(ids=asked)
    assert [o.id for o in found] == [ids[0], ids[2]]
    assert all(o.raw is None and o.sha256 == sha256_hex(f"answer {i}".encode()) for o, i in zip(found, (0, 2)))
    assert [o.id for o in store.list(ids=asked, limit=1)] == [ids[0]]
    assert store.list(ids=[]) == []


def test_text_a_database_cannot_hold_is_stored_cleaned_and_the_raw_bytes_exactly(store_target):
    # PostgreSQL refuses NUL in text and jsonb; UTF-8 cannot carry a lone surrogate; jsonb has no NaN.
    store = open_store(store_target)
    raw = b"HTTP/1.1 200 OK\r\nX-Lab: a\x00b\r\n\r\n\x00\xff"
    oid = store.record(NewObservation(
        run_id="r1", source="web", query_key="page http://nul.example/\x00", subject="url:x",
        request={"url": "http://nul.example/\x00", "\x00key": "\ud800"}, endpoint="http://nul.example",
        outcome=Outcome.BAD_ANSWER, raw=raw, duration_ms=1.0, error="garbage \x00 after \udcff",
        meta={"headers": {"X-Lab": "a\x00b"}, "ratio": float("nan")}, tool_version="test",
    ))
    store.record_parse(oid, "web@1", {"facts": [{"note": "x\x00y", "count": float("inf")}], "leads": []})
    obs = store.get(oid)
    assert obs.raw == raw and obs.sha256 == sha256_hex(raw)
    assert obs.error == "garbage \ufffd after \ufffd"
    assert obs.meta["headers"] == {"X-Lab": "a\ufffdb"}
    assert obs.request == {"url": "http://nul.example/\ufffd", "\ufffdkey": "\ufffd"}
    assert store.latest_parse(oid)["facts"][0]["note"] == "x\ufffdy"
    assert store.verify() == (1, [])


def test_a_batch_the_database_refuses_is_written_again_row_by_row(store_target):
    import asyncio

    from osint.store.writer import BatchWriter, RowRefused

    store = open_store(store_target)

    def fields(i):
        return NewObservation(run_id="r1", source="dns", query_key=f"A host{i}.example", subject="domain:x",
                              request={}, endpoint="127.0.0.1:53", outcome=Outcome.ANSWERED,
                              raw=f"answer {i}".encode(), duration_ms=1.0, tool_version="test")

    async def write():
        writer = BatchWriter(store, asyncio.get_running_loop())
        # One batch: the middle row names an observation that does not exist for its parse, and has a
        # run id longer than the column allows (PostgreSQL refuses it; SQLite does not check lengths).
        writer._queue.put(("parse", (10**9, "dns@1", {"facts": []}), None))
        futures = [asyncio.ensure_future(writer.observation(fields(0))),
                   asyncio.ensure_future(writer.observation(replace(fields(1), run_id="r" * 200))),
                   asyncio.ensure_future(writer.observation(fields(2)))]
        results = await asyncio.gather(*futures, return_exceptions=True)
        await writer.close()
        return results

    first, middle, last = asyncio.run(write())
    assert isinstance(first, int) and isinstance(last, int)
    stored = {o.query_key for o in store.list()}
    if "://" in store_target:
        assert isinstance(middle, RowRefused) and "value too long" in str(middle)
        assert stored == {"A host0.example", "A host2.example"}
    else:
        assert stored == {"A host0.example", "A host1.example", "A host2.example"}
    assert store.latest_parse(10**9) is None  # the orphan parse was refused on its own (foreign key)
