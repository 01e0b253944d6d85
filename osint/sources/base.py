"""What every source declares and does: which questions to ask, and how to read the answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from ..config import EnrichSettings, SourceSettings
# A source's whole vocabulary in one import: the shapes live below the sources, with the facts and the errors.
from ..errors import ParseError  # noqa: F401
from ..facts import Fact, Parsed, query_from_json, query_to_json  # noqa: F401
from ..transport.base import Fetched, Outcome, Query

if TYPE_CHECKING:  # pragma: no cover
    from ..case import Case


@dataclass(frozen=True)
class SourceContext:
    """What a source may know besides its own settings."""

    case: "Case | None"
    enrich: EnrichSettings


class Source:
    """Base class. Subclasses set the class attributes and implement `queries` and `parse`."""

    name: ClassVar[str]
    description: ClassVar[str]
    consumes: ClassVar[tuple[str, ...]]  # node kinds it asks about
    produces: ClassVar[tuple[str, ...]]  # node kinds its facts may create
    emits: ClassVar[tuple[str, ...]]  # relations its facts may carry (all in osint.vocabulary)
    needs_key: ClassVar[bool] = False
    key_env: ClassVar[str | None] = None
    default_endpoint: ClassVar[str]
    default_rate: ClassVar[float] = 5.0  # requests per second, per server
    default_burst: ClassVar[int] = 5
    default_concurrency: ClassVar[int] = 8
    default_timeout: ClassVar[float] = 15.0
    default_retries: ClassVar[int] = 2
    default_max_bytes: ClassVar[int] = 5_000_000
    ttl: ClassVar[float] = 7 * 86400.0
    version: ClassVar[str] = "1"
    offline: ClassVar[bool] = False  # needs no network at all
    # The protocol its questions go over the network by (a question may also be answered "local"ly, like a
    # reserved address); the fault matrix meets every source with its protocol's faults.
    wire: ClassVar[str] = "http"
    credential_keys: ClassVar[tuple[str, ...]] = ()  # option names that hold secrets

    def __init__(self, settings: SourceSettings, context: SourceContext):
        self.settings = settings
        self.context = context

    # -- declared limits, with configuration on top --------------------------------------

    @property
    def timeout(self) -> float:
        return self.settings.timeout or self.default_timeout

    @property
    def rate(self) -> float:
        return self.settings.rate or self.default_rate

    def rate_for(self, server: str) -> float:
        """Requests per second to one server (host:port); sources with several services may differ per server."""
        return self.rate

    @property
    def burst(self) -> int:
        return self.settings.burst or self.default_burst

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency or self.default_concurrency

    @property
    def retries(self) -> int:
        return self.default_retries if self.settings.retries is None else self.settings.retries

    @property
    def max_bytes(self) -> int:
        return self.settings.max_bytes or self.default_max_bytes

    @property
    def cache_ttl(self) -> float:
        return self.ttl if self.settings.ttl is None else self.settings.ttl

    @property
    def endpoint(self) -> str:
        return self.settings.get("endpoint") or self.default_endpoint

    def credentials(self) -> dict[str, str]:
        """The secrets this source may put on the wire; the transport redacts them everywhere else."""
        return {k: v for k in self.credential_keys if (v := self.settings.secret(k))}

    def has_credentials(self) -> bool:
        return bool(self.credentials())

    def ready(self) -> str | None:
        """None when the source can run; otherwise why it is skipped (shown to the user)."""
        if self.needs_key and not self.has_credentials():
            hint = f" (set {self.key_env} or sources.{self.name}.api_key in osint.toml)" if self.key_env else ""
            return f"no API key{hint}; skipped"
        return None

    # -- the work ------------------------------------------------------------------------

    def queries(self, node: str, depth: int) -> list[Query]:
        """The questions to ask about one node (e.g. 'domain:example.com')."""
        raise NotImplementedError

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        """Refine the transport's outcome from the raw answer (e.g. 'No match for' is NO_RECORD).

        Runs before the answer is stored, so it must be cheap and must not raise.
        """
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        """Read one stored answer into facts. Raises ParseError on unreadable input."""
        raise NotImplementedError

    def parser_id(self) -> str:
        return f"{self.name}@{self.version}"

    def local_answer(self, query: Query) -> bytes:
        """For offline sources: compute the answer's bytes from the query alone."""
        raise NotImplementedError


def classify_list(fetched: Fetched, read: Callable[[bytes], Any], what: str) -> Fetched:
    """For an answer that must hold a list of records (crt.sh, OTX, an ICP gateway): one that cannot be
    read is bad_answer, saying `what` it lacked and why; an empty one is no_record."""
    if fetched.outcome is not Outcome.ANSWERED:
        return fetched
    try:
        records = read(fetched.raw or b"")
    except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        fetched.outcome, fetched.error = Outcome.BAD_ANSWER, f"{what}: {str(exc)[:200]}"
        return fetched
    if not records:
        fetched.outcome = Outcome.NO_RECORD
    return fetched
