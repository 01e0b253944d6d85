"""`osint sources --check`: one cheap question per enabled source, so a wrong key or a dead server shows
before a long run, not in its closing table.

A source may define `check_queries()` (Shodan asks its key's own account, /api-info); otherwise the check
asks the source's first question about a harmless sample (example.com, or 1.1.1.1 for address sources).
Nothing is stored: a check is not evidence about the case.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..config import Settings
from ..sources import Source, SourceContext, registered_sources
from ..transport.base import Outcome
from ..transport.base import Query, redact
from ..transport.policy import AddressPolicy
from ..transport.pipeline import fetch

SAMPLES = {"domain": "domain:example.com", "ip": "ip:1.1.1.1", "url": "url:http://example.com/"}
# crt.sh's answer for %.example.com runs to megabytes; a name with no certificates is answered at once.
SOURCE_SAMPLES = {"ct": {"domain": "domain:osint-check.example"}}
CHECK_TIMEOUT = 5.0  # seconds per question: the whole check takes about this long, sources run side by side

REACHABLE = "reachable"
NO_KEY = "no key"
KEY_REJECTED = "key rejected"
REFUSED = "refused"
RATE_LIMITED = "rate-limited"
UNREACHABLE = "unreachable"
TIMED_OUT = "timed out"
BAD_ANSWER = "bad answer"
NOT_CHECKED = "not checked"
OFFLINE = "offline"
DISABLED = "disabled"
FAILING = {NO_KEY, KEY_REJECTED, REFUSED, UNREACHABLE, TIMED_OUT, BAD_ANSWER}


@dataclass
class Check:
    source: str
    status: str
    endpoint: str = ""
    question: str = ""
    detail: str = ""
    ms: float | None = None

    @property
    def failing(self) -> bool:
        return self.status in FAILING


def check_queries(src: Source) -> list[Query]:
    """The cheap question(s) that show whether a source can work."""
    own = getattr(src, "check_queries", None)
    if callable(own):
        return list(own())
    samples = {**SAMPLES, **SOURCE_SAMPLES.get(src.name, {})}
    for kind in src.consumes:
        if kind in samples:
            queries = [q for q in src.queries(samples[kind], 0) if q.transport != "local"]
            if queries:
                return queries[:1]
    return []


def _status(src: Source, outcome: Outcome, http_status: int | None) -> str:
    if outcome.is_answer:
        return REACHABLE
    if outcome is Outcome.REFUSED and http_status in (401, 403) and src.credential_keys:
        return KEY_REJECTED
    return {Outcome.RATE_LIMITED: RATE_LIMITED, Outcome.REFUSED: REFUSED, Outcome.TIMEOUT: TIMED_OUT,
            Outcome.UNREACHABLE: UNREACHABLE, Outcome.RESET: UNREACHABLE, Outcome.BLOCKED: REFUSED}.get(
        outcome, BAD_ANSWER)


def check_source(src: Source, policy: AddressPolicy) -> Check:
    name = src.name
    if src.offline:
        return Check(name, OFFLINE, "offline", detail="needs no network")
    why = src.ready()
    if why:
        return Check(name, NO_KEY, _endpoint(src), detail=why.removesuffix("; skipped"))
    queries = check_queries(src)
    if not queries:
        return Check(name, NOT_CHECKED, _endpoint(src), detail="asks each site it is given; no fixed server")
    query = queries[0]
    start = time.monotonic()
    try:
        fetched = fetch(src, query, policy)
    except Exception as exc:  # a check reports; it never stops the table
        text = redact(f"{exc.__class__.__name__}: {exc}", list(src.credentials().values()))
        return Check(name, BAD_ANSWER, query.endpoint, query.key, text or "", (time.monotonic() - start) * 1000)
    status = _status(src, fetched.outcome, fetched.meta.get("status"))
    detail = fetched.error or ""
    if status == REACHABLE:
        detail = "answered" if fetched.outcome is Outcome.ANSWERED else "answered: no record (the server works)"
    elif status == RATE_LIMITED:
        detail = (detail + "; " if detail else "") + "works, but the server asks us to slow down"
    return Check(name, status, fetched.endpoint or query.endpoint, query.key, detail, fetched.duration_ms)


def check_sources(settings: Settings, names: list[str] | None = None, *,
                  timeout: float = CHECK_TIMEOUT) -> list[Check]:
    """One check per registered source (disabled ones listed as such), asked side by side."""
    ctx = SourceContext(case=None, enrich=settings.enrich)
    policy = AddressPolicy(allow_private=settings.enrich.allow_private)
    todo: list[tuple[str, Source | None]] = []
    for name, cls in registered_sources().items():
        if names and name not in names:
            continue
        conf = settings.source(name)
        if not conf.enabled:
            todo.append((name, None))
            continue
        limited = dataclasses.replace(conf, timeout=min(conf.timeout or cls.default_timeout, timeout), retries=0)
        todo.append((name, cls(limited, ctx)))
    with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
        futures = [(name, pool.submit(check_source, src, policy) if src else None) for name, src in todo]
        return [f.result() if f else Check(name, DISABLED, detail="enabled = false in the configuration")
                for name, f in futures]


def _endpoint(src: Source) -> str:
    ep = src.endpoint
    return ", ".join(map(str, ep)) if isinstance(ep, (list, tuple)) else str(ep)
