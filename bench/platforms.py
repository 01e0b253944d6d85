"""Benchmark the APK reader and the Telegram page parser on synthetic inputs of growing size.

Prints, for each size, the time to read an APK (androguard plus the string scan) and to refuse a zip
bomb, and the time to parse a Telegram channel page of N posts, with the ratio to the smallest size in
the same run (so that figures from different machines can be compared). Not part of the test suite:

    python bench/platforms.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from apk_build import ApkSpec, build_apk, zip_bomb  # noqa: E402
from osint.config import EnrichSettings, SourceSettings  # noqa: E402
from osint.importers.apk import ApkError, check_zip, read_apk  # noqa: E402
from osint.sources.base import SourceContext  # noqa: E402
from osint.sources.telegram import TelegramSource  # noqa: E402

POST = ('<div class="tgme_widget_message" data-post="bench/{i}"><div class="tgme_widget_message_text">'
        'mirror {i} at http://h{i}.example.org/ and ops{i}@example.net</div><a class="tgme_widget_message_date" '
        'href="#"><time datetime="2023-01-01T00:00:00+00:00"></time></a></div>')


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def apk_of(assets: int) -> bytes:
    spec = ApkSpec(signed=True, assets={
        f"assets/f{i}.txt": b"filler text line with nothing\n" * 5000 + f"api{i}.example.com".encode()
        for i in range(assets)})
    return build_apk(spec)[0]


def main() -> None:
    print("APK read (androguard + string scan)")
    base = None
    for assets in (1, 10, 40):
        raw = apk_of(assets)
        t = best_of(lambda: read_apk(raw, "bench.apk"))
        base = base or t
        inflated = assets * 150_000
        print(f"  {assets:>3} text assets ({inflated / 1e6:.1f} MB inflated): {t * 1000:7.1f} ms  x{t / base:.1f}")
    bomb = zip_bomb(1_200_000_000)

    def refuse() -> None:
        try:
            check_zip(bomb, "bomb.apk")
        except ApkError:
            return
        raise AssertionError("the bomb was not refused")

    print(f"zip bomb, 1.2 GB in {len(bomb) / 1e6:.1f} MB: refused in {best_of(refuse) * 1000:.2f} ms")
    print("Telegram channel page parse")
    src = TelegramSource(SourceSettings(), SourceContext(None, EnrichSettings()))
    query = src.queries("account:telegram:bench", 0)[0]
    base = None
    for posts in (20, 1_000, 10_000):
        page = ("<html><body><div class=\"tgme_channel_info\"></div>"
                + "".join(POST.format(i=i) for i in range(posts)) + "</body></html>").encode()
        t = best_of(lambda: src.parse(query, page, {"headers": {"content-type": "text/html"}}))
        base = base or t
        print(f"  {posts:>6} posts ({len(page) / 1e6:.2f} MB): {t * 1000:7.1f} ms  x{t / base:.1f}")


if __name__ == "__main__":
    main()
