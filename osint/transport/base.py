"""The shapes shared by every transport: a question, and what came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote, quote_plus


class Outcome(StrEnum):
    """What became of one question. Only ANSWERED and NO_RECORD are answers; the rest are failures."""

    ANSWERED = "answered"
    NO_RECORD = "no_record"  # NXDOMAIN, 404, "No match": a fact, not a failure
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    REFUSED = "refused"  # the server refused: connection refused, DNS REFUSED, 401/403
    RESET = "reset"  # the connection broke mid-answer
    UNREACHABLE = "unreachable"  # no route, name of the server unknown, proxy down
    SERVER_ERROR = "server_error"  # 5xx, SERVFAIL
    BAD_ANSWER = "bad_answer"  # garbage, malformed JSON, wrong content type
    TOO_LARGE = "too_large"  # over the size cap
    BLOCKED = "blocked"  # our own policy refused to send it (private address, redirect loop)
    ERROR = "error"  # anything else, with its message

    @property
    def is_answer(self) -> bool:
        return self in (Outcome.ANSWERED, Outcome.NO_RECORD)


@dataclass(frozen=True)
class Query:
    """One question a source wants asked.

    `key` identifies the question for the cache (same key, same question); `subject` is the node
    it is about; `request` is what the transport needs, and is stored as evidence, so it never
    holds a credential (sources name credentials in `auth`, the transport adds them on the wire).
    `trusted` endpoints come from configuration and may be on loopback or private networks;
    targets learnt from answers (referrals, redirects, web links) are checked against the policy.
    """

    source: str
    key: str
    subject: str
    transport: str  # "dns" | "whois" | "http" | "local"
    request: dict[str, Any]
    endpoint: str
    auth: tuple[str, ...] = ()
    trusted: bool = True
    depth: int = 0
    context: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Fetched:
    """The untouched answer, or why there is none."""

    outcome: Outcome
    raw: bytes | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    endpoint: str = ""
    duration_ms: float = 0.0
    retry_after: float | None = None  # seconds, when the server said so


REDACTED = "***"


def redact(text: str | None, secrets: list[str]) -> str | None:
    """Remove every credential from text bound for a log, an error message or the store."""
    if text is None:
        return None
    for s in secrets:
        if s and len(s) >= 3:
            # The secret as written, and as it appears once a library has put it in a URL.
            for form in {s, quote(s, safe=""), quote_plus(s), quote(s)}:
                text = text.replace(form, REDACTED)
    return text
