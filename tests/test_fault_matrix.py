"""The fault matrix: every network source against every fault the lab can play, through the engine.

One row per (source, fault). Each row copies a store already holding a clean run of every source,
sets the fault on the lab server for that source's questions only (keyed on exactly what the
source asked in the clean run), and runs the engine with --refresh on the faulted source and one
healthy neighbour. The run must complete, record every question with the row's outcome, leave the
neighbour untouched, and keep every byte stored before it. docs/reliability.md shows this table;
`test_the_docs_show_this_matrix` keeps the two from drifting apart.

Every row runs on both stores: a SQLite file copied from the template with SQLite's backup, and a
PostgreSQL database made from the template database server-side (CREATE DATABASE ... TEMPLATE). What a
row checks it reads through the store (EvidenceStore), whatever the backend; only the parses, which the
store offers no reader of every row for, are read with the store's own table definitions on its engine.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
import uuid
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from lab.http_server import gzip_of_zeros
from lab.world import CASE, start_lab, stop_lab, to_toml
from osint.case import load_case
from osint.config import Settings, load_settings
from osint.engine.run import Enricher
from osint.errors import ExitStatus
from osint.graph.build import build_graph
from osint.sources import registered_sources
from osint.store import Outcome, open_store
from osint.store.evidence import init_store
from osint.store.tables import parses

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
FAULTS = ("silence", "reset", "garbage", "huge", "trickle", "servfail", "refused", "status_429",
          "status_429_no_retry_after", "status_5xx", "malformed_json", "wrong_content_type", "gzip_bomb")
# The healthy neighbour run beside each faulted source: on the same lab server where there is one (a source
# not named here gets the first other source of its protocol).
NEIGHBOUR = {"dns": "asn", "asn": "dns", "whois": "dns", "rdap": "shodan", "shodan": "rdap",
             "pdns": "ct", "ct": "pdns", "web": "ct", "archive": "ct", "icp": "ct",
             "internetdb": "ct", "otx": "ct", "telegram": "shodan", "google-play": "rdap", "youtube": "ct"}
# Per-source limits for the matrix: a 1 s deadline that a 0.2 s/byte trickle outlasts, one retry,
# a 1 MB cap the "huge" answers exceed, and rate limits out of the way so that each row is quick.
LIMITS = {"timeout": 1, "retries": 1, "max_bytes": 1_000_000, "rate": 1000, "burst": 100, "concurrency": 4}
TRICKLE = {"interval": 0.2}
HUGE = {"size": 3_000_000}  # three times the cap
GZIP_BOMB_SIZE = 100_000_000

T, U = Outcome.TIMEOUT, Outcome.UNREACHABLE  # after 4 timeouts the breaker stops sending: "unreachable"


@dataclass(frozen=True)
class Row:
    source: str
    fault: str
    expected: tuple[Outcome, ...]  # what each attempt at one of the source's questions may be recorded as
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # why the outcome is not the obvious one; shown under the table in the docs

    @property
    def id(self) -> str:
        return f"{self.source}-{self.fault}"


HUGE_DNS_NOTES = {
    "dns": "DNS caps itself at 64 KiB: 300 records do not fit UDP, so the answer comes over TCP and is stored "
           "whole; the parser keeps at most max_records (200) of them and marks the node truncated_records",
    "asn": "the lab's huge answer is 300 A records, over TCP; none is the TXT record asked for, so the answer is "
           "stored whole and read as \"no route\" (no facts)",
}


def _dns_rows(source: str) -> list[Row]:
    return [
        Row(source, "silence", (T, U)),
        Row(source, "garbage", (T, U, Outcome.BAD_ANSWER),
            note="DNS garbage: random bytes almost never carry the query's id, so the client keeps waiting for "
                 "the real answer until its deadline"),
        Row(source, "servfail", (Outcome.SERVER_ERROR,)),
        Row(source, "refused", (Outcome.REFUSED, U)),  # the breaker counts REFUSED as a dead server too
        Row(source, "huge", (Outcome.ANSWERED,), {"count": 300}, note=HUGE_DNS_NOTES[source]),
    ]


def _http_rows(source: str) -> list[Row]:
    bad = Outcome.BAD_ANSWER
    garbage = Row(source, "garbage", (bad,))
    if source == "web":
        garbage = Row(source, "garbage", (Outcome.SERVER_ERROR,),
                      note="web pages come through the lab's forward proxy, which answers a site's garbage "
                           "with 502 Bad Gateway, as real proxies do")
    trickle = Row(source, "trickle", (T, U), TRICKLE)
    if source == "pdns":
        trickle = Row(source, "trickle", (T, U, Outcome.NO_RECORD), TRICKLE,
                      note="CIRCL answers an unknown name with an empty body: nothing to trickle, so that answer "
                           "arrives whole (and must be byte-identical to the clean run's)")
    if source == "archive":
        trickle = Row(source, "trickle", (T, U, Outcome.NO_RECORD), TRICKLE,
                      note="the CDX server answers a host it never captured with `[]`: two bytes, which arrive "
                           "within the deadline (and must be byte-identical to the clean run's)")
    rows = [
        Row(source, "silence", (T, U)),
        Row(source, "reset", (Outcome.RESET,)),
        garbage,
        Row(source, "huge", (Outcome.TOO_LARGE,), HUGE),
        Row(source, "status_429", (Outcome.RATE_LIMITED,), {"retry_after": 1}),
        Row(source, "status_429_no_retry_after", (Outcome.RATE_LIMITED,)),
        Row(source, "status_5xx", (Outcome.SERVER_ERROR,), {"status": 503}),
        Row(source, "malformed_json", (bad,)),
        Row(source, "wrong_content_type", (bad,)),
        trickle,
    ]
    if source in ("web", "archive"):
        rows.append(Row(source, "gzip_bomb", (Outcome.TOO_LARGE,), {"size": GZIP_BOMB_SIZE}))
    return rows


def _whois_rows(source: str) -> list[Row]:
    return [
        Row(source, "silence", (T, U)),
        Row(source, "reset", (Outcome.RESET,)),
        Row(source, "garbage", (Outcome.BAD_ANSWER,)),
        Row(source, "huge", (Outcome.TOO_LARGE,), HUGE),
        Row(source, "trickle", (T, U), TRICKLE),
    ]


# Every registered source meets the faults of the protocol it declares (Source.wire); offline sources none.
ROWS: list[Row] = [row for name, cls in registered_sources().items()
                   for row in {"dns": _dns_rows, "whois": _whois_rows, "http": _http_rows}.get(cls.wire, lambda _: [])(name)]
SOURCES = tuple(dict.fromkeys(r.source for r in ROWS))
for _name in set(SOURCES) - set(NEIGHBOUR):
    NEIGHBOUR[_name] = next(n for n, c in registered_sources().items()
                            if n != _name and c.wire == registered_sources()[_name].wire)


# --- the table as documentation ----------------------------------------------------------------

MATRIX_START, MATRIX_END = "<!-- fault-matrix:start -->", "<!-- fault-matrix:end -->"


def matrix_markdown(rows: list[Row] = ROWS) -> str:
    """The matrix as docs/reliability.md shows it: a fault per line, a source per column."""
    faults = sorted({r.fault for r in rows}, key=FAULTS.index)
    notes = list(dict.fromkeys(r.note for r in sorted(rows, key=lambda r: FAULTS.index(r.fault)) if r.note))
    cell = {(r.fault, r.source): " or ".join(o.value for o in r.expected)
            + (f" ({notes.index(r.note) + 1})" if r.note else "") for r in rows}
    lines = ["| fault | " + " | ".join(SOURCES) + " |", "|---|" + "---|" * len(SOURCES)]
    for f in faults:
        lines.append(f"| {f} | " + " | ".join(cell.get((f, s), "—") for s in SOURCES) + " |")
    lines.append("")
    lines += [f"({i}) {note}." for i, note in enumerate(notes, 1)]
    return "\n".join(lines)


def test_the_docs_show_this_matrix():
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(re.escape(MATRIX_START) + r"\n(.*?)\n" + re.escape(MATRIX_END), text, re.S)
    assert m, f"{DOCS} has no {MATRIX_START} ... {MATRIX_END} block"
    assert m.group(1).strip() == matrix_markdown(), (
        "docs/reliability.md's matrix differs from tests/test_fault_matrix.py's ROWS; paste this:\n"
        + matrix_markdown())


def test_every_network_source_meets_every_fault_of_its_protocol():
    covered = {(r.source, r.fault) for r in ROWS}
    assert len(covered) == len(ROWS)
    dns = {"silence", "garbage", "servfail", "refused", "huge"}
    http = {"silence", "reset", "garbage", "huge", "status_429", "status_429_no_retry_after", "status_5xx",
            "malformed_json", "wrong_content_type", "trickle"}
    by_wire = {"dns": dns, "whois": {"silence", "reset", "garbage", "huge", "trickle"}, "http": http, "local": set()}
    pages = {"web", "archive"}  # they read compressed pages: a gzip bomb too
    wanted = {(name, f) for name, cls in registered_sources().items()
              for f in by_wire[cls.wire] | ({"gzip_bomb"} if name in pages else set())}
    assert covered == wanted
    assert {"dns", "asn", "whois", "rdap", "web", "archive", "youtube"} <= set(SOURCES)
    assert "cn-registry" not in SOURCES  # offline: nothing on a wire to fault


# --- the lab world, once per module ------------------------------------------------------------


@dataclass
class World:
    lab: Any
    case: Any
    settings: Settings
    template: str  # the template store: a SQLite file, or a PostgreSQL database's name
    pg: Any  # the PostgreSQL server holding the template database, or None for SQLite
    keys: dict[str, list[str]]  # source -> fault keys of what it asked in the clean run
    rows: dict[str, list[Any]]  # table -> every row of the template store
    newest: dict[tuple[str, str], tuple[int, str]]  # (source, question) -> (id, outcome) in the template
    raw: dict[tuple[str, str], bytes | None]  # (source, question) -> the clean run's raw answer
    edges: set[tuple[str, str, str]]  # the graph built from the template store

    def server(self, source: str) -> Any:
        return {"dns": self.lab.dns, "asn": self.lab.dns, "whois": self.lab.whois}.get(source, self.lab.http)

    def clear_faults(self) -> None:
        for s in (self.lab.dns, self.lab.whois, self.lab.http):
            s.clear_faults(all=True)

    @contextmanager
    def copy(self, tmp: Path) -> Iterator[str]:
        """A store of its own for one row, copied from the template; dropped after it on PostgreSQL."""
        if self.pg is None:
            path = tmp / "evidence.sqlite"
            with closing(sqlite3.connect(self.template)) as a, closing(sqlite3.connect(path)) as b:
                a.backup(b)
            yield str(path)
            return
        name = "row_" + uuid.uuid4().hex[:12]
        with self.pg.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        try:
            yield self.pg.url(name)
        finally:
            with self.pg.admin() as conn:
                conn.execute(f'DROP DATABASE "{name}"')


def _asked_keys(lab: Any, source: str) -> list[str]:
    """The fault keys of every request the lab received: qname, WHOIS query, or Host + path."""
    if source in ("dns", "asn"):
        return sorted({q.qname for q in lab.dns.requests})
    if source == "whois":
        return sorted({q.key for q in lab.whois.requests})
    return sorted({r.host + r.path for r in lab.http.requests})


def _dump(store: Any) -> dict[str, list[Any]]:
    """Every observation (all its columns, raw bytes too) and every parse, in id order."""
    obs = store.list()
    raw: dict[int, tuple[bytes, str]] = {}
    for i in range(0, len(obs), 500):
        raw.update(store.raw_many(o.id for o in obs[i:i + 500]))
    with store.engine.connect() as conn:  # no store method reads every parse with its parser and time
        parsed = [tuple(r) for r in conn.execute(sa.select(parses).order_by(parses.c.id))]
    return {"observations": [replace(o, raw=raw[o.id][0]) for o in obs],
            "parses": parsed}


def _newest(store: Any) -> dict[tuple[str, str], tuple[int, str]]:
    return {(o.source, o.query_key): (o.id, o.outcome.value) for o in store.newest_per_query()}


def _edges(case: Any, store: Any) -> set[tuple[str, str, str]]:
    return {(a, b, k) for a, b, k in build_graph(case, store).edges(keys=True)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """The lab world, and the environment its runs need, for the whole module."""
    lab = start_lab()
    with pytest.MonkeyPatch.context() as mp:
        for var in ("HTTPS_PROXY", "https_proxy", "SHODAN_API_KEY", "CIRCL_PDNS_USER", "CIRCL_PDNS_PASSWORD",
                    "MNEMONIC_API_KEY"):
            mp.delenv(var, raising=False)
        for var, value in lab.env().items():  # web pages through the lab proxy, APIs direct
            mp.setenv(var, value)
        gzip_of_zeros(GZIP_BOMB_SIZE)  # built once, now: built under a 1 s deadline, it was the first row's timeout
        yield lab, tmp_path_factory.mktemp("fault-matrix")
    stop_lab(lab)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, lab: tuple[Any, Path]) -> World:
    lab, tmp = lab
    pg, template = None, str(tmp / "template.sqlite")
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_server")
        template = pg.new_database()
        init_store(pg.url(template)).close()
    cfg = lab.write_config(tmp / f"osint-{request.param}.toml", tmp / "unused.sqlite", depth=0)
    conf = tomllib.loads(cfg.read_text(encoding="utf-8"))
    for name in SOURCES:
        conf["sources"].setdefault(name, {}).update(LIMITS)
    cfg.write_text(to_toml(conf), encoding="utf-8")
    target = template if pg is None else pg.url(template)
    settings = load_settings(cfg, env={}).with_store(target)
    case = load_case(CASE)
    keys = {}
    store = open_store(target)
    for name in SOURCES:  # one clean run per source, so that we know what each one asks
        lab.reset_counts()
        Enricher(settings, case, store, sources=[name]).run()
        keys[name] = _asked_keys(lab, name)
        assert keys[name], f"{name} asked the lab nothing"
    newest, edges, rows = _newest(store), _edges(case, store), _dump(store)
    raw = {k: store.get(oid).raw for k, (oid, _) in newest.items()}
    store.close()  # no session may stay on a PostgreSQL template database
    return World(lab, case, settings, template, pg, keys, rows, newest, raw, edges)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_fault(world: World, row: Row, tmp_path: Path) -> None:
    neighbour = NEIGHBOUR[row.source]
    server = world.server(row.source)
    with world.copy(tmp_path) as target:
        world.clear_faults()
        for key in world.keys[row.source]:
            server.set_fault(row.fault, key, **row.options)
        store = open_store(target)
        try:
            report = Enricher(world.settings.with_store(target), world.case, store,
                              sources=[row.source, neighbour], refresh=True).run()
        finally:
            world.clear_faults()
        try:
            _check(world, row, neighbour, store, report)
        finally:
            store.close()


def _check(world: World, row: Row, neighbour: str, store: Any, report: Any) -> None:
    before = max(o.id for o in world.rows["observations"])
    new = [o for o in store.list() if o.id > before]
    mine = [o for o in new if o.source == row.source]
    theirs = [o for o in new if o.source == neighbour]

    # The run completed and every question of the faulted source is on record, with the row's outcome.
    stats = report.stats[row.source]
    assert len({o.query_key for o in mine}) == stats.planned > 0
    asked = [o for o in mine if o.endpoint != "local"]  # reserved addresses are answered without asking
    assert asked, f"{row.source} asked nothing over the network"
    got = sorted({o.outcome.value for o in asked})
    assert set(got) <= {o.value for o in row.expected}, f"{row.id}: recorded {got}, expected {row.expected}"
    fails = not all(o.is_answer for o in row.expected)
    for o in asked:
        if not o.outcome.is_answer:
            assert o.error, f"{row.id}: {o.query_key} recorded as {o.outcome} without saying why"
        elif fails:
            # Never an error passed off as an answer: one the fault could not touch is the clean one, byte for byte.
            assert store.get(o.id).raw == world.raw[(o.source, o.query_key)], f"{row.id}: {o.query_key}"
        else:  # DNS "huge": the whole answer, as it came over TCP
            assert o.meta.get("transport") == "tcp" and o.raw_size > 1232, (row.id, o.query_key, o.meta)
    if fails:
        assert report.exit_status == ExitStatus.PARTIAL and stats.failed
    else:  # read as the note under the table says
        parses = [store.latest_parse(o.id) for o in asked]
        if row.source == "dns":
            assert any(n.get("truncated_records") == 300 for p in parses for n in p["nodes"].values())
        else:
            assert all(p["facts"] == [] for p in parses)

    # The neighbour was not disturbed: every question answered as in the clean run.
    assert theirs and not report.stats[neighbour].failed and not report.stats[neighbour].parse_failed
    assert {(o.query_key, o.outcome.value) for o in theirs} == {
        (k, outcome) for (s, k), (_, outcome) in world.newest.items() if s == neighbour}

    # Nothing stored before the fault is lost: every row byte-identical, every hash still true,
    # and each question's earlier answer still the one the store (and the graph) stand on.
    now = _dump(store)
    for table, rows in world.rows.items():
        assert now[table][: len(rows)] == rows, f"{table}: rows stored before the fault changed"
    assert store.integrity_check() == "ok"
    checked, bad = store.verify()
    assert checked == len(now["observations"]) and not bad
    if fails:
        for (source, key), (oid, outcome) in world.newest.items():
            if source == row.source and outcome in ("answered", "no_record"):
                latest = store.latest(source, key)
                assert latest is not None and latest.raw == world.raw[(source, key)], (source, key)
        assert world.edges <= _edges(world.case, store), "facts known before the fault vanished from the graph"
