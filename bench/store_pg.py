"""Benchmark: graph build and report on a PostgreSQL store, on this machine and over a 5 ms link.

    python bench/store_pg.py                    # 20,000 answers
    python bench/store_pg.py --answers 38000 --rtt 0.005

Starts a private PostgreSQL cluster (tests/lab/pg.py; needs Debian's postgresql package), fills one
store with synthetic answers (raw bytes of ~2 KB each and a parse of three facts), and a SQLite file
with the same. Then times `build_graph` and the report's data on: SQLite; PostgreSQL directly; and
PostgreSQL through a loopback proxy that delays every byte (bench/latency_proxy.py). Also times the
old way of reading (one query per answer, as build_graph does for a store without graph_answers) on
a slice, to show what the one-query read saves. Prints each figure and the ratio distant / local.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from latency_proxy import LatencyProxy  # noqa: E402
from lab.pg import LabPostgres  # noqa: E402
from osint.case import load_case  # noqa: E402
from osint.graph.build import build_graph  # noqa: E402
from osint.store import NewObservation  # noqa: E402
from osint.store.evidence import init_store, observations, open_store, parses  # noqa: E402

CASE = ROOT / "data" / "seeds.yaml"


def fill(target: str, n: int) -> None:
    store = init_store(target)
    rows, facts = [], []
    for i in range(n):
        host, ip = f"host{i}.example", f"198.51.{100 + i % 3}.{i % 250}"
        rows.append(NewObservation(
            run_id="bench", source=("dns", "pdns", "whois", "ct")[i % 4], query_key=f"q {host}",
            subject=f"domain:{host}", request={"qname": host}, endpoint="lab", outcome="answered",
            raw=(f"answer for {host} ".encode() * 100)[:2000], duration_ms=1.0, tool_version="bench",
            observed_at=f"2024-01-{1 + i % 28:02d}T00:00:{i % 60:02d}.{i % 999999:06d}Z").row())
        facts.append({"facts": [{"s": f"domain:{host}", "r": "resolves_to", "o": f"ip:{ip}"},
                                {"s": f"domain:{host}", "r": "uses_email", "o": f"email:admin@{host}"},
                                {"s": f"ip:{ip}", "r": "announced_by", "o": f"asn:AS{64500 + i % 20}"}],
                      "nodes": {}, "leads": []})
    with store.engine.begin() as conn:
        for start in range(0, n, 2000):
            conn.execute(observations.insert(), rows[start:start + 2000])
        ids = [i for (i,) in conn.execute(observations.select().with_only_columns(observations.c.id)
                                          .order_by(observations.c.id))]
        prows = [dict(observation_id=oid, parser="bench@1", parsed=p, created_at="2024-02-01T00:00:00Z")
                 for oid, p in zip(ids, facts)]
        for start in range(0, n, 2000):
            conn.execute(parses.insert(), prows[start:start + 2000])
    store.close()


class OldReads:
    """The store as build_graph used it before graph_answers: one query per answer, raw bytes included."""

    def __init__(self, store, limit):
        self.store, self.limit = store, limit

    def newest_per_query(self):
        for n, obs in enumerate(self.store.newest_per_query()):
            if n >= self.limit:
                return
            self.store.get(obs.id)  # as before: every raw answer came along
            yield obs

    def latest_answers(self, source):
        return self.store.latest_answers(source)

    def latest_parse(self, oid):
        return self.store.latest_parse(oid)


def timed(fn, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--answers", type=int, default=20000)
    ap.add_argument("--rtt", type=float, default=0.005, help="round trip of the slow link, seconds")
    ap.add_argument("--old-slice", type=int, default=500, help="answers read the old way (it is slow)")
    args = ap.parse_args()
    case = load_case(CASE)
    pg = LabPostgres().start()
    proxy = None
    try:
        db = pg.new_database()
        local = pg.url(db)
        tmp = Path(tempfile.mkdtemp(prefix="osint-bench-pg-"))
        sqlite = str(tmp / "e.sqlite")
        t = time.perf_counter()
        fill(local, args.answers)
        fill(sqlite, args.answers)
        print(f"{args.answers} answers stored in SQLite and PostgreSQL in {time.perf_counter() - t:.1f}s")
        proxy = LatencyProxy(("127.0.0.1", pg.port), args.rtt).start()
        distant = local.replace(f":{pg.port}/", f":{proxy.port}/")
        results = {}
        for name, target in (("sqlite", sqlite), ("postgresql", local), (f"postgresql +{args.rtt * 1000:.0f}ms", distant)):
            store = open_store(target, create=False)
            g = build_graph(case, store)
            results[name] = timed(lambda: build_graph(case, store))
            old = timed(lambda: build_graph(case, OldReads(store, args.old_slice)), repeat=1)
            store.close()
            print(f"{name:>22}: graph {g.number_of_nodes()} nodes {g.number_of_edges()} edges in {results[name]:.2f}s; "
                  f"old per-answer reads: {old / args.old_slice * 1000:.2f} ms/answer "
                  f"(~{old / args.old_slice * args.answers:.0f}s for all)")
        far, near = results[f"postgresql +{args.rtt * 1000:.0f}ms"], results["postgresql"]
        print(f"graph build over the {args.rtt * 1000:.0f} ms link / on this machine: {far / near:.2f}x "
              f"(target <= 1.5x); PostgreSQL / SQLite on this machine: {near / results['sqlite']:.2f}x")
    finally:
        if proxy:
            proxy.stop()
        pg.close()


if __name__ == "__main__":
    main()
