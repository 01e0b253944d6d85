"""The evidence store on PostgreSQL: explicit, locked migrations; reads that never create; no password shown.

Every test here runs against a private PostgreSQL cluster the session starts on 127.0.0.1 (tests/lab/pg.py).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from conftest import REPO_ROOT
from osint.errors import StoreError
from osint.store import NewObservation, open_store
from osint.store.evidence import init_store
from osint.store.migrate import head

pytestmark = pytest.mark.timeout(300)


def _osint(env, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "osint", *args], env=env, cwd=cwd or REPO_ROOT,
                          capture_output=True, text=True, timeout=240)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        return {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_twenty_simultaneous_inits_on_a_new_database_all_succeed(pg_url, guarded_env):
    procs = [subprocess.Popen([sys.executable, "-m", "osint", "--store", pg_url, "store", "init"],
                              env=guarded_env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(20)]
    results = [(p.wait(240), *p.communicate()) for p in procs]
    failures = [(rc, err) for rc, _, err in results if rc != 0]
    assert failures == []
    said = [out for _, out, _ in results]
    # Exactly one of them made the tables; the others found them at the newest revision.
    assert sum("tables created" in s for s in said) == 1
    assert sum("nothing to do" in s for s in said) == 19
    assert {"observations", "parses", "runs", "alembic_version"} <= _tables(pg_url)
    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]
    assert all(pg_url.split("@")[0].split(":")[-1] not in out + err for _, out, err in results)


def test_commands_other_than_init_never_create_tables(pg_url, guarded_env, tmp_path):
    for args in (["evidence", "list"], ["evidence", "verify"], ["enrich", "--case", "tests/data/case.yaml",
                                                                 "--offline"]):
        res = _osint(guarded_env, "--store", pg_url, *args)
        assert res.returncode == 2, res.stderr
        lines = res.stderr.strip().splitlines()
        assert lines[-1].endswith("no evidence store here yet (no tables); run `osint store init`"), res.stderr
        assert "Traceback" not in res.stderr
    assert _tables(pg_url) == set()
    # SQLite: a read on a missing file does not make one; `enrich` makes its own file as it always did.
    missing = tmp_path / "absent.sqlite"
    res = _osint(guarded_env, "--store", str(missing), "evidence", "list")
    assert res.returncode == 2 and not missing.exists()


def test_an_old_store_is_upgraded_by_init_and_a_new_one_is_refused_by_an_old_osint(pg_url):
    import sqlalchemy as sa

    from osint.store import migrate
    from osint.store.url import engine_url

    engine = sa.create_engine(engine_url(pg_url))
    assert migrate.upgrade(engine, "0001") == (None, "0001")  # as an older osint left it
    engine.dispose()
    with pytest.raises(StoreError, match=r"older than this osint's .*run `osint store init` to upgrade"):
        open_store(pg_url)
    with closing(init_store(pg_url)) as store:
        assert (store.revision_before, store.revision) == ("0001", head())
    with closing(init_store(pg_url)) as store:
        assert (store.revision_before, store.revision) == (head(), head())
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer than this osint knows"):
        open_store(pg_url, create=False)


def test_a_sqlite_store_from_before_migrations_keeps_its_evidence_and_is_stamped(tmp_path):
    path = tmp_path / "old.sqlite"
    with closing(sqlite3.connect(path)) as db:  # the schema osint wrote before migrations, one answer in it
        db.executescript("""
            CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id VARCHAR(64) NOT NULL,
              source VARCHAR(64) NOT NULL, query_key TEXT NOT NULL, subject TEXT NOT NULL, request TEXT NOT NULL,
              endpoint TEXT NOT NULL, observed_at VARCHAR(40) NOT NULL, duration_ms FLOAT NOT NULL,
              outcome VARCHAR(32) NOT NULL, error TEXT, raw BLOB, raw_size INTEGER NOT NULL,
              sha256 VARCHAR(64) NOT NULL, meta TEXT, tool_version VARCHAR(32) NOT NULL);
            CREATE INDEX ix_obs_query ON observations (source, query_key, id);
            CREATE INDEX ix_obs_subject ON observations (subject);
            CREATE TABLE parses (id INTEGER PRIMARY KEY AUTOINCREMENT, observation_id INTEGER NOT NULL
              REFERENCES observations (id), parser VARCHAR(128) NOT NULL, parsed TEXT NOT NULL,
              created_at VARCHAR(40) NOT NULL);
            CREATE INDEX ix_parses_obs ON parses (observation_id, id);
            CREATE TABLE runs (run_id VARCHAR(64) PRIMARY KEY, started_at VARCHAR(40) NOT NULL,
              finished_at VARCHAR(40), command TEXT NOT NULL, status VARCHAR(32), summary TEXT);
            INSERT INTO observations VALUES (1, 'r0', 'dns', 'A old.example', 'domain:old.example',
              '{"qname": "old.example"}', '127.0.0.1:53', '2024-01-02T03:04:05.000006Z', 1.0, 'answered', NULL,
              X'6f6c64', 3, 'b8836b2ed0a1b1b7d8f1d2bbd1a3dcb95ba8b0b8f7dfa1b1c1d1e1f1a1b1c1d1', '{}', '0.1.0');
        """)
    with closing(open_store(str(path), create=False)) as store:  # a read leaves it as it is
        assert store.get(1).request == {"qname": "old.example"}
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'").fetchone() == (0,)
    with closing(open_store(str(path))) as store:  # `enrich` brings it up to date
        assert store.revision == head()
        store.start_run("r1", "enrich")
        assert store.run_record("r1")["db_user"]
        assert store.latest_answers("dns") == {"A old.example": (1, "2024-01-02T03:04:05.000006Z")}


def test_a_nul_in_an_answer_is_stored_and_the_run_completes(pg_url, http_server, guarded_env, tmp_path):
    from lab.http_server import Response
    from lab.world import CASE, to_toml

    def answer(request):
        ip = request.path.rsplit("/", 1)[1]
        if ip == "192.0.2.10":  # a NUL in a header PostgreSQL would refuse in jsonb
            return Response(200, b'{"ip_str": "192.0.2.10", "data": []}', {"Last-Modified": "before\x00after"},
                            "application/json")
        return Response(404, {"error": "No information \x00 available for that IP."})

    http_server.add_route("GET", "/shodan/host/", answer, prefix=True)
    config = tmp_path / "osint.toml"
    config.write_text(to_toml({"store": {"url": pg_url}, "enrich": {"allow_private": True},
                               "sources": {"shodan": {"url": http_server.url, "rate": 1000, "burst": 100,
                                                     "api_key": "lab-key"}}}))
    config.chmod(0o600)
    env = {k: v for k, v in guarded_env.items() if k.lower() not in ("http_proxy", "https_proxy")}
    assert _osint(env, "--config", str(config), "store", "init").returncode == 0
    args = ["--config", str(config), "enrich", "--case", str(CASE), "--sources", "shodan", "--depth", "0"]
    first = _osint(env, *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    with closing(open_store(pg_url, create=False)) as store:
        answered = store.latest("shodan", "host 192.0.2.10")
        assert answered.meta["headers"]["last-modified"] == "before\ufffdafter"
        assert b"ip_str" in store.get(answered.id).raw
        assert store.latest_parse(answered.id) is not None
    # The next run does not die at the same question: it is answered from the store.
    asked = http_server.count()
    again = _osint(env, *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert http_server.count() == asked


def _record(store, key="A example.com", raw=b"answer", observed_at=None):
    return store.record(NewObservation(
        run_id="r1", source="dns", query_key=key, subject="domain:example.com", request={}, endpoint="127.0.0.1:53",
        outcome="answered", raw=raw, duration_ms=1.0, tool_version="test", observed_at=observed_at,
    ))


def test_a_writer_adds_evidence_but_cannot_change_it_and_a_reader_only_reads(pg_server, guarded_env):
    import uuid

    tag = uuid.uuid4().hex[:6]
    writer, reader = f"writer_{tag}", f"reader_{tag}"
    pg_server.new_role(writer, "writer-pw")
    pg_server.new_role(reader, "reader-pw")
    db = pg_server.new_database()
    admin_url = pg_server.url(db)
    res = _osint(guarded_env, "--store", admin_url, "store", "init", "--writer", writer, "--reader", reader)
    assert res.returncode == 0, res.stderr
    w_url, r_url = pg_server.url(db, writer, "writer-pw"), pg_server.url(db, reader, "reader-pw")

    with closing(open_store(w_url)) as store:
        oid = _record(store)
        store.record_parse(oid, "dns@1", {"facts": []})
        store.start_run("run-w", "enrich")
        store.finish_run("run-w", "complete", {})
        who = store.run_record("run-w")
        assert who["db_user"] == writer and who["client_host"] and who["status"] == "complete"
    # The database itself refuses to change evidence: the writer has no UPDATE/DELETE right, and even the
    # owner (who has) meets the append-only trigger.
    for url, refusal in ((w_url, "permission denied"), (admin_url, "evidence is append-only")):
        for sql in ("UPDATE observations SET raw = 'x'", "DELETE FROM parses", "TRUNCATE observations CASCADE"):
            with psycopg.connect(url) as conn, pytest.raises(psycopg.Error, match=refusal):
                conn.execute(sql)
    with closing(open_store(r_url, create=False)) as store:
        assert [o.id for o in store.list()] == [oid]
        assert store.latest_parse(oid) == {"facts": []}
        with pytest.raises(StoreError, match="permission denied for table observations"):
            _record(store)
    listed = _osint(guarded_env, "--store", r_url, "evidence", "list")
    assert listed.returncode == 0 and "A example.com" in listed.stdout, listed.stderr
    verified = _osint(guarded_env, "--store", r_url, "evidence", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "triggers enabled" in verified.stdout and "not checked: the server's data pages" in verified.stdout
    # A disabled trigger is reported, not hidden behind "ok".
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE parses DISABLE TRIGGER parses_append_only")
    broken = _osint(guarded_env, "--store", r_url, "evidence", "verify")
    assert broken.returncode == 1 and "parses_append_only" in broken.stderr


def test_newest_means_newest_observed_not_last_stored(store_target):
    # Evidence imported or written late by a second machine can carry an older observation time.
    store = open_store(store_target)
    newer = _record(store, raw=b"seen in June", observed_at="2024-06-01T00:00:00.250000Z")
    _record(store, raw=b"seen in January", observed_at="2024-01-01T00:00:00.250000Z")
    assert store.latest("dns", "A example.com").id == newer
    assert store.latest_answers("dns") == {"A example.com": (newer, "2024-06-01T00:00:00.250000Z")}
    assert [o.id for o in store.newest_per_query()] == [newer]


def test_a_bundle_of_a_store_holds_every_raw_answer_exactly(store_target, tmp_path):
    from osint.case import load_case
    from osint.bundle import verify_bundle, write_bundle

    store = open_store(store_target)
    raws = {_record(store, key=f"A host{i}.example", raw=bytes([i % 256]) * (i + 1)): bytes([i % 256]) * (i + 1)
            for i in range(450)}  # more than two chunks of raw reads
    summary = write_bundle(store, load_case(REPO_ROOT / "data" / "seeds.yaml"), tmp_path / "b.zip")
    assert summary.raw_files == 450 and summary.damaged == ()
    assert list(verify_bundle(tmp_path / "b.zip")) == []
    import zipfile

    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert all(zf.read(f"raw/ev{oid:06d}.bin") == raw for oid, raw in raws.items())
