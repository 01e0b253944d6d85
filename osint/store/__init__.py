"""The evidence store: append-only observations with their raw bytes and SHA-256."""

from .evidence import EvidenceStore, Observation, Outcome, open_store
from .observation import NewObservation
from .protocol import EvidenceReader

__all__ = ["EvidenceReader", "EvidenceStore", "NewObservation", "Observation", "Outcome", "open_store"]
