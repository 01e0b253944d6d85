"""What the layers above read from an evidence store: the graph and the report type against this, not a class."""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from .evidence import Observation

# (observed_at, observation id, source, its newest parse or None) of the newest answer to one question.
GraphAnswer = tuple[str, int, str, dict[str, Any] | None]


class EvidenceReader(Protocol):
    """The evidence store as its readers see it (osint.store.EvidenceStore is one)."""

    def graph_answers(self) -> tuple[list[GraphAnswer], int]:
        """The newest answer to every question with its newest parse, and the number of questions whose
        every answer failed."""
        ...

    def list(self, *, source: str | None = None, subject: str | None = None, outcome: str | None = None,
             limit: int | None = None, ids: Iterable[int] | None = None) -> list[Observation]:
        """Observations without their raw bytes, in id order."""
        ...
