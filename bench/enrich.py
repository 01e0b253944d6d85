"""Benchmark `osint enrich` against the loopback lab with injected latency.

Prints wall time, questions per second per source, peak RSS, the ratio to the ideal bound
(for each source: questions x latency / allowed concurrency; the slowest source bounds the run),
the ratio to a naive sequential loop over the same libraries (measured on a sample, scaled),
and the cached re-run. Not part of the test suite:

    python bench/enrich.py                      # 1,000 IPs, 300 domains, 50 ms per answer
    python bench/enrich.py --ips 200 --domains 60
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import requests  # noqa: E402

from lab.load import case_yaml  # noqa: E402
from lab.world import start_lab, stop_lab  # noqa: E402
from osint.case import load_case  # noqa: E402
from osint.config import load_settings  # noqa: E402
from osint.engine.run import Enricher  # noqa: E402
from osint.store import open_store  # noqa: E402

SOURCES = ["dns", "asn", "rdap", "pdns", "ct", "whois", "shodan"]


def synthetic_case(path: Path, n_ips: int, n_domains: int) -> Path:
    ips = [f"100.{64 + i // 65000}.{(i // 250) % 256}.{i % 250 + 1}" for i in range(n_ips)]
    domains = [f"bench-{i}.example.com" for i in range(n_domains)]
    path.write_text(case_yaml("bench", "synthetic benchmark case", "BenchBot", ips, domains), encoding="utf-8")
    return path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive_sample(store, n: int) -> tuple[float, int]:
    """Ask a sample of the same questions one after another with the plain libraries."""
    rows = [o for o in store.list() if o.source in SOURCES and o.request]
    random.Random(1).shuffle(rows)
    rows = rows[:n]
    start = time.monotonic()
    for o in rows:
        req = o.request
        if "qname" in req:
            host, port = o.endpoint.rsplit(":", 1)
            dns.query.udp(dns.message.make_query(req["qname"], req["rdtype"]), host, port=int(port), timeout=5)
        elif "url" in req:
            try:
                requests.get(req["url"], params=req.get("params"), timeout=10)
            except requests.RequestException:
                pass
        elif "query" in req:
            host, port = o.endpoint.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(req["query"].encode() + b"\r\n")
                while s.recv(65536):
                    pass
    return time.monotonic() - start, len(rows)


class RemoteLab:
    """The lab in its own process, as real servers would be: its work does not compete with ours for the GIL."""

    def __init__(self, latency: float, records: dict[str, dict[str, list[str]]] | None = None):
        """`records`: DNS records to add to the lab's, {name: {type: [rdata]}}."""
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve-lab", str(latency), json.dumps(records or {})],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.settings = json.loads(self.proc.stdout.readline())

    def _ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def total_requests(self) -> int:
        return int(self._ask("count"))

    def reset_counts(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        self._ask("quit")
        self.proc.wait(timeout=30)


def serve_lab(latency: float, records: dict[str, dict[str, list[str]]]) -> None:
    lab = start_lab()
    for name, by_type in records.items():
        for rdtype, rdatas in by_type.items():
            lab.dns.add_records(name, rdtype, rdatas)
    for server in (lab.dns, lab.whois, lab.http):
        server.set_fault("latency", delay=latency)
    print(json.dumps(lab.source_settings()), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "count":
            print(lab.total_requests(), flush=True)
        elif command == "reset":
            lab.reset_counts()
            print("ok", flush=True)
        elif command == "quit":
            print("bye", flush=True)
            break
    stop_lab(lab)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-lab":
        return serve_lab(float(sys.argv[2]), json.loads(sys.argv[3]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ips", type=int, default=1000)
    ap.add_argument("--domains", type=int, default=300)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every lab answer")
    ap.add_argument("--concurrency", type=int, default=16, help="allowed concurrency per source")
    ap.add_argument("--naive-sample", type=int, default=150, help="questions asked sequentially for the baseline")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="osint-bench-"))
    lab = RemoteLab(args.latency)
    try:
        settings_doc = lab.settings
        for name in SOURCES:  # the lab does not throttle: measure the engine, bounded by concurrency
            settings_doc.setdefault(name, {}).update(rate=100000.0, burst=args.concurrency,
                                                     concurrency=args.concurrency, retries=0)
        cfg = tmp / "osint.toml"
        from lab.world import to_toml

        cfg.write_text(to_toml({"store": {"path": str(tmp / "bench.sqlite")},
                                "enrich": {"allow_private": False}, "sources": settings_doc}))
        cfg.chmod(0o600)
        settings = load_settings(cfg, env={})
        case = load_case(synthetic_case(tmp / "case.yaml", args.ips, args.domains))
        store = open_store(settings.store)

        t0 = time.monotonic()
        report = Enricher(settings, case, store, sources=SOURCES, depth=0, concurrency=args.concurrency).run()
        wall = time.monotonic() - t0
        rss = rss_mb()

        print(f"case: {args.ips} IPs, {args.domains} domains; latency {args.latency * 1000:.0f} ms; "
              f"concurrency {args.concurrency} per source; depth 0")
        print(f"{'source':<8} {'questions':>9} {'q/s':>8} {'bound s':>8}")
        bound = 0.0
        total = 0
        for name, st in report.stats.items():
            n = st.asked
            total += n
            b = n * args.latency / args.concurrency
            bound = max(bound, b)
            print(f"{name:<8} {n:>9} {n / wall:>8.1f} {b:>8.2f}")
        print(f"wall time: {wall:.2f} s for {total} questions ({total / wall:.0f}/s); ideal bound {bound:.2f} s; "
              f"ratio to bound {wall / bound:.2f}x")
        print(f"peak RSS: {rss:.0f} MB")

        sample_s, sample_n = naive_sample(store, args.naive_sample)
        naive_total = sample_s / max(sample_n, 1) * total
        print(f"naive sequential loop: {sample_n} questions in {sample_s:.2f} s -> {naive_total:.1f} s for all "
              f"{total} (scaled); osint is {naive_total / wall:.1f}x faster")

        lab.reset_counts()
        t1 = time.monotonic()
        again = Enricher(settings, case, store, sources=SOURCES, depth=0, concurrency=args.concurrency).run()
        cached = time.monotonic() - t1
        print(f"cached re-run: {cached:.2f} s, {sum(s.cached for s in again.stats.values())} answers from the "
              f"store, {lab.total_requests()} questions sent")
        store.close()
    finally:
        lab.stop()


if __name__ == "__main__":
    main()
