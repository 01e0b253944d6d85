"""The attribution graph: case entities, claims and evidence facts as one typed networkx graph.

Claim checking lives in `osint.graph.attribute` (imported by module, so its name is not shadowed).
"""

from .build import build_graph, confidence

__all__ = ["build_graph", "confidence"]
