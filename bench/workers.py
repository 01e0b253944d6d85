"""Benchmark: one shared run, rate-limited, with 1 worker, 3 workers on one egress address, and 3 on two.

    python bench/workers.py                  # 120 indicators: 60 RDAP questions at 5 requests a second
    python bench/workers.py --indicators 200 --rate 5

Starts a private PostgreSQL cluster (tests/lab/pg.py) and the load world's lab in its own process
(tests/lab/load.py), and asks one source (RDAP, one server) at `--rate` requests a second per egress
address. Each case has a new database, so nothing is answered from the store: `osint enrich` opens the
run (and works as a worker) while `osint worker` processes help. Times the run from its start to its end
(the store's runs row; the enrich process's own wall time, start-up included, in brackets), and prints each figure against the 1-worker run of the same invocation. Workers that
leave from one address share its budget, so 3 of them are no faster than 1; a second egress address
(a second machine) brings its own budget: about 2x.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lab import load  # noqa: E402
from lab.pg import LabPostgres  # noqa: E402
from lab.world import to_toml  # noqa: E402
from osint.store.evidence import init_store, open_store, runs  # noqa: E402

CASES = {
    "1 worker": [],
    "3 workers, 1 egress": ["127.0.0.2", "127.0.0.2"],
    "3 workers, 2 egresses": ["127.0.0.2", "127.0.0.3"],
}


def run_case(pg: LabPostgres, lab: load.RemoteLab, helpers: list[str], n: int, rate: float, tmp: Path,
             env: dict[str, str]) -> tuple[float, dict[str, int], int]:
    url = pg.url(pg.new_database())
    init_store(url).close()
    sources = load.settings(lab.source_settings, 8)
    sources["rdap"].update(rate=rate, burst=1)
    cfg = tmp / f"osint-{len(helpers)}-{len(set(helpers))}.toml"
    cfg.write_text(to_toml({"store": {"url": url}, "enrich": {"allow_private": False, "egress": "127.0.0.2"},
                            "sources": sources}), encoding="utf-8")
    cfg.chmod(0o600)
    case = load.write_case(tmp / "case.yaml", n)
    before = lab.stats()["clients"]
    osint = [sys.executable, "-m", "osint", "--config", str(cfg)]
    workers = [subprocess.Popen([*osint, "worker", "--until-done", "--egress", egress], env=env, cwd=tmp,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for egress in helpers]
    for w in workers:  # the helpers are connected and waiting for a run before it opens
        w.stderr.readline()
    start = time.perf_counter()
    done = subprocess.run([*osint, "enrich", "--case", str(case), "--depth", "0", "--sources", "rdap"], env=env,
                          cwd=tmp, capture_output=True, text=True)
    wall = time.perf_counter() - start
    for w in workers:
        out, err = w.communicate(timeout=120)
        if os.environ.get("BENCH_VERBOSE"):
            print(out, err)
        if w.returncode != 0:
            raise SystemExit(f"a worker failed ({w.returncode}): {err[-2000:]}")
    if done.returncode != 0:
        raise SystemExit(f"enrich failed ({done.returncode}): {done.stderr[-2000:]}")
    with closing(open_store(url, create=False)) as store:
        run = store._rows(sa.select(runs.c.started_at, runs.c.finished_at))[0]
    span = (datetime.fromisoformat(run[1].replace("Z", "+00:00"))
            - datetime.fromisoformat(run[0].replace("Z", "+00:00"))).total_seconds()
    after = lab.stats()["clients"]
    by_egress = collections.Counter()
    for server in ("http",):
        for client, count in after[server].items():
            by_egress[client] += count - before[server].get(client, 0)
    return span, wall, dict(by_egress), sum(by_egress.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--indicators", type=int, default=120, help="half of them IPs, each one RDAP question")
    ap.add_argument("--rate", type=float, default=5.0, help="RDAP requests a second per egress address")
    args = ap.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    pg = LabPostgres().start()
    try:
        with load.RemoteLab(args.indicators, ("rdap",), fraction=0.0) as lab, \
                tempfile.TemporaryDirectory(prefix="osint-bench-workers-") as tmp:
            env.update(lab.env)
            questions = len(load.questions(args.indicators, ("rdap",)))
            print(f"{questions} RDAP questions at {args.rate:g} requests/s per egress address")
            base = None
            for name, helpers in CASES.items():
                span, wall, by_egress, sent = run_case(pg, lab, helpers, args.indicators, args.rate, Path(tmp), env)
                base = base or span
                shares = ", ".join(f"{k} {v}" for k, v in sorted(by_egress.items()))
                print(f"{name:<22} run {span:6.1f} s ({wall:5.1f} s with the process's start)   "
                      f"{base / span:4.2f}x the 1-worker run   {sent} requests ({shares})", flush=True)
    finally:
        pg.close()


if __name__ == "__main__":
    main()
