"""One test over every registered source's declaration: what it consumes, produces, needs and costs."""

from __future__ import annotations

import pytest

from osint.config import EnrichSettings, SourceSettings
from osint.facts import NODE_KINDS
from osint.sources import DEFAULT_SOURCES, Source, SourceContext, registered_sources

SOURCES = registered_sources()
CONTEXT = SourceContext(case=None, enrich=EnrichSettings())


def test_every_builtin_source_is_registered():
    assert len(SOURCES) == len(DEFAULT_SOURCES) == 16
    assert set(SOURCES) == {"dns", "whois", "rdap", "asn", "pdns", "shodan", "ct", "web", "cn-registry", "archive",
                            "icp", "internetdb", "otx", "telegram", "google-play", "youtube"}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_declaration_is_complete(name):
    cls = SOURCES[name]
    assert issubclass(cls, Source)
    assert cls.name == name
    assert cls.description and len(cls.description) < 100
    assert cls.consumes and set(cls.consumes) <= set(NODE_KINDS), cls.consumes
    assert cls.produces and set(cls.produces) <= set(NODE_KINDS), set(cls.produces) - set(NODE_KINDS)
    assert cls.default_rate > 0 and cls.default_concurrency >= 1 and cls.default_timeout > 0
    assert cls.ttl > 0 and cls.version
    if not cls.offline:
        assert cls.default_endpoint
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
            assert q.transport in ("dns", "whois", "http", "local")
            # credentials travel in `auth`, never in the request that is stored as evidence
            assert "k" * 32 not in repr(q.request)


def test_a_source_that_needs_a_key_says_how_to_give_it():
    shodan = SOURCES["shodan"](SourceSettings(), CONTEXT)
    reason = shodan.ready()
    assert reason and "SHODAN_API_KEY" in reason
