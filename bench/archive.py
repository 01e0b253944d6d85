"""Benchmark the archive source against a loopback CDX server and capture replay.

The Internet Archive throttles, so what matters is not raw speed but that the source uses the rate it
is given, and no more: this prints captures fetched per second, every archive request per second, and
both against the configured rate (the token bucket is per archive server: index questions and captures
share it). Then the same run again, which must ask the archive nothing. Not part of the test suite:

    python bench/archive.py                         # 20 hosts x 5 pages x 4 contents, 10 requests/s
    python bench/archive.py --rate 5 --hosts 10
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lab import LabHTTPServer, Response  # noqa: E402
from lab.load import case_yaml  # noqa: E402
from lab.world import to_toml  # noqa: E402
from osint.case import load_case  # noqa: E402
from osint.config import load_settings  # noqa: E402
from osint.engine.run import Enricher  # noqa: E402
from osint.store import open_store  # noqa: E402

FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def page(host: int, path: int, version: int) -> bytes:
    return (f"<html><body><p>bench host {host} page {path} v{version}: whitelist "
            f"198.51.100.{(host * 7 + version) % 250 + 1}</p></body></html>").encode()


def install(server: LabHTTPServer, pages: int, versions: int) -> None:
    """CDX rows for bench-<h>.example.com: `pages` pages, each captured twice in each of `versions` contents."""

    def cdx(request):
        host = request.params["url"].split(".", 1)[0].removeprefix("bench-")
        h = int(host)
        rows = [FIELDS]
        for p in range(pages):
            for v in range(versions):
                for repeat in range(2):  # the second capture of a content: same digest, never fetched again
                    ts = f"2022{v + 1:02d}{p + 1:02d}{repeat:02d}0000"
                    rows.append([f"com,example,bench-{h})/p{p}", ts, f"http://bench-{h}.example.com/p{p}",
                                 "text/html", "200", f"D{h}P{p}V{v}", "300"])
        return Response(200, json.dumps(rows).encode(), content_type="application/json")

    def replay(request):
        ts, _, original = request.path.removeprefix("/web/").partition("id_/")
        h = int(original.split("bench-", 1)[1].split(".", 1)[0])
        p = int(original.rsplit("/p", 1)[1])
        return Response(200, page(h, p, int(ts[4:6]) - 1), content_type="text/html")

    server.get("/cdx", cdx)
    server.get("/web/", replay, prefix=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--pages", type=int, default=5)
    ap.add_argument("--versions", type=int, default=4)
    ap.add_argument("--rate", type=float, default=10.0, help="configured requests per second to the archive")
    args = ap.parse_args()
    server = LabHTTPServer().start()
    install(server, args.pages, args.versions)
    try:
        with tempfile.TemporaryDirectory(prefix="osint-bench-archive-") as tmp_dir:
            tmp = Path(tmp_dir)
            domains = [f"bench-{i}.example.com" for i in range(args.hosts)]
            (tmp / "case.yaml").write_text(case_yaml("bench-archive", "archive benchmark", "BenchBot", ["192.0.2.1"], domains),
                                           encoding="utf-8")
            cfg = tmp / "osint.toml"
            cfg.write_text(to_toml({"store": {"path": str(tmp / "bench.sqlite")}, "enrich": {"depth": 0},
                                    "sources": {"archive": {"cdx_url": f"{server.url}/cdx",
                                                            "capture_url": f"{server.url}/web/",
                                                            "rate": args.rate, "burst": 1,
                                                            "max_captures_per_url": args.versions}}}),
                           encoding="utf-8")
            settings = load_settings(cfg, env={})
            case = load_case(tmp / "case.yaml")
            results = {}
            for label in ("first run", "re-run"):
                server.reset_counts()
                with open_store(settings.store) as store:
                    start = time.monotonic()
                    report = Enricher(settings, case, store, sources=["archive"]).run()
                    wall = time.monotonic() - start
                captures = server.count() - server.count("/cdx")
                results[label] = (wall, server.count(), captures, report)
            wall, total, captures, report = results["first run"]
            expected = args.hosts * args.pages * args.versions
            print(f"archive: {args.hosts} hosts x {args.pages} pages x {args.versions} contents "
                  f"(each captured twice: {2 * expected} rows), configured rate {args.rate:g}/s, burst 1")
            print(f"  first run: {wall:.2f} s, {total} requests ({total - captures} index, {captures} captures; "
                  f"{expected} distinct contents)")
            print(f"  captures fetched per second: {captures / wall:.2f} "
                  f"({captures / wall / args.rate:.2f} x the configured rate)")
            print(f"  all archive requests per second: {total / wall:.2f} "
                  f"({total / wall / args.rate:.2f} x the configured rate; must not exceed ~1 + burst/duration)")
            wall2, total2, _, report2 = results["re-run"]
            stats = report2.stats["archive"]
            print(f"  re-run: {wall2:.2f} s, {total2} requests to the archive, {stats.cached} answers from the store")
            if captures != expected:
                print(f"  WARNING: {captures} captures fetched, {expected} expected")
            if total2:
                print("  WARNING: the re-run asked the archive")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
