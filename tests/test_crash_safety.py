"""Crash safety: `osint enrich` killed with SIGKILL at random moments, and two runs on one store at once.

The real CLI runs against a slowed lab world. After every kill the store must be whole (SQLite's
integrity check, `osint evidence verify`, no half-written observation or orphaned parse), and a
resumed run must end where an uninterrupted run ends. See docs/reliability.md.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from lab.world import CASE, start_lab, stop_lab, to_toml
from osint.case import load_case
from osint.errors import StoreError
from osint.graph.build import build_graph
from osint.store import open_store

pytestmark = pytest.mark.timeout(300)

KILLS = 20  # SIGKILLs that must land on a running `osint enrich`
MAX_ATTEMPTS = 60  # runs started to get them (a short run may finish before its kill is due)
SEED = 20240321
LATENCY = 0.02  # seconds the lab waits before each HTTP and DNS answer
# Fast enough to keep the test short, slow enough that a run spends a few seconds writing evidence.
LIMITS = {"rate": 50, "burst": 10}


@dataclass
class World:
    lab: Any
    env: dict[str, str]
    tmp: Path
    reference: set[tuple[str, str, str]]  # newest outcome per question after an uninterrupted run
    edges: set[tuple[str, str, str]]  # the graph built from it
    duration: float  # wall-clock seconds of the uninterrupted run, start-up included

    def config(self, name: str) -> tuple[Path, Path]:
        store = self.tmp / f"{name}.sqlite"
        cfg = self.lab.write_config(self.tmp / f"{name}.toml", store)
        conf = tomllib.loads(cfg.read_text(encoding="utf-8"))
        for source in [*conf["sources"], "cn-registry"]:
            conf["sources"].setdefault(source, {}).update(LIMITS)
        cfg.write_text(to_toml(conf), encoding="utf-8")
        return cfg, store

    def enrich(self, cfg: Path, *extra: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "osint", "--config", str(cfg), "enrich", "--case", str(CASE),
                                 *extra], env=self.env, cwd=self.tmp, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def osint(self, cfg: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "osint", "--config", str(cfg), *args], env=self.env,
                              cwd=self.tmp, capture_output=True, text=True, timeout=120)


def _newest(store: Path | str) -> set[tuple[str, str, str]]:
    """What the store says about every question: the newest outcome per (source, question)."""
    with closing(open_store(str(store), create=False)) as s:
        return {(o.source, o.query_key, o.outcome.value) for o in s.newest_per_query()}


def _edges(store: Path) -> set[tuple[str, str, str]]:
    with closing(open_store(str(store), create=False)) as s:
        return {(a, b, k) for a, b, k in build_graph(load_case(CASE), s).edges(keys=True)}


@pytest.fixture(scope="module")
def slow_lab() -> Iterator[Any]:
    lab = start_lab()
    lab.http.set_fault("latency", delay=LATENCY)
    lab.dns.set_fault("latency", delay=LATENCY)
    yield lab
    stop_lab(lab)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {"tmp": tmp_path_factory.mktemp("reference")}  # filled by the first test that needs it


@pytest.fixture
def world(slow_lab: Any, guarded_env: dict[str, str], uninterrupted: dict[str, Any], tmp_path: Path) -> World:
    env = dict(guarded_env)
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "SHODAN_API_KEY",
              "CIRCL_PDNS_USER", "CIRCL_PDNS_PASSWORD", "MNEMONIC_API_KEY", "OSINT_STORE", "OSINT_CONFIG"):
        env.pop(k, None)
    env.update(slow_lab.env(), COLUMNS="200")
    if "reference" not in uninterrupted:  # one uninterrupted run, shared by the tests of this module
        ref = World(slow_lab, env, uninterrupted["tmp"], set(), set(), 0.0)
        cfg, store = ref.config("reference")
        start = time.monotonic()
        proc = ref.enrich(cfg)
        _, err = proc.communicate(timeout=120)
        uninterrupted["duration"] = time.monotonic() - start
        assert proc.returncode in (0, 1), err
        uninterrupted["reference"], uninterrupted["edges"] = _newest(store), _edges(store)
    w = World(slow_lab, env, tmp_path, uninterrupted["reference"], uninterrupted["edges"], uninterrupted["duration"])
    assert len(w.reference) > 100 and {s for s, _, _ in w.reference} >= {"dns", "whois", "pdns", "web"}
    return w


def assert_whole(w: World, cfg: Path, store: Path) -> int:
    """The store is consistent: SQLite agrees, `osint evidence verify` agrees, nothing is half-written."""
    if not store.exists():
        return 0
    try:
        opened = open_store(str(store), create=False)
    except StoreError as exc:  # killed before its tables were created: the store cannot open it, SQLite can
        assert "no tables" in str(exc), exc
        with closing(sqlite3.connect(store)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return 0
    with closing(opened) as s:
        # SQLite's integrity_check, and its foreign key check: no parse of an observation that is not stored.
        assert s.integrity_check() == "ok"
        rows, bad = s.verify()  # every raw answer as long as recorded, and hashing to its stored SHA-256
        assert not bad, [f"ev{m.observation_id}" for m in bad]
    check = w.osint(cfg, "evidence", "verify")
    assert check.returncode == 0, check.stdout + check.stderr
    return rows


def test_sigkill_at_random_moments_leaves_a_whole_store_and_a_resumable_run(world: World):
    cfg, store = world.config("killed")
    rng = random.Random(SEED)
    kills, rows, landed, mid_write = 0, 0, [], []
    for attempt in range(MAX_ATTEMPTS):
        if kills >= KILLS:
            break
        # Every other run asks everything again, so that there is always evidence being written to cut.
        proc = world.enrich(cfg, *(["--refresh"] if attempt % 2 else []))
        delay = rng.uniform(0.05, world.duration)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            landed.append(round(delay, 2))
        else:  # it finished before its kill was due
            assert proc.returncode in (0, 1), err
        now = assert_whole(world, cfg, store)
        assert now >= rows, "observations disappeared"  # append-only, even across kills
        if proc.returncode == -signal.SIGKILL and now > rows:
            mid_write.append(round(delay, 2))
        rows = now
    assert kills >= KILLS, f"only {kills} of {attempt + 1} runs were still running when their kill was due"
    # Most kills that land after start-up cut a run while it is storing evidence; enough of them must.
    assert len(mid_write) >= KILLS // 4, f"kills at {landed}s; only those at {mid_write}s cut a run mid-write"

    resumed = world.osint(cfg, "enrich", "--case", str(CASE))
    assert resumed.returncode in (0, 1), resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert_whole(world, cfg, store)
    assert _newest(store) == world.reference
    assert _edges(store) == world.edges


def test_stores_opened_together_on_a_new_file_all_open(tmp_path: Path):
    # Threads, each with its own engine, stand in for processes: all of them find no tables and create them.
    for attempt in range(10):
        path = tmp_path / f"new{attempt}.sqlite"
        start, failures = threading.Barrier(6), []

        def open_it() -> None:
            start.wait()
            try:
                open_store(str(path)).close()
            except StoreError as exc:
                failures.append(str(exc))

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not failures, failures[0]
        with closing(open_store(str(path), create=False)) as s:
            assert s.integrity_check() == "ok"


def test_two_runs_on_one_store_at_once(world: World):
    cfg, store = world.config("shared")
    first, second = world.enrich(cfg), world.enrich(cfg)
    results = [p.communicate(timeout=120) for p in (first, second)]
    for proc, (out, err) in zip((first, second), results):
        assert proc.returncode in (0, 1), err
        assert "Traceback" not in err and "database is locked" not in err, err
    assert assert_whole(world, cfg, store) > 0
    assert _newest(store) == world.reference
    assert _edges(store) == world.edges


# -- PostgreSQL: the server restarts under a running `osint enrich` ---------------------------------


def _pg_world(world: World, pg_server: Any, name: str) -> tuple[Path, str]:
    from osint.store.evidence import init_store

    url = pg_server.url(pg_server.new_database())
    init_store(url).close()
    cfg, _ = world.config(name)
    conf = tomllib.loads(cfg.read_text(encoding="utf-8"))
    conf["store"] = {"url": url}
    cfg.write_text(to_toml(conf), encoding="utf-8")
    return cfg, url


def _pg_rows(pg_server: Any, url: str) -> int:
    with closing(open_store(url, create=False)) as s:
        return sum(n for per_outcome in s.counts().values() for n in per_outcome.values())


def _when_writing(pg_server: Any, url: str, proc: subprocess.Popen, rows: int = 30) -> None:
    deadline = time.monotonic() + 60
    while _pg_rows(pg_server, url) < rows:
        assert proc.poll() is None, "the run ended before the server could be stopped under it"
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_brief_postgresql_restart_mid_run_is_ridden_out(world: World, pg_server: Any):
    cfg, url = _pg_world(world, pg_server, "pg-brief")
    world.env["OSINT_STORE_RETRY_S"] = "30"
    proc = world.enrich(cfg)
    _when_writing(pg_server, url, proc)
    pg_server.restart(down_for=0.5)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 1), err
    assert "Traceback" not in err and "error:" not in err, err
    assert _newest(url) == world.reference


def test_a_postgresql_outage_mid_run_is_one_line_exit_1_and_the_run_resumes(world: World, pg_server: Any):
    cfg, url = _pg_world(world, pg_server, "pg-down")
    world.env["OSINT_STORE_RETRY_S"] = "2"
    proc = world.enrich(cfg)
    _when_writing(pg_server, url, proc)
    pg_server.stop()
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        pg_server.restart()
    assert proc.returncode == 1, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "store unreachable" in errors[0] and "the run can be resumed" in errors[0], err
    assert "Traceback" not in err
    assert pg_server.password not in out + err
    stored = _pg_rows(pg_server, url)
    assert stored >= 30  # what was committed before the outage is still there
    resumed = world.osint(cfg, "enrich", "--case", str(CASE))
    assert resumed.returncode in (0, 1), resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert world.osint(cfg, "evidence", "verify").returncode == 0
    assert _newest(url) == world.reference
    with closing(open_store(url, create=False)) as s:
        assert {(a, b, k) for a, b, k in build_graph(load_case(CASE), s).edges(keys=True)} == world.edges
