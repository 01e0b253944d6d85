"""Workers in several processes share one run through the PostgreSQL store (issue 17: work shared across machines).

The load world (tests/lab/load.py) runs in its own process and counts every request it receives, by
client address; `osint enrich` and `osint worker` run as real processes against a private PostgreSQL
cluster. Two "machines" are two egress addresses on loopback (Linux routes all of 127/8 to lo). No
assertion here is about time: bench/workers.py measures the speed.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from lab import load
from lab.world import to_toml
from osint.store import open_store
from osint.store.evidence import init_store
from osint.store.shared import WorkTables, run_states

pytestmark = pytest.mark.timeout(420)

SOURCES = tuple(s for s in load.SOURCES if s != "dns")  # as test_load.py: dns is met through asn


def _config(path: Path, url: str, sources: dict, **enrich) -> Path:
    path.write_text(to_toml({"store": {"url": url}, "enrich": {"allow_private": False, **enrich},
                             "sources": sources}), encoding="utf-8")
    path.chmod(0o600)
    return path


def _start(env: dict, cfg: Path, *args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "osint", "--config", str(cfg), *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _worker(env: dict, cfg: Path, *args: str, cwd: Path) -> subprocess.Popen:
    """An `osint worker --until-done`, once it is connected and looking for runs."""
    proc = _start(env, cfg, "worker", "--until-done", *args, cwd=cwd)
    assert proc.stderr.readline().startswith("worker "), proc.communicate()[1]
    return proc


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=360)
    return proc.returncode, out, err


def _questions(url: str) -> list[tuple]:
    with closing(open_store(url, create=False)) as store:
        work = WorkTables(store)
        return work._one("SELECT source, query_key, state, attempts, done_by FROM work_questions")


def _load_env(guarded_env: dict, lab: load.RemoteLab) -> dict:
    env = {k: v for k, v in guarded_env.items() if k not in ("SHODAN_API_KEY", "CIRCL_PDNS_USER",
                                                             "CIRCL_PDNS_PASSWORD", "MNEMONIC_API_KEY")}
    return {**env, **lab.env}


def test_three_workers_in_three_processes_on_two_egress_addresses_ask_every_question_once(pg_url, guarded_env,
                                                                                          tmp_path):
    n = 600
    init_store(pg_url).close()
    questions = load.questions(n, SOURCES)
    web_pages = sum(1 for q in questions if q.source == "web")
    with load.RemoteLab(n, SOURCES, fraction=0.0, env=guarded_env) as lab:
        env = _load_env(guarded_env, lab)
        sources = load.settings(lab.source_settings, 8)
        cfg = _config(tmp_path / "osint.toml", pg_url, sources, egress="127.0.0.2")
        case = load.write_case(tmp_path / "case.yaml", n)
        # Two workers wait for the run; enrich opens it and works too: three processes, two egress addresses.
        workers = [_worker(env, cfg, cwd=tmp_path), _worker(env, cfg, "--egress", "127.0.0.3", cwd=tmp_path)]
        enrich = _start(env, cfg, "enrich", "--case", str(case), "--depth", "0", "--sources", ",".join(SOURCES),
                        cwd=tmp_path)
        rc, out, err = _finish(enrich)
        assert rc == 0, err
        done = [_finish(w) for w in workers]
        assert [d[0] for d in done] == [0, 0], [d[2] for d in done]
        stats = lab.stats()

    # Every question is on record exactly once, and the lab received each once (a web page: proxy and site).
    with closing(open_store(pg_url, create=False)) as store:
        counts = store.counts()
        recorded = collections.Counter((o.source, o.query_key) for o in store.list())
        assert store.run_record(store.list(limit=1)[0].run_id)["status"] == "complete"
    assert set(recorded) == {(q.source, q.key) for q in questions}
    assert set(recorded.values()) == {1}
    assert sum(sum(c.values()) for c in counts.values()) == len(questions)
    assert stats["requests"] == len(questions) + web_pages
    rows = _questions(pg_url)
    assert len(rows) == len(questions) and {r[2] for r in rows} == {"done"} and {r[3] for r in rows} == {1}
    # The work was shared: each of the three processes asked some of the questions.
    assert len({r[4] for r in rows}) == 3
    # The closing table adds up, from the shared tables.
    assert "evidence in" in out and "run complete" in out

    # Each egress address had its own budget: the lab saw requests from 127.0.0.2 and 127.0.0.3 only
    # (and the proxy's own hop to each site from 127.0.0.1), and each address's tokens match its requests.
    clients = collections.Counter()
    for server, by_client in stats["clients"].items():
        clients.update(by_client)
    assert set(clients) == {"127.0.0.1", "127.0.0.2", "127.0.0.3"}
    assert clients["127.0.0.1"] == web_pages == stats["clients"]["http"].get("127.0.0.1", 0)
    with closing(open_store(pg_url, create=False)) as store:
        taken = WorkTables(store).tokens_taken()
    per_egress = collections.Counter()
    for (_source, _server, egress), n_taken in taken.items():
        per_egress[egress] += n_taken
    assert per_egress == {"127.0.0.2": clients["127.0.0.2"], "127.0.0.3": clients["127.0.0.3"]}


def test_a_budget_is_per_egress_address(pg_url):
    """Two egress addresses at the same instant: each has its full burst; a third token on one must wait."""
    init_store(pg_url).close()
    with closing(open_store(pg_url, create=False)) as store:
        work = WorkTables(store)
        take = lambda egress, t: work.take_token("rdap", "rdap.test:443", egress, 1.0, 2, now=t)  # noqa: E731
        assert [take("127.0.0.2", 100.0), take("127.0.0.2", 100.0)] == [0.0, 0.0]
        assert take("127.0.0.2", 100.0) == pytest.approx(1.0)  # one a second: wait a second
        assert [take("127.0.0.3", 100.0), take("127.0.0.3", 100.0)] == [0.0, 0.0]  # another machine, own budget
        assert take("127.0.0.2", 101.0) == 0.0  # a second later, the first has its token again
        work.pause("rdap", "rdap.test:443", "127.0.0.3", 3600)  # a 429 to one egress pauses only that one
        assert take("127.0.0.3", None) > 3000
        assert take("127.0.0.2", 105.0) == 0.0


def test_the_team_never_spends_more_credits_than_its_budget(pg_url, guarded_env, tmp_path):
    n = 60  # 30 IPs: 30 RDAP questions, with credits for 7
    init_store(pg_url).close()
    questions = load.questions(n, ("rdap",))
    with load.RemoteLab(n, ("rdap",), fraction=0.0, env=guarded_env) as lab:
        env = _load_env(guarded_env, lab)
        sources = load.settings(lab.source_settings, 4)
        sources["rdap"]["credits"] = 7
        cfg = _config(tmp_path / "osint.toml", pg_url, sources)
        case = load.write_case(tmp_path / "case.yaml", n)
        worker = _worker(env, cfg, cwd=tmp_path)
        rc, out, err = _finish(_start(env, cfg, "enrich", "--case", str(case), "--depth", "0", "--sources", "rdap",
                                      cwd=tmp_path))
        assert _finish(worker)[0] == 0
        stats = lab.stats()
    assert rc == 1, err  # partial: some questions were not sent
    assert stats["requests"] == 7
    with closing(open_store(pg_url, create=False)) as store:
        assert WorkTables(store).spent("rdap") == 7
        observations = store.list(source="rdap")
    sent = [o for o in observations if o.meta.get("sent") is not False]
    unsent = [o for o in observations if o.meta.get("sent") is False]
    assert len(sent) == 7 and len(unsent) == len(questions) - 7
    assert {str(o.outcome) for o in unsent} == {"blocked"}
    assert all("budget of 7 rdap credits is spent" in o.error for o in unsent)
    assert "budget of 7 rdap credits is spent" in err  # said once in words under the closing table


def test_a_killed_workers_questions_are_taken_back_and_its_run_shows_crashed(pg_url, guarded_env, http_server,
                                                                              tmp_path):
    from lab.http_server import Response
    from lab.world import CASE

    init_store(pg_url).close()
    release = threading.Event()

    def answer(request):
        release.wait(120)  # the first worker's questions hang here until it has been killed
        return Response(404, {"error": "No information available for that IP."})

    http_server.add_route("GET", "/shodan/host/", answer, prefix=True)
    cfg = _config(tmp_path / "osint.toml", pg_url,
                  {"shodan": {"url": http_server.url, "rate": 1000, "burst": 100, "api_key": "lab-key",
                              "timeout": 200, "concurrency": 8}}, allow_private=True, lease=1.0)
    env = {k: v for k, v in guarded_env.items() if k.lower() not in ("http_proxy", "https_proxy")}
    first = _start(env, cfg, "enrich", "--case", str(CASE), "--sources", "shodan", "--depth", "0", cwd=tmp_path)
    try:
        # Killed once every question it leased is hanging at the lab.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            leased = sum(1 for r in _questions(pg_url) if r[2] == "leased")
            if leased and http_server.count() == leased:
                break
            time.sleep(0.05)
        assert http_server.count() > 0, first.communicate()[1]
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        held = http_server.count()
        # Nobody works on the run any more: once its heartbeat is older than --stale, it shows as crashed.
        with closing(open_store(pg_url, create=False)) as store:
            deadline = time.monotonic() + 60
            while run_states(store, 1.0)[0]["state"] != "crashed" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert run_states(store, 1.0)[0]["state"] == "crashed"
        shown = subprocess.run([sys.executable, "-m", "osint", "--config", str(cfg), "store", "runs", "--stale", "1"],
                               env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert "crashed" in shown.stdout, shown.stderr
    finally:
        release.set()
        if first.poll() is None:
            first.kill()
    rc, out, err = _finish(_worker(env, cfg, cwd=tmp_path))
    assert rc == 0, err
    rows = _questions(pg_url)
    assert rows and {r[2] for r in rows} == {"done"}
    # The killed worker's questions were asked again by the new one, and only those twice.
    taken_back = [r for r in rows if r[3] == 2]
    assert len(taken_back) == held
    assert len({r[4] for r in rows}) == 1
    assert http_server.count() == held + len(rows)
    with closing(open_store(pg_url, create=False)) as store:
        assert run_states(store, 1.0)[0]["state"] == "complete"


def test_a_shodan_search_costs_a_query_credit_and_a_host_lookup_none():
    from osint.config import EnrichSettings, SourceSettings
    from osint.engine.budget import credit_budget, credit_cost
    from osint.sources import SourceContext, registered_sources

    shodan = registered_sources()["shodan"](SourceSettings(options={"credits": 100}), SourceContext(None, EnrichSettings()))
    host = shodan.queries("ip:192.0.2.10", 0)[0]
    search = shodan.queries("certificate:" + "ab" * 32, 1)[0]
    assert (credit_cost(shodan, host), credit_cost(shodan, search), credit_budget(shodan)) == (0, 1, 100)
    rdap = registered_sources()["rdap"](SourceSettings(), SourceContext(None, EnrichSettings()))
    assert credit_cost(rdap, rdap.queries("ip:192.0.2.10", 0)[0]) == 1 and credit_budget(rdap) is None


def test_a_writer_role_can_run_a_shared_run_and_its_workers(pg_server, guarded_env, http_server, tmp_path):
    """The rights `store init --writer` gives are enough to open, work on and close a shared run."""
    from lab.http_server import Response
    from lab.world import CASE

    tag = time.monotonic_ns() % 10**9
    writer = f"writer_{tag}"
    pg_server.new_role(writer, "writer-pw")
    db = pg_server.new_database()
    init_store(pg_server.url(db), writers=[writer]).close()
    url = pg_server.url(db, writer, "writer-pw")
    http_server.add_route("GET", "/shodan/host/", Response(404, {"error": "No information available for that IP."}),
                          prefix=True)
    cfg = _config(tmp_path / "osint.toml", url, {"shodan": {"url": http_server.url, "api_key": "lab-key",
                                                            "credits": 100, "rate": 1000, "burst": 100}},
                  allow_private=True)
    env = {k: v for k, v in guarded_env.items() if k.lower() not in ("http_proxy", "https_proxy")}
    helper = _worker(env, cfg, cwd=tmp_path)
    rc, out, err = _finish(_start(env, cfg, "enrich", "--case", str(CASE), "--sources", "shodan", "--depth", "0",
                                  cwd=tmp_path))
    assert rc == 0, err
    assert _finish(helper)[0] == 0
    rows = _questions(url)
    assert rows and {r[2] for r in rows} == {"done"} and http_server.count() == len(rows)
    with closing(open_store(url, create=False)) as store:
        assert run_states(store, 60.0)[0]["state"] == "complete"
        assert sum(WorkTables(store).tokens_taken().values()) == len(rows)
