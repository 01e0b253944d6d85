"""Benchmark the frontier: a run with the default rate limits against each source's own bound.

With default rate limits a run cannot beat its slowest source: N questions to one server at r per
second take about (N - burst) / r seconds, and N questions at `latency` each through c slots take
N * latency / c. This bench enriches a synthetic case (100 IPs and 30 domains by default, 50 ms per
answer, the configured default depth) against the loopback lab in its own process, counts the
questions each source really asked per server, and prints the wall time against the largest of those
bounds. A level barrier (every follow-up waiting for the whole depth before it) shows up as a ratio
well above 1: the next depth's questions queue behind the slowest source's tail. Not part of the
test suite:

    python bench/frontier.py
    python bench/frontier.py --ips 100 --domains 30 --latency 0.05
    python bench/frontier.py --sources dns,asn,rdap,ct,whois,shodan,internetdb   # without the 1/s passive DNS
    python bench/frontier.py --ips 20 --domains 40 --resolve --sources dns,archive,shodan
        # the archive's 0.5/s tail at depth 0 against Shodan's questions about the addresses found at depth 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from enrich import RemoteLab  # noqa: E402
from lab.load import case_yaml  # noqa: E402
from lab.world import to_toml  # noqa: E402
from osint.case import load_case  # noqa: E402
from osint.config import load_settings  # noqa: E402
from osint.engine.run import Enricher  # noqa: E402
from osint.store import open_store  # noqa: E402

SOURCES = ["dns", "asn", "rdap", "pdns", "ct", "whois", "shodan", "internetdb", "otx"]
LIMIT_KEYS = ("rate", "burst", "concurrency")


def server_of(endpoint: str) -> str:
    return urlsplit(endpoint).netloc if "://" in endpoint else endpoint


def own_bound(src, per_server: Counter, latency: float, concurrency: int) -> float:
    """The time this source alone needs for the questions it asked, by its rate limit and its slots."""
    slots = min(src.concurrency, concurrency)
    by_slots = sum(per_server.values()) * latency / slots
    by_rate = max(((n - src.burst) / src.rate_for(server) for server, n in per_server.items()), default=0.0)
    return max(by_slots, by_rate, 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ips", type=int, default=100)
    ap.add_argument("--domains", type=int, default=30)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every lab answer")
    ap.add_argument("--depth", type=int, default=None, help="default: the configured depth")
    ap.add_argument("--sources", default=",".join(SOURCES), help="comma-separated; default: %(default)s")
    ap.add_argument("--resolve", action="store_true",
                    help="give every domain an A record to an address of its own, found at depth 1")
    args = ap.parse_args()

    sources = args.sources.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="osint-bench-frontier-"))
    ips = [f"100.64.{i // 250}.{i % 250 + 1}" for i in range(args.ips)]
    domains = [f"bench-{i}.example.com" for i in range(args.domains)]
    records = {f"{d}.": {"A": [f"100.96.{i // 250}.{i % 250 + 1}"]} for i, d in enumerate(domains)} if args.resolve else {}
    lab = RemoteLab(args.latency, records)
    try:
        doc = {name: {k: v for k, v in conf.items() if k not in LIMIT_KEYS}
               for name, conf in lab.settings.items() if name in sources}
        cfg = tmp / "osint.toml"
        cfg.write_text(to_toml({"store": {"path": str(tmp / "bench.sqlite")},
                                "enrich": {"allow_private": False}, "sources": doc}))
        cfg.chmod(0o600)
        settings = load_settings(cfg, env={})
        (tmp / "case.yaml").write_text(case_yaml("bench", "synthetic frontier case", "BenchBot", ips, domains))
        case = load_case(tmp / "case.yaml")
        store = open_store(settings.store)
        enricher = Enricher(settings, case, store, sources=sources, depth=args.depth)
        t0 = time.monotonic()
        report = enricher.run()
        wall = time.monotonic() - t0

        per_source: dict[str, Counter] = {}
        for o in store.list():
            if o.run_id == report.run_id and (o.meta or {}).get("sent", True) is not False:
                per_source.setdefault(o.source, Counter())[server_of(o.endpoint)] += 1
        print(f"case: {args.ips} IPs, {args.domains} domains; latency {args.latency * 1000:.0f} ms; default rate "
              f"limits; depth {enricher.depth} (reached {report.depth_reached}); {report.nodes} nodes")
        print(f"{'source':<11} {'asked':>6} {'servers':>7} {'own bound s':>11}")
        slowest, bound = "", 0.0
        for src in enricher.sources:
            counts = per_source.get(src.name, Counter())
            b = own_bound(src, counts, args.latency, enricher.concurrency)
            if b > bound:
                slowest, bound = src.name, b
            print(f"{src.name:<11} {sum(counts.values()):>6} {len(counts):>7} {b:>11.1f}")
        print(f"wall time {wall:.1f} s; slowest source {slowest} needs {bound:.1f} s on its own; "
              f"ratio {wall / bound if bound else float('nan'):.2f}x")
        store.close()
    finally:
        lab.stop()


if __name__ == "__main__":
    main()
