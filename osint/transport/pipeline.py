"""One question's life in one place: cache, breaker and rate limit, fetch, classify, record the raw bytes, parse.

The engine decides what to ask and when; everything that happens to one question after that is here,
in this order:

1. **cache**: an answer in the store younger than the source's TTL is used again (its stored parse, or
   a fresh parse of its stored bytes when the last run was killed between the two);
2. **breaker and rate limit**: a server that kept failing or answering 429 is not sent to again this run;
   otherwise the question waits for a fetch slot of its source and a token of its (source, server) bucket;
3. **fetch**: the wire adapter its `transport` names (osint/transport/wire.py) sends it once;
4. **classify**: the source refines the outcome from the raw answer ("No match for" is no_record);
5. **record**: the untouched answer is stored, with its SHA-256, before anyone reads it; transient
   failures are recorded too, and retried with backoff (a 429 pauses the whole server's bucket);
6. **parse**: the stored bytes are read into facts, and the parse is stored beside them.

`QuestionPipeline.ask` returns an `Answer`: how it was answered, the outcome, the observation id and
the parse. `ask_once` is the same life without the cache and the limits, for tests and importers.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from .. import __version__
from ..errors import ParseError
from ..facts import Parsed
from ..store.observation import NewObservation
from ..store.writer import BatchWriter, RowRefused
from .base import Fetched, Outcome, Query, redact
from .limits import TRANSIENT, Breaker, NotSent, TokenBucket, backoff
from .policy import AddressPolicy
from .wire import Asker, adapter_for

log = logging.getLogger("osint.enrich")

MAX_RETRY_WAIT = 60.0  # a Retry-After longer than this ends the question for this run

ASKED, CACHED, NOT_ASKED = "asked", "cached", "not_asked"


def fetch(source: Asker, query: Query, policy: AddressPolicy) -> Fetched:
    """Blocking: send `query` once and return the raw answer, classified (never raises for network trouble)."""
    creds = source.credentials()
    fetched = adapter_for(source, query)(query, source, policy, creds)
    fetched.endpoint = fetched.endpoint or query.endpoint
    fetched = source.classify(query, fetched)
    fetched.error = redact(fetched.error, list(creds.values()))
    return fetched


def observation_fields(run_id: str, source: Asker, query: Query, fetched: Fetched) -> NewObservation:
    """What the store keeps of one answer: the question, where it went, and the untouched bytes."""
    return NewObservation.of(run_id, source.name, query, fetched, __version__)


def record(store, run_id: str, source: Asker, query: Query, fetched: Fetched) -> int:
    """Store the untouched answer (before anyone parses it); return the observation id."""
    return store.record(observation_fields(run_id, source, query, fetched))


def parse_stored(source: Asker, query: Query, raw: bytes | None, meta: dict) -> Parsed:
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


def ask_once(source: Asker, query: Query, store=None, policy: AddressPolicy | None = None,
             run_id: str = "ask-once"):
    """Fetch, store (if a store is given) and parse one question: the unit tests' and importers' entry point.

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


@dataclass
class Answer:
    """What became of one question, for the engine: how it was answered, and what it said."""

    how: str  # ASKED (sent over the network; retries count once), CACHED, NOT_ASKED (offline, nothing stored)
    outcome: Outcome | None = None
    error: str | None = None
    observation: int | None = None
    parsed: Parsed | None = None
    parse_error: str | None = None  # the answer was stored but could not be read


def server_of(q: Query) -> str:
    """The server a question goes to (host:port): rate limits and the breaker count per server."""
    ep = q.endpoint
    return (urlsplit(ep).netloc or ep) if "://" in ep else ep


