"""Test-wide fixtures: loopback lab servers, and a socket guard that keeps tests off the network."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
if str(TESTS_DIR) not in sys.path:  # `import lab` must work however pytest was started
    sys.path.insert(0, str(TESTS_DIR))

from lab import (  # noqa: E402
    SITECUSTOMIZE_DIR,
    LabDNSServer,
    LabHTTPProxy,
    LabHTTPServer,
    LabWhoisServer,
    socket_guard,
)


def pytest_configure(config: pytest.Config) -> None:
    # Installed before collection, so even import-time network access is caught.
    socket_guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    socket_guard.uninstall()


@pytest.fixture
def dns_server() -> Iterator[LabDNSServer]:
    with LabDNSServer() as server:
        yield server


@pytest.fixture
def whois_server() -> Iterator[LabWhoisServer]:
    with LabWhoisServer(trickle_interval=0.05) as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[LabHTTPServer]:
    with LabHTTPServer(trickle_interval=0.05) as server:
        yield server


@pytest.fixture
def http_proxy() -> Iterator[LabHTTPProxy]:
    with LabHTTPProxy() as proxy:
        yield proxy


@pytest.fixture(scope="session")
def lab_factory() -> Iterator[Callable[..., Any]]:
    """Start lab servers that live for the whole session: lab_factory("http", routes={...})."""
    kinds = {"dns": LabDNSServer, "whois": LabWhoisServer, "http": LabHTTPServer,
             "proxy": LabHTTPProxy}
    started: list[Any] = []

    def make(kind: str, *args: Any, **kwargs: Any) -> Any:
        server = kinds[kind](*args, **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def guarded_env() -> dict[str, str]:
    """Environment for subprocesses: the socket guard via sitecustomize, and this repo importable."""
    env = dict(os.environ)
    paths = [str(SITECUSTOMIZE_DIR), str(REPO_ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[socket_guard.ENV_SWITCH] = "1"
    return env


def lab_env(lab: Any) -> dict[str, str]:
    """Environment for an `osint` subprocess run against the lab: the socket guard, this repo importable,
    and none of the caller's proxies or API keys (the lab's proxy instead)."""
    env = dict(os.environ)
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "SHODAN_API_KEY"):
        env.pop(k, None)
    env.update(lab.env())
    env["PYTHONPATH"] = os.pathsep.join([str(SITECUSTOMIZE_DIR), str(REPO_ROOT)])
    env[socket_guard.ENV_SWITCH] = "1"
    return env


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One private PostgreSQL cluster for the session (tests/lab/pg.py); fails loudly if PostgreSQL is missing."""
    from lab.pg import LabPostgres

    server = LabPostgres().start()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A new, empty PostgreSQL database (no tables) for one test, as a postgresql:// URL with a password."""
    return pg_server.url(pg_server.new_database())


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on a PostgreSQL database whose tables `osint store init` made."""
    if request.param == "sqlite":
        return str(tmp_path / "e.sqlite")
    from osint.store.evidence import init_store

    url = request.getfixturevalue("pg_url")
    init_store(url).close()
    return url
