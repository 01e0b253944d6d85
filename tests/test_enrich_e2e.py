"""End to end: the real `osint` CLI against the whole lab world, as an investigator would run it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.world import CASE, start_lab, stop_lab

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def lab():
    lab = start_lab()
    yield lab
    stop_lab(lab)


def osint(args, env, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "osint", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=240, **kw)


def _env(guarded_env, lab):
    env = dict(guarded_env)
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "SHODAN_API_KEY"):
        env.pop(k, None)
    env.update(lab.env())
    env["COLUMNS"] = "200"
    return env


def _newest(store: Path) -> set[tuple[str, str, str]]:
    """What the store says about every question: the newest outcome per (source, question)."""
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT source, query_key, outcome FROM observations WHERE id IN "
            "(SELECT max(id) FROM observations GROUP BY source, query_key)").fetchall()
    return set(rows)


def _count(store: Path) -> int:
    with sqlite3.connect(store) as db:
        try:
            return db.execute("SELECT count(*) FROM observations").fetchone()[0]
        except sqlite3.OperationalError:  # the run has created the file but not yet its tables
            return 0


def test_enrich_asks_every_source_then_answers_from_the_store(lab, guarded_env, tmp_path):
    store = tmp_path / "evidence.sqlite"
    cfg = lab.write_config(tmp_path / "osint.toml", store)
    env = _env(guarded_env, lab)
    first = osint(["--config", str(cfg), "enrich", "--case", str(CASE)], env, tmp_path)
    assert first.returncode in (0, 1), first.stderr
    sources = {s for s, _, _ in _newest(store)}
    assert {"dns", "whois", "rdap", "asn", "pdns", "shodan", "ct", "web", "cn-registry"} <= sources, first.stdout
    asked = lab.total_requests()
    assert asked > 50
    # Every claim of the case gets a status; evidence corroborates the lab's real links.
    claims = osint(["--config", str(cfg), "attribute", "--case", str(CASE), "--format", "json"], env, tmp_path)
    assert claims.returncode == 0, claims.stderr
    result = json.loads(claims.stdout)
    status = {(c["subject"], c["relation"]): c["status"] for c in result["claims"] if c["relation"] != "uses_email"}
    assert len(result["claims"]) == 17 and set(status.values()) <= {
        "corroborated", "supported_via_claim", "linked_to_each_other", "uncorroborated", "contradicted"}
    assert status[("ip:100.64.1.11", "alleged_server_of")] == "corroborated"  # passive DNS at the incident
    assert status[("company:91440300MA5LAB018T", "suspected_operator_of")] == "corroborated"  # WHOIS, pinyin
    assert status[("account:x:labbot_example", "account_of")] == "uncorroborated"  # nothing asks X
    leads = {lead["node"] for lead in result["leads"]}
    assert {"domain:api.example.com", "email:ops@example.net", "org:Shenzhen Shiyanyi Network Technology Co., Ltd."} <= leads
    # Every answer is stored with its hash and verifies.
    check = osint(["--config", str(cfg), "evidence", "verify"], env, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    # The second run answers from the store: not one packet reaches the lab.
    lab.reset_counts()
    before = _count(store)
    second = osint(["--config", str(cfg), "enrich", "--case", str(CASE)], env, tmp_path)
    assert lab.total_requests() == 0, [s.requests for s in lab.servers() if s.count()]
    assert "from cache" in second.stdout
    # Only questions that failed the first time are asked again (and they are recorded again).
    failed_first = {(s, k) for s, k, o in _newest(store) if o not in ("answered", "no_record")}
    assert _count(store) - before == 0 or failed_first


def test_offline_run_works_with_every_server_stopped(lab, guarded_env, tmp_path):
    store = tmp_path / "evidence.sqlite"
    cfg = lab.write_config(tmp_path / "osint.toml", store)
    env = _env(guarded_env, lab)
    osint(["--config", str(cfg), "enrich", "--case", str(CASE)], env, tmp_path)
    answers = {(s, k) for s, k, o in _newest(store) if o in ("answered", "no_record")}
    stop_lab(lab)
    before = _count(store)
    offline = osint(["--config", str(cfg), "enrich", "--case", str(CASE), "--offline"], env, tmp_path)
    assert offline.returncode in (0, 1), offline.stderr
    assert _count(store) == before  # nothing asked, nothing recorded
    assert {(s, k) for s, k, o in _newest(store) if o in ("answered", "no_record")} == answers
    graph = osint(["--config", str(cfg), "graph", "--case", str(CASE), "--export", "json",
                   "--out", str(tmp_path / "g.json")], env, tmp_path)
    assert graph.returncode == 0, graph.stderr
    assert (tmp_path / "g.json").stat().st_size > 1000


def test_a_run_killed_with_sigkill_resumes_to_the_same_store(lab, guarded_env, tmp_path):
    env = _env(guarded_env, lab)
    # The uninterrupted reference run.
    ref_store = tmp_path / "ref.sqlite"
    ref_cfg = lab.write_config(tmp_path / "ref.toml", ref_store)
    osint(["--config", str(ref_cfg), "enrich", "--case", str(CASE)], env, tmp_path)
    reference = _newest(ref_store)

    # A slow lab, so that the kill lands mid-run, then a resumed run.
    lab.http.set_fault("latency", delay=0.05)
    lab.dns.set_fault("latency", delay=0.02)
    store = tmp_path / "evidence.sqlite"
    cfg = lab.write_config(tmp_path / "osint.toml", store)
    proc = subprocess.Popen([sys.executable, "-m", "osint", "--config", str(cfg), "enrich", "--case", str(CASE)],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.exists() and _count(store) >= 20:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _count(store)
    assert killed_at >= 20
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    resumed = osint(["--config", str(cfg), "enrich", "--case", str(CASE)], env, tmp_path)
    assert resumed.returncode in (0, 1), resumed.stderr
    assert osint(["--config", str(cfg), "evidence", "verify"], env, tmp_path).returncode == 0
    assert _newest(store) == reference


def test_on_postgresql_a_run_gives_what_sqlite_gives_and_every_command_works(lab, guarded_env, tmp_path, pg_url):
    from osint.case import load_case
    from osint.graph.build import build_graph
    from osint.store import open_store

    env = _env(guarded_env, lab)
    sqlite_cfg = lab.write_config(tmp_path / "sqlite.toml", tmp_path / "evidence.sqlite")
    pg_cfg = lab.write_config(tmp_path / "pg.toml", tmp_path / "unused.sqlite")
    pg_cfg.write_text(pg_cfg.read_text(encoding="utf-8").replace(
        f'path = "{tmp_path / "unused.sqlite"}"', f'url = "{pg_url}"'), encoding="utf-8")
    assert "url = " in pg_cfg.read_text(encoding="utf-8")
    assert osint(["--config", str(pg_cfg), "store", "init"], env, tmp_path).returncode == 0
    runs = {}
    for name, cfg in (("sqlite", sqlite_cfg), ("postgresql", pg_cfg)):
        runs[name] = osint(["--config", str(cfg), "enrich", "--case", str(CASE)], env, tmp_path)
        assert runs[name].returncode in (0, 1), runs[name].stderr
    assert runs["sqlite"].returncode == runs["postgresql"].returncode
    seen = {}
    for name, target in (("sqlite", str(tmp_path / "evidence.sqlite")), ("postgresql", pg_url)):
        with open_store(target, create=False) as store:
            newest = {(o.source, o.query_key, str(o.outcome)) for o in store.newest_per_query()}
            edges = set(build_graph(load_case(CASE), store).edges(keys=True))
        seen[name] = (newest, edges)
    assert len(seen["sqlite"][0]) > 100
    assert seen["postgresql"] == seen["sqlite"]
    for args in (["graph", "--case", str(CASE), "--export", "gexf", "--out", str(tmp_path / "pg.gexf")],
                 ["attribute", "--case", str(CASE), "--format", "json"],
                 ["evidence", "bundle", "--case", str(CASE), "--out", str(tmp_path / "pg.zip")],
                 ["evidence", "verify"]):
        done = osint(["--config", str(pg_cfg), *args], env, tmp_path)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "pg.gexf").stat().st_size > 0 and (tmp_path / "pg.zip").stat().st_size > 0
    assert pg_url.split(":")[2].split("@")[0] not in runs["postgresql"].stdout + runs["postgresql"].stderr
