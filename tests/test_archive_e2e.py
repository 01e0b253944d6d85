"""The archive source end to end: `osint enrich --sources web,archive` on the lab case, then `osint explain`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from lab.world import CASE, archive, start_lab, stop_lab

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def lab():
    lab = start_lab()
    yield lab
    stop_lab(lab)


def osint(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "osint", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def run(lab, tmp_path_factory):
    import os

    work = tmp_path_factory.mktemp("archive-e2e")
    store = work / "evidence.sqlite"
    cfg = lab.write_config(work / "osint.toml", store)
    from conftest import REPO_ROOT, SITECUSTOMIZE_DIR, socket_guard

    env = {k: v for k, v in os.environ.items() if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")}
    env["PYTHONPATH"] = os.pathsep.join([str(SITECUSTOMIZE_DIR), str(REPO_ROOT)])
    env[socket_guard.ENV_SWITCH] = "1"
    env.update(lab.env())
    env["COLUMNS"] = "250"
    lab.reset_counts()
    first = osint(["--config", str(cfg), "enrich", "--case", str(CASE), "--sources", "web,archive"], env, work)
    return {"lab": lab, "env": env, "work": work, "cfg": cfg, "store": store, "first": first}


def test_an_ip_only_an_old_capture_lists_is_found_dated_and_explained(run):
    assert run["first"].returncode in (0, 1), run["first"].stderr
    with sqlite3.connect(run["store"]) as db:
        sources = {s for (s,) in db.execute("SELECT DISTINCT source FROM observations")}
    assert sources == {"web", "archive"}
    env, work, cfg = run["env"], run["work"], run["cfg"]
    done = osint(["--config", str(cfg), "explain", f"ip:{archive.OLD_IP}", "url:" + archive.GUIDE,
                  "--case", str(CASE)], env, work)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "mentions" in done.stdout and "archive" in done.stdout
    assert "2022-05-10T08:30:00Z" in done.stdout  # when the archive first saw the page list it
    # The live page does not list it: only the archive does.
    graph = osint(["--config", str(cfg), "graph", "--case", str(CASE), "--export", "json", "--out",
                   str(work / "g.json")], env, work)
    assert graph.returncode == 0, graph.stderr
    doc = json.loads((work / "g.json").read_text(encoding="utf-8"))
    edges = [e for e in doc.get("edges", doc.get("links", [])) if e.get("target") == f"ip:{archive.OLD_IP}"
             or e.get("to") == f"ip:{archive.OLD_IP}"]
    assert edges and all(e["sources"] in (["archive"], "archive") for e in edges), edges


def test_captures_are_fetched_raw_once_and_a_rerun_asks_the_archive_nothing(run):
    lab = run["lab"]
    paths = [r.path for r in lab.http.requests if r.path.startswith(archive.WEB_PREFIX)]
    assert paths and all("id_/" in p for p in paths), paths  # never the toolbar page
    assert len(paths) == len(set(paths))  # each distinct capture once, though two queries listed it
    lab.reset_counts()
    again = osint(["--config", str(run["cfg"]), "enrich", "--case", str(CASE), "--sources", "archive"],
                  run["env"], run["work"])
    assert again.returncode in (0, 1), again.stderr
    assert [r.path for r in lab.http.requests] == []


def _edges_to(run, node, *args):
    out = run["work"] / f"g{abs(hash(args))}.json"
    done = osint(["--config", str(run["cfg"]), "graph", "--case", str(CASE), "--export", "json", "--out", str(out),
                  *args], run["env"], run["work"])
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    return {(e["source"], e.get("kind")) for e in doc.get("edges", doc.get("links", [])) if e.get("target") == node}


def test_as_of_keeps_what_held_then_apart_from_what_holds_today(run):
    old, new = f"ip:{archive.OLD_IP}", "ip:198.51.100.77"
    page = "url:" + archive.GUIDE
    # Mid-2022 the guide named only the old server; the current one appears from the 2022-11 capture on.
    assert (page, "mentions") in _edges_to(run, old, "--as-of", "2022-06-01")
    assert _edges_to(run, new, "--as-of", "2022-06-01") == set()
    assert (page, "mentions") in _edges_to(run, new, "--as-of", "2022-11-01")
    assert (page, "mentions") in _edges_to(run, old, "--as-of", "2023-01-15")  # its last capture
    # A span is what the captures saw, not a guess between them: the old server was last seen in a capture
    # of 2023-01-15, so at the incident (2023-03-21 01:00 +08:00) only the new one, seen before and after, holds.
    assert _edges_to(run, old, "--as-of", "2023-03-21T01:00:00+08:00") == set()
    assert (page, "mentions") in _edges_to(run, new, "--as-of", "incident")
    assert _edges_to(run, old, "--as-of", "2024-06-01") == set()
    assert (page, "mentions") in _edges_to(run, new)
    claims = osint(["--config", str(run["cfg"]), "attribute", "--case", str(CASE), "--format", "json", "--as-of",
                    "incident"], run["env"], run["work"])
    assert claims.returncode == 0, claims.stderr
    assert len(json.loads(claims.stdout)["claims"]) == 17  # every claim is judged, on the evidence of then
    bad = osint(["--config", str(run["cfg"]), "graph", "--case", str(CASE), "--as-of", "last spring"],
                run["env"], run["work"])
    assert bad.returncode == 2 and "--as-of 'last spring'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_the_bundle_carries_the_captures_as_warc_and_verifies(run):
    import io
    import zipfile

    from warcio.archiveiterator import ArchiveIterator

    bundle = run["work"] / "case.zip"
    made = osint(["--config", str(run["cfg"]), "evidence", "bundle", "--case", str(CASE), "--out", str(bundle)],
                 run["env"], run["work"])
    assert made.returncode == 0, made.stderr
    checked = osint(["evidence", "verify-bundle", str(bundle)], run["env"], run["work"])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(bundle) as zf:
        warc = zf.read("warc/pages.warc.gz")
    dated = {(r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("WARC-Date"))
             for r in ArchiveIterator(io.BytesIO(warc)) if r.rec_type == "response"}
    assert ("http://www.example.com:80/guide/bind/", "2022-05-10T08:30:00Z") in dated  # as the crawler wrote it
    assert any(uri == archive.GUIDE and not date.startswith("20220") for uri, date in dated)  # the live page


def test_the_report_timeline_shows_the_captures(run):
    from osint.case import load_case
    from osint.graph import build_graph
    from osint.report.data import collect
    from osint.store import open_store

    case = load_case(CASE)
    with open_store(str(run["store"])) as store:
        graph = build_graph(case, store)
        data = collect(case, graph, store)
    (event,) = [e for e in data["timeline"] if e["kind"] == "capture"
                and e["node"]["id"] == "url:" + archive.GUIDE]
    assert (event["start_text"], event["end_text"]) == ("2022-05-10 08:30", "2024-01-01 00:00")  # first and last capture
    assert event["evidence"] and event["sources"] == ["archive"]


def test_the_report_as_of_a_date_shows_that_view(run):
    out_then, out_now = run["work"] / "then.html", run["work"] / "now.html"
    for out, extra in ((out_then, ["--as-of", "2022-06-01"]), (out_now, [])):
        done = osint(["--config", str(run["cfg"]), "report", "--case", str(CASE), "--lang", "en", "--out", str(out),
                      *extra], run["env"], run["work"])
        assert done.returncode == 0, done.stderr
    then = out_then.read_text(encoding="utf-8")
    now = out_now.read_text(encoding="utf-8")
    assert archive.OLD_IP in then and archive.OLD_IP in now
    # In mid-2022 nothing had yet seen the guide name the current server: that view lacks its edge.
    assert now.count("198.51.100.77") > then.count("198.51.100.77")
