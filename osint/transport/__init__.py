"""Transport: the one place that talks to the network. Sources say what to ask; this asks it."""

from .base import Fetched, Query, redact
from .policy import AddressPolicy, BlockedAddress

__all__ = ["AddressPolicy", "BlockedAddress", "Fetched", "Query", "redact"]
