"""Benchmark `osint enrich` on synthetic cases of 1k, 5k and 10k indicators with 5% of the lab's answers faulted.

Each size runs in a fresh process (so that its peak RSS is its own) against the load world of
`tests/lab/load.py` (half IPs from 100.64.0.0/10, half domains under .test and .example), served by
a lab in yet another process. Every source with something to ask runs, at depth 0. Prints per size:
indicators, questions, the newest outcome of every question by kind (and whether each is what the
lab world and the fault plan say), wall time, CPU time of the engine and of the lab, the longest
garbage-collector pause, peak RSS and RSS per 1k indicators; then the ratio of peak RSS at the
largest size to the smallest: the "flat" figure. Not part of the test suite:

    python bench/load.py                          # 1,000, 5,000 and 10,000 indicators
    python bench/load.py --sizes 1000,2000 --heap # also the peak Python heap (tracemalloc: 3-4x slower)
    python bench/load.py --even                   # every fault kind equally often (see below)
    py-spy record --gil -f raw -o prof.txt -- python bench/load.py --one 10000   # where the engine spends its time

By default the faults that the engine's breaker counts (no answer, refused, 429) are picked less often
than the others, so that a healthy server is not shut by the order answers happen to come back in;
`--even` picks every kind alike and reports how many questions the breaker then kept from being sent.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lab import load  # noqa: E402
from lab.world import to_toml  # noqa: E402

NOT_SENT = "not sent: "  # the error of a question the breaker kept from being sent


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(n: int, args: argparse.Namespace) -> dict:
    """One size, in this process: the lab in another process, the engine here. Returns the figures."""
    from osint.case import load_case
    from osint.config import load_settings
    from osint.engine.run import Enricher
    from osint.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix=f"osint-load-{n}-"))
    qs = load.questions(n)
    plan = load.plan_faults(qs, args.fraction, args.seed, args.even)
    with load.RemoteLab(n, load.SOURCES, args.fraction, args.seed, args.even) as lab:
        if lab.digest != load.digest(plan):
            raise SystemExit("the lab process planned other faults than this one")
        for var in ("HTTPS_PROXY", "https_proxy", "SHODAN_API_KEY", "CIRCL_PDNS_USER", "CIRCL_PDNS_PASSWORD",
                    "MNEMONIC_API_KEY"):
            os.environ.pop(var, None)
        os.environ.update(lab.env)  # web pages through the lab proxy, APIs direct
        cfg = tmp / "osint.toml"
        cfg.write_text(to_toml({"store": {"path": str(tmp / "evidence.sqlite")}, "enrich": {"allow_private": False},
                                "sources": load.settings(lab.source_settings, args.concurrency)}))
        cfg.chmod(0o600)
        settings = load_settings(cfg, env={})
        case = load_case(load.write_case(tmp / "case.yaml", n))
        store = open_store(settings.store)
        rss_before, lab_before, cpu_before = rss_mb(), lab.stats(), cpu_s()
        pauses = load.GCPauses()
        if args.heap:
            import tracemalloc

            tracemalloc.start()
        t0 = time.monotonic()
        report = Enricher(settings, case, store, sources=list(load.SOURCES), depth=0,
                          concurrency=args.concurrency).run()
        wall, cpu = time.monotonic() - t0, cpu_s() - cpu_before
        heap_peak = None
        if args.heap:
            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss, lab_after = rss_mb(), lab.stats()

    newest = {(o.source, o.query_key): o for o in store.newest_per_query()}
    observations = sum(sum(v.values()) for v in store.counts().values())
    expected = {(q.source, q.key): q for q in qs}
    wrong: collections.Counter = collections.Counter()
    for key, q in expected.items():
        o, fault = newest.get(key), plan.get(key)
        if o is None:
            wrong["never asked"] += 1
        elif o.outcome.value not in (fault.outcomes if fault else (q.expected,)):
            wrong[f"{q.source} {fault.mode if fault else 'no fault'} -> {o.outcome.value}"] += 1
    store.close()
    result = {
        "indicators": n, "questions": len(newest), "expected_questions": len(expected),
        "planned": sum(s.planned for s in report.stats.values()), "observations": observations,
        "faults": len(plan), "requests_at_lab": lab_after["requests"] - lab_before["requests"],
        "outcomes": dict(sorted(collections.Counter(o.outcome.value for o in newest.values()).items())),
        "wrong": dict(wrong), "extra": len(set(newest) - set(expected)),
        "not_sent": sum(1 for o in newest.values() if (o.error or "").startswith(NOT_SENT)),
        "breaker_risk": sum(load.breaker_risk(qs, plan).values()), "exit_status": int(report.exit_status),
        "wall_s": wall, "cpu_s": cpu, "lab_cpu_s": lab_after["cpu_s"] - lab_before["cpu_s"],
        "gc_longest_s": pauses.longest, "lab_gc_longest_s": lab_after["gc_longest_s"],
        "rss_before_mb": rss_before, "rss_peak_mb": rss, "heap_peak_mb": heap_peak,
        "store_mb": (tmp / "evidence.sqlite").stat().st_size / 2**20,
    }
    if args.keep:
        result["store"] = str(tmp / "evidence.sqlite")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def child(n: int, args: argparse.Namespace, heap: bool) -> dict:
    cmd = [sys.executable, __file__, "--one", str(n), "--concurrency", str(args.concurrency), "--fraction",
           str(args.fraction), "--seed", str(args.seed), "--heap" if heap else "--no-heap"]
    cmd += ["--even"] if args.even else []
    cmd += ["--keep"] if args.keep else []
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def show(r: dict) -> None:
    n = r["indicators"]
    adds_up = (r["questions"] == r["expected_questions"] == r["planned"] == r["observations"] and not r["extra"]
               and sum(r["outcomes"].values()) == r["questions"])
    print(f"\n{n:,} indicators: {r['questions']:,} questions ({r['faults']:,} faulted, "
          f"{r['faults'] / r['questions']:.1%}), {r['observations']:,} observations, "
          f"{r['requests_at_lab']:,} requests at the lab (a web page counts twice: proxy and site); "
          f"exit status {r['exit_status']}")
    print("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in r["outcomes"].items())
          + f" = {sum(r['outcomes'].values()):,} ({'adds up' if adds_up else 'DOES NOT ADD UP'}); "
          + ("each as the lab world and the fault plan say" if not r["wrong"]
             else f"NOT as the lab world says: {r['wrong']}"))
    if r["not_sent"]:
        print(f"  kept from being sent by the breaker: {r['not_sent']:,} (runs of failures in a row to expect, "
              f"were answers back in random order: {r['breaker_risk']:.3g})")
    heap = f"; peak Python heap {r['heap_peak_mb']:.0f} MB" if r.get("heap_peak_mb") is not None else ""
    print(f"  wall {r['wall_s']:.1f} s ({r['questions'] / r['wall_s']:.0f} questions/s); CPU: engine "
          f"{r['cpu_s']:.1f} s, lab {r['lab_cpu_s']:.1f} s; longest GC pause: engine "
          f"{r['gc_longest_s'] * 1000:.0f} ms, lab {r['lab_gc_longest_s'] * 1000:.0f} ms")
    print(f"  RSS {r['rss_before_mb']:.0f} MB before the run (case loaded), peak {r['rss_peak_mb']:.0f} MB "
          f"({r['rss_peak_mb'] / n * 1000:.1f} MB per 1k indicators){heap}; store {r['store_mb']:.0f} MB"
          + (f" ({r['store']})" if "store" in r else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,10000", help="indicators per case, comma-separated")
    ap.add_argument("--concurrency", type=int, default=16, help="allowed concurrency per source")
    ap.add_argument("--fraction", type=float, default=load.FRACTION, help="share of questions faulted")
    ap.add_argument("--seed", type=int, default=load.SEED)
    ap.add_argument("--even", action="store_true", help="pick every fault kind equally often")
    ap.add_argument("--heap", action=argparse.BooleanOptionalAction, default=False,
                    help="also measure the peak Python heap (tracemalloc), in a second run per size (3-4x slower)")
    ap.add_argument("--keep", action="store_true", help="keep each size's store, case and configuration")
    ap.add_argument("--one", type=int, metavar="N", help="run one size in this process and print its figures as JSON")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args)))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load: {', '.join(f'{n:,}' for n in sizes)} indicators (half IPs, half domains), "
          f"{args.fraction:.0%} of questions faulted ({'every kind alike' if args.even else 'weighted'}, "
          f"seed {args.seed}); sources {', '.join(load.SOURCES)}; timeout {load.TIMEOUT:g} s, no retries, "
          f"concurrency {args.concurrency} per source; depth 0; each size in its own process, the lab in another")
    results = []
    for n in sizes:
        r = child(n, args, heap=False)
        if args.heap:
            r["heap_peak_mb"] = child(n, args, heap=True)["heap_peak_mb"]
        results.append(r)
        show(r)
    if len(results) > 1:
        lo, hi = results[0], results[-1]
        added = [r["rss_peak_mb"] - r["rss_before_mb"] for r in (lo, hi)]
        line = (f"\nflat? {hi['indicators'] / lo['indicators']:.0f}x the indicators: peak RSS "
                f"{hi['rss_peak_mb'] / lo['rss_peak_mb']:.2f}x ({lo['rss_peak_mb']:.0f} -> {hi['rss_peak_mb']:.0f} MB)"
                f"; "
                f"what the run adds to the loaded case (peak minus before) {added[1] / max(added[0], 1e-9):.2f}x "
                f"({added[0]:.0f} -> {added[1]:.0f} MB)")
        if lo.get("heap_peak_mb") and hi.get("heap_peak_mb"):
            line += f"; peak Python heap {hi['heap_peak_mb'] / lo['heap_peak_mb']:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
