"""Helpers for the source tests: a lab with only the world modules a test needs, and sources pointed at it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from lab import LabDNSServer, LabHTTPProxy, LabHTTPServer, LabWhoisServer
from lab.world import Lab, stop_lab

from osint.config import EnrichSettings, SourceSettings
from osint.sources.base import SourceContext

INCIDENT_UTC = "2023-03-20T17:00:00Z"  # the lab case's 2023-03-21 01:00 +08:00


@contextmanager
def lab_with(*modules: Any) -> Iterator[Lab]:
    """A running lab loaded by the given world modules only (others may be mid-edit)."""
    lab = Lab(LabDNSServer(), LabWhoisServer(trickle_interval=0.05), LabHTTPServer(trickle_interval=0.05),
              LabHTTPProxy())
    for server in lab.servers():
        server.start()
    lab.modules = list(modules)
    try:
        for m in modules:
            m.install(lab)
        yield lab
    finally:
        stop_lab(lab)


def make_source(cls: type, options: dict[str, Any], *, case: Any = None, enrich: EnrichSettings | None = None,
                **limits: Any) -> Any:
    return cls(SourceSettings(options=options, **limits), SourceContext(case=case, enrich=enrich or EnrichSettings()))


def facts(parsed: Any, relation: str | None = None) -> list[Any]:
    return [f for f in parsed.facts if relation is None or f.relation == relation]


def edges(parsed: Any, relation: str) -> set[tuple[str, str]]:
    return {(f.subject, f.object) for f in parsed.facts if f.relation == relation}


def clear_env_proxies(monkeypatch: Any) -> None:
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)


def lab_fixtures(*modules: Any, direct: bool = False) -> tuple[Any, Any]:
    """A source test module's `lab` (module-scoped, loaded by `modules`) and its autouse `clean`:
    faults cleared around every test; with `direct`, also the environment's proxies removed and the
    request counts reset. Use as `lab, clean = lab_fixtures(world)` at the top of the test module."""
    import pytest

    @pytest.fixture(scope="module")
    def lab() -> Iterator[Lab]:
        with lab_with(*modules) as running:
            yield running

    @pytest.fixture(autouse=True)
    def clean(lab: Lab, monkeypatch: Any) -> Iterator[None]:
        if direct:
            clear_env_proxies(monkeypatch)
        lab.http.clear_faults(all=True)
        if direct:
            lab.http.reset_counts()
        yield
        lab.http.clear_faults(all=True)

    return lab, clean
