"""osint: evidence-backed infrastructure graphs for crypto-theft investigations."""

__version__ = "0.1.0"
