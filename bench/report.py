"""Benchmark: `osint report` and `osint graph --export png` on synthetic graphs of growing size.

    python bench/report.py                      # 500, 2,000 and 10,000 nodes, 3 edges per node
    python bench/report.py --sizes 1000,5000

For each size, in one process: the layout (shared by the report and the PNG), the rest of the
report's data (claims, leads, tables, timeline, appendix), the HTML rendering, the PNG, the HTML
file's size and the peak RSS; and, as a baseline in the same process, networkx's node-link JSON of
the same graph (json.dumps(nx.node_link_data(g))), the cheapest complete dump of it, with our total
report time as a multiple of it.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from osint.export.png import export_png  # noqa: E402
from osint.graph.layout import positions  # noqa: E402
from osint.report import collect, render  # noqa: E402
from osint.report.assets import graph_library  # noqa: E402

KINDS = ("ip", "domain", "url", "org", "email", "certificate", "service", "netblock", "asn")
RELATIONS = ("resolves_to", "ptr", "mentions", "registrant", "uses_email", "has_service", "in_netblock", "announced_by")


def synthetic(n: int, seed: int = 7) -> nx.MultiDiGraph:
    """A case-shaped graph: a brand, 8 alleged servers, and n nodes of evidence around them."""
    rng = random.Random(seed)
    g = nx.MultiDiGraph(case_id="bench", title="synthetic report benchmark", observations=n * 2)
    g.add_node("brand:bench", kind="brand", label="BenchBot", in_case=True)
    g.add_node("incident:bench", kind="incident", label="incident", in_case=True, time="2023-03-20T17:00:00Z")
    nodes = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        node = f"{kind}:{kind}-{i}.example"
        attrs = {"kind": kind, "label": f"{kind}-{i}.example", "in_case": i < 8}
        if kind == "domain":
            attrs.update(creation_date="2020-01-01T00:00:00Z", expiration_date="2025-01-01T00:00:00Z")
        g.add_node(node, **attrs)
        nodes.append(node)
    for node in nodes[:8]:
        g.add_edge(node, "brand:bench", key="alleged_server_of", kind="alleged_server_of", claim=True,
                   sources="case", source="§5", standing="alleged by the victim")
    for i in range(3 * n):
        u, v = rng.sample(nodes, 2)
        rel = RELATIONS[i % len(RELATIONS)]
        g.add_edge(u, v, key=rel, kind=rel, claim=False, sources=rng.choice(("dns", "pdns", "whois", "shodan")),
                   evidence=f"ev{i + 1}", confidence=0.8, first_seen="2022-01-01T00:00:00Z",
                   last_seen="2024-01-01T00:00:00Z")
    return g


class Store:
    """Answers the appendix's questions the way the evidence store does, without a database."""

    def list(self, *, ids: list[int]) -> list[SimpleNamespace]:
        return [SimpleNamespace(id=obs_id, source="dns", query_key=f"A host-{obs_id}.example", subject="domain:x",
                                endpoint="127.0.0.1:53", observed_at="2026-01-01T00:00:00Z",
                                outcome=SimpleNamespace(value="answered"), sha256="0" * 64, raw_size=100,
                                run_id="bench", tool_version="bench") for obs_id in sorted(ids)]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int) -> dict[str, float]:
    g = synthetic(n)
    case = SimpleNamespace(id="bench", title="synthetic report benchmark", claims=[], brands=[], incidents=[])
    library = graph_library()
    t0 = time.perf_counter()
    json.dumps(nx.node_link_data(g, edges="links"), default=str)
    baseline = time.perf_counter() - t0
    t0 = time.perf_counter()
    positions(g)
    layout = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = collect(case, g, Store(), generated_at="2026-01-01T00:00:00Z")
    collected = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = render(data, "en", library)
    rendered = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export_png(g, Path(tmp) / "g.png")
        png = time.perf_counter() - t0
    return {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "layout": layout,
            "collect": collected, "render": rendered, "png": png, "html_mb": len(html.encode()) / 2**20,
            "baseline": baseline, "ratio": (collected + rendered) / baseline, "rss": rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000,10000")
    args = parser.parse_args()
    run(50)  # warm-up: imports, matplotlib's font cache
    print("data and png each include their own layout run; report = data + render")
    print(f"{'nodes':>7} {'edges':>7} {'layout s':>9} {'data s':>7} {'render s':>9} {'png s':>6} "
          f"{'HTML MB':>8} {'baseline s':>11} {'report/baseline':>16} {'peak RSS MB':>12}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(size)
        print(f"{r['nodes']:>7} {r['edges']:>7} {r['layout']:>9.2f} {r['collect']:>7.2f} {r['render']:>9.2f} "
              f"{r['png']:>6.2f} {r['html_mb']:>8.1f} {r['baseline']:>11.3f} {r['ratio']:>15.1f}x {r['rss']:>12.0f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
