"""Load: 10,000 indicators against the lab with 5% of the answers faulted (issue 5, item 6).

The load world (`tests/lab/load.py`) is a synthetic case of 5,000 IPs and 5,000 domains whose
answers the lab knows, question by question; a seeded 5% of the questions that can be faulted alone
are faulted, spread over every source that has questions and every fault its protocol has. The lab
runs in its own process (as real servers would, and so that it does not compete with the engine for
the GIL), the engine in this one. The run must end partial, not crash; every question the case calls
for must be on record exactly once, with the fault's outcome where there was a fault and the lab
world's answer everywhere else; the counts must add up; and the store must verify.

Every source runs but dns, whose nine questions per domain would more than double the run (90,000
questions instead of 40,000; the engine asks about 650 a second on two cores): the DNS protocol and
its faults are still met through asn (Team Cymru over DNS, one question per IP). `bench/load.py` runs
the whole set, dns included, at 1k, 5k and 10k indicators, and measures speed and memory, which are
not asserted here.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lab import load
from lab.world import to_toml
from osint.case import load_case
from osint.cli import app
from osint.config import load_settings
from osint.engine.run import Enricher
from osint.errors import ExitStatus
from osint.store import open_store

INDICATORS = 10_000
CONCURRENCY = 16  # per source
SOURCES = tuple(s for s in load.SOURCES if s != "dns")


def _examples(pairs: list, n: int = 5) -> str:
    return "; ".join(str(p) for p in pairs[:n])


# SQLite at full size; PostgreSQL (a store of its own, made by `osint store init`) at a smaller one, to keep
# the suite's time: the same checks, through the same store API.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend,indicators", [("sqlite", INDICATORS), ("postgresql", 3_000)])
def test_ten_thousand_indicators_with_five_percent_of_answers_faulted(backend, indicators, tmp_path: Path,
                                                                      guarded_env, monkeypatch, request):
    INDICATORS = indicators  # noqa: N806 - the module's figure, or the smaller one
    store_conf = {"path": str(tmp_path / "evidence.sqlite")}
    if backend == "postgresql":
        from osint.store.evidence import init_store

        url = request.getfixturevalue("pg_url")
        init_store(url).close()
        store_conf = {"url": url}
    questions = load.questions(INDICATORS, SOURCES)
    plan = load.plan_faults(questions)
    by_key = {(q.source, q.key): q for q in questions}
    assert len(by_key) == len(questions)

    # The plan is what the issue asks for: 5% of what can be faulted, over every source and fault kind.
    faultable = [q for q in questions if q.fault_key]
    assert len(plan) == round(len(faultable) * load.FRACTION)
    assert {by_key[k].source for k in plan} == {q.source for q in faultable}
    menus = collections.defaultdict(set)
    for q in faultable:
        menus[q.source].update(load.fault_menu(q))
    for source, menu in menus.items():
        assert {f.mode for k, f in plan.items() if k[0] == source} == menu, source

    for var in ("HTTPS_PROXY", "https_proxy", "SHODAN_API_KEY", "CIRCL_PDNS_USER", "CIRCL_PDNS_PASSWORD",
                "MNEMONIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with load.RemoteLab(INDICATORS, SOURCES, env=guarded_env) as lab:
        assert lab.digest == load.digest(plan) and lab.faults == len(plan)
        for var, value in lab.env.items():  # web pages through the lab proxy, APIs direct
            monkeypatch.setenv(var, value)
        cfg = tmp_path / "osint.toml"
        cfg.write_text(to_toml({"store": store_conf,
                                "enrich": {"allow_private": False},
                                "sources": load.settings(lab.source_settings, CONCURRENCY)}), encoding="utf-8")
        cfg.chmod(0o600)
        settings = load_settings(cfg, env={})
        case = load_case(load.write_case(tmp_path / "case.yaml", INDICATORS))
        store = open_store(settings.store)
        report = Enricher(settings, case, store, sources=list(SOURCES), depth=0,
                          concurrency=CONCURRENCY).run()

    try:
        # The run completed, and says it is partial: some answers were faults.
        assert report.exit_status == ExitStatus.PARTIAL

        # Every question the case calls for is on record, exactly once (no retries: one attempt each).
        newest = list(store.newest_per_query())
        recorded = {(o.source, o.query_key): o for o in newest}
        assert len(recorded) == len(newest)
        missing, extra = sorted(set(by_key) - set(recorded)), sorted(set(recorded) - set(by_key))
        assert not missing and not extra, f"never asked: {_examples(missing)}; not expected: {_examples(extra)}"
        counts = store.counts()
        assert sum(sum(by_outcome.values()) for by_outcome in counts.values()) == len(questions)

        # Every indicator of the case has outcomes.
        indicators = {i.node_id for i in case.indicators()}
        assert len(indicators) == INDICATORS
        assert indicators <= {q.indicator for q in questions}

        # The counts add up: the report's, the store's and the questions' agree, source by source.
        outcomes = collections.Counter(o.outcome.value for o in newest)
        assert sum(outcomes.values()) == len(questions)
        per_source = collections.Counter(q.source for q in questions)
        for name, stats in report.stats.items():
            assert stats.planned == stats.asked == per_source[name], name
            assert stats.answered + stats.no_record + sum(stats.failed.values()) == stats.planned, name
            assert stats.parse_failed == 0 and stats.cached == 0, name
            stored = {"answered": stats.answered, "no_record": stats.no_record, **stats.failed}
            assert {k: v for k, v in stored.items() if v} == counts.get(name, {}), name

        # Each faulted question is recorded as its fault, with a reason; every other one as the lab world says.
        wrong = collections.Counter()
        examples = []
        for key, q in by_key.items():
            o, fault = recorded[key], plan.get(key)
            allowed = fault.outcomes if fault else (q.expected,)
            if o.outcome.value not in allowed or (fault and not o.error):
                wrong[(q.source, fault.mode if fault else "no fault", o.outcome.value)] += 1
                examples.append((key, allowed, o.outcome.value, o.error))
        assert not wrong, f"not as planned: {dict(wrong)}; e.g. {_examples(examples, 3)}"

        # The store is whole: SQLite's own check, every SHA-256, and `osint evidence verify`.
        assert store.integrity_check() == "ok"
        checked, bad = store.verify()
        assert checked == len(questions) and not bad
    finally:
        store.close()
    result = CliRunner().invoke(app, ["--config", str(cfg), "evidence", "verify"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"{len(questions)} observations checked" in result.output
