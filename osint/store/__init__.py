"""The evidence store: append-only observations with their raw bytes and SHA-256."""

from .evidence import EvidenceStore, Observation, Outcome, open_store

__all__ = ["EvidenceStore", "Observation", "Outcome", "open_store"]
