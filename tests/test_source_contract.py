"""One test over every registered source's declaration: what it consumes, produces, emits, needs and costs;
and, on the whole lab world, that what each parser produces is what its source declares."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from lab.world import CASE, start_lab, stop_lab
from osint.config import EnrichSettings, SourceSettings
from osint.facts import NODE_KINDS, split_node_id
from osint.transport.wire import TRANSPORTS
from osint.sources import DEFAULT_SOURCES, Source, SourceContext, registered_sources
from osint.vocabulary import RELATIONS

SOURCES = registered_sources()
CONTEXT = SourceContext(case=None, enrich=EnrichSettings())
REPO = Path(__file__).resolve().parents[1]


def _source_classes_in_the_package() -> set[str]:
    """module:Class of every concrete source class defined under osint/sources (it sets a `name`)."""
    found = set()
    for path in sorted((REPO / "osint" / "sources").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Assign) and any(getattr(t, "id", None) == "name" for t in b.targets)
                    for b in node.body):
                found.add(f"osint.sources.{path.stem}:{node.name}")
    return found


def test_every_builtin_source_is_registered():
    assert len(set(DEFAULT_SOURCES)) == len(DEFAULT_SOURCES)
    assert set(DEFAULT_SOURCES) == _source_classes_in_the_package()
    assert len(SOURCES) == len(DEFAULT_SOURCES)  # no two built-in sources share a name
    assert {"dns", "whois", "rdap", "asn", "pdns", "shodan", "ct", "web", "cn-registry"} <= set(SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_declaration_is_complete(name):
    cls = SOURCES[name]
    assert issubclass(cls, Source)
    assert cls.name == name
    assert cls.description and len(cls.description) < 100
    assert cls.consumes and set(cls.consumes) <= set(NODE_KINDS), cls.consumes
    assert cls.produces and set(cls.produces) <= set(NODE_KINDS), set(cls.produces) - set(NODE_KINDS)
    assert cls.emits and set(cls.emits) <= set(RELATIONS), set(cls.emits) - set(RELATIONS)
    assert cls.default_rate > 0 and cls.default_concurrency >= 1 and cls.default_timeout > 0
    assert cls.ttl > 0 and cls.version
    assert cls.wire in TRANSPORTS
    if not cls.offline:
        assert cls.default_endpoint and cls.wire != "local"
    if cls.needs_key:
        assert cls.key_env and cls.credential_keys


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_settings_override_the_declared_limits(name):
    src = SOURCES[name](SourceSettings(timeout=1.5, rate=0.25, concurrency=3, ttl=60), CONTEXT)
    assert (src.timeout, src.rate, src.concurrency, src.cache_ttl) == (1.5, 0.25, 3, 60)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_questions_are_only_asked_about_what_it_consumes(name):
    src = SOURCES[name](SourceSettings(options={"api_key": "k" * 32}), CONTEXT)
    samples = {"ip": "ip:100.64.1.10", "domain": "domain:example.com", "url": "url:http://example.com/",
               "nameserver": "nameserver:ns1.example.net", "company": "company:91440300MA5GAKDP7P",
               "email": "email:a@example.com", "org": "org:Example Hosting Ltd",
               "account": "account:telegram:example_channel"}
    for kind, node in samples.items():
        queries = src.queries(node, 0)
        if kind not in src.consumes:
            continue
        for q in queries:
            assert q.source == name and q.key and q.subject
            assert q.transport in (src.wire, "local")
            # credentials travel in `auth`, never in the request that is stored as evidence
            assert "k" * 32 not in repr(q.request)


def test_a_source_that_needs_a_key_says_how_to_give_it():
    shodan = SOURCES["shodan"](SourceSettings(), CONTEXT)
    reason = shodan.ready()
    assert reason and "SHODAN_API_KEY" in reason


# -- declarations against the parsers, on the lab world ---------------------------------------------

@pytest.fixture(scope="module")
def lab_parses(tmp_path_factory):
    """source -> (relations, node kinds) its parses hold, after `osint enrich` of the lab case against
    the whole lab world; and the graph built from that store."""
    from conftest import lab_env

    from osint.case import load_case
    from osint.graph.build import build_graph
    from osint.store.evidence import open_store

    work = tmp_path_factory.mktemp("contract")
    store_path = work / "evidence.sqlite"
    lab = start_lab()
    try:
        cfg = lab.write_config(work / "osint.toml", store_path)
        done = subprocess.run([sys.executable, "-m", "osint", "--config", str(cfg), "enrich", "--case", str(CASE)],
                              env=lab_env(lab), cwd=work, capture_output=True, text=True, timeout=500)
        assert done.returncode in (0, 1), done.stderr
    finally:
        stop_lab(lab)
    store = open_store(str(store_path), create=False)
    try:
        seen: dict[str, tuple[set[str], set[str]]] = {}
        rows, _ = store.graph_answers()
        for _, _, source, parsed in rows:
            relations, kinds = seen.setdefault(source, (set(), set()))
            for fact in (parsed or {}).get("facts") or ():
                relations.add(fact["r"])
                kinds.update(split_node_id(fact[end])[0] for end in ("s", "o"))
            kinds.update(split_node_id(n)[0] for n in (parsed or {}).get("nodes") or {})
        graph = build_graph(load_case(CASE), store)
    finally:
        store.close()
    return seen, graph


@pytest.mark.timeout(600)
def test_every_source_answers_in_the_lab(lab_parses):
    seen, _ = lab_parses
    assert set(SOURCES) - {s for s, (relations, _) in seen.items() if relations} == set(), (
        "a registered source whose parser gave no fact on the lab world: give it a world in tests/lab/world")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_what_the_parser_produces_is_declared(lab_parses, name):
    relations, kinds = lab_parses[0].get(name, (set(), set()))
    cls = SOURCES[name]
    assert relations <= set(cls.emits), f"{name} emits {sorted(relations - set(cls.emits))} without declaring them"
    undeclared = kinds - set(cls.produces) - set(cls.consumes)
    assert not undeclared, f"{name} makes {sorted(undeclared)} nodes without declaring them in produces"


@pytest.mark.timeout(600)
def test_every_edge_of_the_lab_graph_is_in_the_vocabulary(lab_parses):
    graph = lab_parses[1]
    kinds = {str(data.get("kind")) for _, _, data in graph.edges(data=True)}
    assert kinds <= set(RELATIONS), kinds - set(RELATIONS)
    derived = {str(data.get("kind")) for _, _, data in graph.edges(data=True) if data.get("derived")}
    assert derived and all(RELATIONS[r].derived for r in derived), derived
    assert {k for _, k in graph.nodes(data="kind")} <= set(NODE_KINDS)
