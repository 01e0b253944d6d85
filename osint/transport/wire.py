"""The wire adapters by kind: a question's `transport` names the one that sends it."""

from __future__ import annotations

from typing import Any, Callable, Protocol

from .base import Fetched, Query
from .dns import fetch_dns
from .http import fetch_http
from .local import fetch_local
from .policy import AddressPolicy
from .whois import fetch_whois


class Asker(Protocol):
    """What the transport needs of a source: its limits, its secrets, and how it reads an answer."""

    name: str
    timeout: float
    max_bytes: int
    retries: int
    cache_ttl: float
    concurrency: int
    burst: int

    def rate_for(self, server: str) -> float: ...
    def credentials(self) -> dict[str, str]: ...
    def classify(self, query: Query, fetched: Fetched) -> Fetched: ...
    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Any: ...
    def parser_id(self) -> str: ...
    def local_answer(self, query: Query) -> bytes: ...


# (question, the source asking, the address policy, the source's credentials) -> the raw answer
Adapter = Callable[[Query, Asker, AddressPolicy, dict[str, str]], Fetched]

TRANSPORTS: dict[str, Adapter] = {
    "dns": lambda q, src, policy, creds: fetch_dns(q, src.timeout, policy.egress),
    "whois": lambda q, src, policy, creds: fetch_whois(q, src.timeout, src.max_bytes, policy),
    "http": lambda q, src, policy, creds: fetch_http(q, src.timeout, src.max_bytes, policy, creds),
    "local": lambda q, src, policy, creds: fetch_local(q, src.local_answer),
}


def register_transport(kind: str, adapter: Adapter) -> None:
    """Add a wire adapter (a plugin's protocol); questions whose `transport` is `kind` go through it."""
    TRANSPORTS[kind] = adapter


def adapter_for(source: Asker, query: Query) -> Adapter:
    try:
        return TRANSPORTS[query.transport]
    except KeyError:
        raise ValueError(f"{source.name}: unknown transport {query.transport!r}") from None