class QuestionPipeline:
    """Takes questions through cache, limits, fetch, classify, record and parse for one run.

    Use as `async with QuestionPipeline(...).open(sources) as pipe: await pipe.ask(src, q)`. `on_retry`
    is called with the source each time a question is sent again. `limiter(source, server)` gives the
    rate bucket for a server (default: one token bucket per source and server in this process).
    """

    def __init__(self, store, run_id: str, *, policy: AddressPolicy, concurrency: int, refresh: bool = False,
                 offline: bool = False, on_retry: Callable[[Asker], None] | None = None,
                 limiter: Callable[[Asker, str], Any] | None = None):
        self.store = store
        self.run_id = run_id
        self.policy = policy
        self.concurrency = concurrency
        self.refresh = refresh
        self.offline = offline
        self.on_retry = on_retry or (lambda src: None)
        self.limiter = limiter or self._local_bucket
        self.breaker = Breaker()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._cache: dict[str, dict[str, tuple[int, str]]] = {}

    # -- the run's resources -------------------------------------------------------------

    def open(self, sources: Iterable[Asker]) -> "QuestionPipeline":
        self._sources = list(sources)
        return self

    async def __aenter__(self) -> "QuestionPipeline":
        for src in self._sources:
            if not self.refresh:
                self._cache[src.name] = self.store.latest_answers(src.name)
        workers = min(64, max(4, sum(self.slots(s) for s in self._sources)))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="osint-fetch")
        self._sems = {s.name: asyncio.Semaphore(self.slots(s)) for s in self._sources}
        self.writer = BatchWriter(self.store, asyncio.get_running_loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.writer.close()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def slots(self, src: Asker) -> int:
        """How many of a source's questions may be on the wire at once."""
        return min(src.concurrency, self.concurrency)

    # -- one question --------------------------------------------------------------------

    async def ask(self, src: Asker, q: Query) -> Answer:
        cached = None if self.refresh else self._cached(src, q)
        if cached is not None:
            answer = Answer(CACHED, observation=cached)
            answer.parsed, answer.parse_error = self._load_parse(src, q, cached)
            return answer
        if self.offline:
            return Answer(NOT_ASKED)
        fetched, obs_id = await self._fetch_with_retries(src, q)
        answer = Answer(ASKED, fetched.outcome, fetched.error, obs_id)
        if fetched.outcome.is_answer:
            try:
                answer.parsed = parse_stored(src, q, fetched.raw, fetched.meta)
            except ParseError as exc:
                answer.parse_error = str(exc)
                self.writer.parse(obs_id, src.parser_id(), {"error": str(exc)})
            else:
                self.writer.parse(obs_id, src.parser_id(), answer.parsed.to_json())
        return answer

    def remember(self, src: Asker, query_key: str, observation: int, observed_at: str) -> None:
        """An answer another process stored since this pipeline opened: the cache uses it like its own."""
        self._cache.setdefault(src.name, {})[query_key] = (observation, observed_at)

    def _cached(self, src: Asker, q: Query) -> int | None:
        hit = self._cache.get(src.name, {}).get(q.key)
        if hit is None:
            return None
        obs_id, observed_at = hit
        if not self.offline and _age_s(observed_at) > src.cache_ttl:
            return None
        return obs_id

    def _load_parse(self, src: Asker, q: Query, obs_id: int) -> tuple[Parsed | None, str | None]:
        stored = self.store.latest_parse(obs_id)
        if stored is not None and "error" not in stored:
            return Parsed.from_json(stored), None
        # Killed between storing the answer and its parse, or an older parser failed: parse again.
        obs = self.store.get(obs_id)
        try:
            parsed = parse_stored(src, q, obs.raw, obs.meta)
        except ParseError as exc:
            return None, str(exc)
        self.writer.parse(obs_id, src.parser_id(), parsed.to_json())
        return parsed, None

    async def _fetch_with_retries(self, src: Asker, q: Query) -> tuple[Fetched, int | None]:
        server = server_of(q)
        where = f"{src.name}|{server}"
        bucket = self.limiter(src, server)
        loop = asyncio.get_running_loop()
        attempt = 0
        refused: Outcome | None = None
        while True:
            reason = self.breaker.open_reason(where)
            if reason is None:
                async with self._sems[src.name]:
                    # Checked again once our turn has come: the questions ahead of us may have opened it.
                    reason = self.breaker.open_reason(where)
                    if reason is None:
                        try:
                            await bucket.acquire()
                        except NotSent as exc:  # a shared budget (API credits) is spent
                            reason, refused = str(exc), exc.outcome
                        else:
                            fetched = await loop.run_in_executor(self._pool, fetch, src, q, self.policy)
            if reason:
                outcome = refused or (Outcome.RATE_LIMITED if "429" in reason else Outcome.UNREACHABLE)
                fetched = Fetched(outcome, error=f"not sent: {reason}", meta={"sent": False}, endpoint=q.endpoint)
                return fetched, await self._record(src, q, fetched)
            # Count the outcome before waiting on the store, so that questions queued behind us see it.
            self.breaker.observe(where, fetched.outcome, fetched.error)
            obs_id = await self._record(src, q, fetched)
            if obs_id is None:
                return Fetched(Outcome.ERROR, error=fetched.error, meta=fetched.meta, endpoint=q.endpoint), None
            if fetched.outcome not in TRANSIENT or attempt >= src.retries:
                return fetched, obs_id
            wait = fetched.retry_after if fetched.retry_after is not None else backoff(attempt)
            if wait > MAX_RETRY_WAIT:
                return fetched, obs_id
            if fetched.outcome == Outcome.RATE_LIMITED:
                bucket.pause(wait)  # everyone asking this server waits, not just us
            attempt += 1
            self.on_retry(src)
            await asyncio.sleep(wait)

    async def _record(self, src: Asker, q: Query, fetched: Fetched) -> int | None:
        """The observation id of the stored answer; None (and the answer's error says why) if refused."""
        try:
            return await self.writer.observation(observation_fields(self.run_id, src, q, fetched))
        except RowRefused as exc:
            fetched.error = f"the evidence store refused the answer: {exc}"
            return None

    def _local_bucket(self, src: Asker, server: str) -> TokenBucket:
        key = (src.name, server)
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(src.rate_for(server), src.burst)
        return self._buckets[key]


def _age_s(observed_at: str) -> float:
    t = datetime.fromisoformat(observed_at.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - t).total_seconds()
