"""Ask one question through the right transport, then let the source refine the outcome."""

from __future__ import annotations

from .. import __version__
from ..sources.base import Parsed, ParseError, Source
from ..transport.base import Fetched, Query, redact
from ..transport.dns import fetch_dns
from ..transport.http import fetch_http
from ..transport.local import fetch_local
from ..transport.policy import AddressPolicy
from ..transport.whois import fetch_whois


def fetch(source: Source, query: Query, policy: AddressPolicy) -> Fetched:
    """Blocking: send `query` once and return the raw answer (never raises for network trouble)."""
    creds = source.credentials()
    if query.transport == "dns":
        fetched = fetch_dns(query, source.timeout)
    elif query.transport == "whois":
        fetched = fetch_whois(query, source.timeout, source.max_bytes, policy)
    elif query.transport == "http":
        fetched = fetch_http(query, source.timeout, source.max_bytes, policy, creds)
    elif query.transport == "local":
        fetched = fetch_local(query, source.local_answer)
    else:
        raise ValueError(f"{source.name}: unknown transport {query.transport!r}")
    fetched.endpoint = fetched.endpoint or query.endpoint
    fetched = source.classify(query, fetched)
    fetched.error = redact(fetched.error, list(creds.values()))
    return fetched


def observation_fields(run_id: str, source: Source, query: Query, fetched: Fetched) -> dict:
    """What the store keeps of one answer: the question, where it went, and the untouched bytes."""
    return dict(
        run_id=run_id, source=source.name, query_key=query.key, subject=query.subject,
        request=query.request, endpoint=fetched.endpoint or query.endpoint, outcome=fetched.outcome,
        raw=fetched.raw, duration_ms=fetched.duration_ms, error=fetched.error, meta=fetched.meta,
        tool_version=__version__,
    )


def record(store, run_id: str, source: Source, query: Query, fetched: Fetched) -> int:
    """Store the untouched answer (before anyone parses it); return the observation id."""
    return store.record(**observation_fields(run_id, source, query, fetched))


def parse_stored(source: Source, query: Query, raw: bytes | None, meta: dict) -> Parsed:
    """Parse an answer; ParseError (or any ValueError from a library parser) means unreadable.

    So do the errors an answer of the wrong shape causes in a parser that trusted it: a list
    where an object was expected (AttributeError), a count of 1e999 (OverflowError), a key or
    index that is not there. A hostile answer is recorded as a parse failure, never a crash.
    """
    try:
        return source.parse(query, raw or b"", meta)
    except ParseError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, UnicodeError, RecursionError, AttributeError,
            ArithmeticError) as exc:
        raise ParseError(f"{source.name}: cannot read the answer to {query.key}: {exc.__class__.__name__}: {exc}") from exc


def ask_once(source: Source, query: Query, store=None, policy: AddressPolicy | None = None,
             run_id: str = "ask-once"):
    """Fetch, store (if a store is given) and parse one question: the unit tests' entry point.

    Returns (fetched, parsed or None, observation id or None).
    """
    fetched = fetch(source, query, policy or AddressPolicy())
    oid = record(store, run_id, source, query, fetched) if store is not None else None
    parsed = None
    if fetched.outcome.is_answer:
        parsed = parse_stored(source, query, fetched.raw, fetched.meta)
        if store is not None:
            store.record_parse(oid, source.parser_id(), parsed.to_json())
    return fetched, parsed, oid
