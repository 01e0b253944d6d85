"""Benchmark: build a large synthetic attribution graph and export it in every format.

    python bench/graph.py                       # 100,000 nodes, 500,000 edges
    python bench/graph.py --nodes 20000 --edges 100000

Prints the build time; each export's time, file size, and the peak RSS of a process that built the
graph and then exported it, with how much the export added (each export runs in its own forked
child, so one format's memory does not hide another's); and our GEXF writer against
networkx.write_gexf on the same bare graph (nodes and edges, no attributes), each in a fresh
process: time, and how far memory grows while writing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from osint.export import EXPORTERS  # noqa: E402
from osint.graph import build_graph  # noqa: E402

KINDS = (("ip", 0.35), ("domain", 0.3), ("url", 0.1), ("org", 0.05), ("email", 0.05), ("certificate", 0.05),
         ("service", 0.05), ("netblock", 0.03), ("asn", 0.02))
RELATIONS = ("resolves_to", "ptr", "mentions", "registrant", "uses_email", "has_service", "serves_certificate",
             "certificate_names", "in_netblock", "announced_by", "operated_by", "links_to")
SOURCES = ("dns", "pdns", "whois", "rdap", "shodan", "ct", "web", "asn")
FACTS_PER_ANSWER = 50


def structure(n_nodes: int, n_edges: int, seed: int) -> tuple[list[str], list[tuple[int, int, int]]]:
    """Node ids, and n_edges distinct (subject, relation, object) index triples."""
    rng = random.Random(seed)
    nodes = []
    for kind, share in KINDS:
        nodes += [f"{kind}:{kind}-{i}.example" for i in range(int(n_nodes * share))]
    nodes += [f"ip:extra-{i}" for i in range(n_nodes - len(nodes))]
    seen: dict[tuple[int, int, int], None] = {}
    while len(seen) < n_edges:
        s, o, r = rng.randrange(len(nodes)), rng.randrange(len(nodes)), rng.randrange(len(RELATIONS))
        if s != o:
            seen[(s, r, o)] = None
    return nodes, list(seen)


def synthetic_answers(n_nodes: int, n_edges: int, seed: int) -> list[tuple[str, int, str, dict[str, Any]]]:
    """(observed_at, id, source, parsed) answers: every node described once, every edge a fact, 10% of
    the facts repeated by other answers (so merging is exercised), a third with time spans."""
    nodes, triples = structure(n_nodes, n_edges, seed)
    rng = random.Random(seed + 1)
    facts: list[dict[str, Any]] = []
    for s, r, o in triples:
        f: dict[str, Any] = {"s": nodes[s], "r": RELATIONS[r], "o": nodes[o], "a": {"count": rng.randrange(1, 500)}}
        if rng.random() < 0.33:
            start = rng.randrange(2018, 2024)
            f["first"], f["last"] = f"{start}-0{rng.randrange(1, 10)}-01T00:00:00Z", f"{start + 1}-06-30T12:00:00Z"
        if f["r"] == "mentions":
            f["a"]["context"] = f"… seen on a page near {nodes[o]} <b>&</b> …"
        facts.append(f)
    facts += rng.sample(facts, len(facts) // 10)
    answers = []
    for i in range(0, len(facts), FACTS_PER_ANSWER):
        n = len(answers) + 1
        answers.append((f"2024-01-01T00:00:{n % 60:02d}Z", n, SOURCES[n % len(SOURCES)],
                        {"facts": facts[i:i + FACTS_PER_ANSWER], "nodes": {}}))
    per_answer = len(nodes) // len(answers) + 1
    for j, (_, _, _, parsed) in enumerate(answers):
        for nid in nodes[j * per_answer:(j + 1) * per_answer]:
            parsed["nodes"][nid] = {"label": nid.split(":", 1)[1], "asn_registry": "apnic", "tags": ["a", "b"]}
    return answers


class MemoryStore:
    """The two reads build_graph makes of an EvidenceStore, from memory."""

    def __init__(self, answers: list[tuple[str, int, str, dict[str, Any]]]):
        self.answers = {a[1]: a for a in answers}

    def newest_per_query(self):
        for at, oid, source, _ in self.answers.values():
            yield SimpleNamespace(id=oid, observed_at=at, source=source, outcome="answered")

    def latest_parse(self, oid: int) -> dict[str, Any]:
        return self.answers[oid][3]


def bare_case() -> SimpleNamespace:
    incident = SimpleNamespace(id="bench", time=None, period="2023-03", kind="bench", exchange=None, victim=None,
                               assets=[], losses=[], report_type=None, description=None, source="bench",
                               standing="alleged by the victim")
    return SimpleNamespace(id="bench", title="benchmark", incidents=[incident], incident=incident, brands=[],
                           companies=[], claims=[], seed_urls=[], references=[], indicators=lambda: [])


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def rss_kb() -> int:
    return _status_kb("VmRSS")


def reset_peak() -> None:
    """Start measuring the peak afresh (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass  # then the peak includes what came before


def peak_mb() -> float:
    try:
        return _status_kb("VmHWM") / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(work: Callable[[], Any]) -> dict[str, float]:
    """Run work() in a forked child (which starts with the parent's memory): its seconds, the RSS
    it started with and its peak RSS while working, in MB."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        reset_peak()
        before = rss_kb() / 1024
        start = time.perf_counter()
        work()
        took = time.perf_counter() - start
        os.write(write, json.dumps({"seconds": took, "before_mb": before, "peak_mb": peak_mb()}).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        out = json.loads(fh.read() or "{}")
    os.waitpid(pid, 0)
    return out


def bare_writer_run(writer: str, n_nodes: int, n_edges: int, seed: int, path: str) -> None:
    """In a fresh process: the bare graph (same nodes and edges, no attributes), written by one writer.
    Prints seconds, RSS before writing and peak RSS, as JSON."""
    nodes, triples = structure(n_nodes, n_edges, seed)
    bare = nx.MultiDiGraph()
    bare.add_nodes_from(nodes)
    bare.add_edges_from((nodes[s], nodes[o], RELATIONS[r]) for s, r, o in triples)
    del triples
    reset_peak()
    before = rss_kb() / 1024
    start = time.perf_counter()
    if writer == "ours":
        EXPORTERS["gexf"](bare, path)
    else:
        nx.write_gexf(bare, path)
    print(json.dumps({"seconds": time.perf_counter() - start, "before_mb": before, "peak_mb": peak_mb()}))


def compare_with_networkx(args: argparse.Namespace, tmp: str) -> None:
    runs = {}
    for writer in ("ours", "networkx"):
        cmd = [sys.executable, __file__, "--bare-writer", writer, "--nodes", str(args.nodes), "--edges",
               str(args.edges), "--seed", str(args.seed), "--bare-out", str(Path(tmp) / f"{writer}.gexf")]
        runs[writer] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    ours, theirs = runs["ours"], runs["networkx"]
    grow = {w: r["peak_mb"] - r["before_mb"] for w, r in runs.items()}
    print(f"bare graph GEXF: ours {ours['seconds']:.2f} s, +{grow['ours']:.0f} MB over the graph; "
          f"networkx.write_gexf {theirs['seconds']:.2f} s, +{grow['networkx']:.0f} MB; "
          f"time ours/networkx {ours['seconds'] / theirs['seconds']:.2f}, "
          f"memory growth ours/networkx {max(grow['ours'], 1) / max(grow['networkx'], 1):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=500_000)
    ap.add_argument("--formats", default=",".join(EXPORTERS), help="comma-separated: gexf,graphml,json,csv")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-networkx", action="store_true", help="skip the networkx.write_gexf comparison")
    ap.add_argument("--bare-writer", choices=("ours", "networkx"), help=argparse.SUPPRESS)
    ap.add_argument("--bare-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_writer:
        return bare_writer_run(args.bare_writer, args.nodes, args.edges, args.seed, args.bare_out)

    answers = synthetic_answers(args.nodes, args.edges, args.seed)
    start = time.perf_counter()
    graph = build_graph(bare_case(), MemoryStore(answers))
    build_s = time.perf_counter() - start
    del answers
    print(f"graph: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges; build {build_s:.2f} s; "
          f"RSS after build {rss_kb() / 1024:.0f} MB (peak so far {peak_mb():.0f} MB, with the synthetic answers)")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            path = Path(tmp) / f"bench.{fmt}"
            r = in_child(lambda: EXPORTERS[fmt](graph, path))
            size = sum(p.stat().st_size for p in Path(tmp).glob("bench*"))
            print(f"export {fmt:8s} {r['seconds']:7.2f} s  {size / 1e6:8.1f} MB on disk  "
                  f"peak RSS {r['peak_mb']:.0f} MB (+{r['peak_mb'] - r['before_mb']:.0f} MB over the built graph)")
            for p in Path(tmp).glob("bench*"):
                p.unlink()
        if not args.no_networkx:
            compare_with_networkx(args, tmp)


if __name__ == "__main__":
    main()
