"""Benchmark what reading site fingerprints (trackers, copyright, title, favicon link) adds to parsing a page.

Parses the same synthetic pages with the web source as it is and with fingerprinting switched off, in one run,
and prints the times and their ratio. Not part of the test suite:

    python bench/fingerprints.py               # a 5 MB page and a typical 60 kB one, best of 3
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from osint.config import EnrichSettings, SourceSettings  # noqa: E402
from osint.sources import web  # noqa: E402
from osint.sources.base import SourceContext  # noqa: E402
from osint.transport.base import Query  # noqa: E402

ROW = ("<tr><td>节点 198.51.100.{n} 运营方深圳实验蚁信息技术有限公司</td><td>node{n}.example.org</td>"
       "<td><a href='https://mirror{n}.example.org/'>mirror</a> ops{n}@example.net</td></tr>\n")
HEAD = ("<html><head><title>bench page</title><link rel='icon' href='/i.png'>"
        "<script src='https://hm.baidu.com/hm.js?0123456789abcdef0123456789abcdef'></script>"
        "<script>ga('create', 'UA-12345678-1', 'auto');</script></head><body><table>")


def page(rows: int, cap: int) -> bytes:
    body = HEAD + "".join(ROW.format(n=i % 250) for i in range(rows)) + "</table><p>© 2021 深圳实验蚁信息技术有限公司</p>"
    return (body + "x " * (rows * 5) + "</body></html>").encode()[:cap]


def best(src, raw: bytes, runs: int = 3) -> float:
    q = Query("web", "GET http://www.example.com/b/", "url:http://www.example.com/b/", "http",
              {"url": "http://www.example.com/b/"}, "http://www.example.com", (), False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        src.parse(q, raw, {"status": 200, "headers": {"content-type": "text/html"}})
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    src = web.WebSource(SourceSettings(), SourceContext(None, EnrichSettings()))
    for name, raw in (("60 kB page", page(300, 60_000)), ("5 MB page", page(40_000, 5_000_000))):
        with_fp = best(src, raw)
        with mock.patch.object(web, "page_fingerprints", lambda *a, **k: None), \
                mock.patch.object(web.WebSource, "_icon_query", lambda *a, **k: None):
            without = best(src, raw)
        print(f"{name:>10}: parse {with_fp * 1000:8.1f} ms with fingerprints, {without * 1000:8.1f} ms without "
              f"(ratio {with_fp / without:.2f})")


if __name__ == "__main__":
    main()
