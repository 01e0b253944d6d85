"""How the graph looks in Gephi: one colour per node kind, node size by degree, the legend."""

from __future__ import annotations

import math

from ..vocabulary import CLAIM_EDGE_COLOUR, EVIDENCE_EDGE_COLOUR, FALLBACK_COLOUR
from ..vocabulary import KINDS as _VOCABULARY
from ..vocabulary import kind_colour as colour

__all__ = ["CLAIM_EDGE_COLOUR", "EVIDENCE_EDGE_COLOUR", "FALLBACK_COLOUR", "KINDS", "colour", "legend",
           "legend_markdown", "node_size", "rgb"]

# Kind -> (colour, what the node is), from the vocabulary. graphs/README.md carries this table; a test
# checks that it matches (regenerate it with `python -m osint.graph.style`).
KINDS: dict[str, tuple[str, str]] = {k.name: (k.colour, k.description) for k in _VOCABULARY.values()}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def node_size(degree: int) -> float:
    """Gephi node size: grows with the log of the degree, so hubs stand out without swamping."""
    return round(10.0 + 5.0 * math.log2(1 + max(degree, 0)), 2)


def legend() -> list[tuple[str, str, str]]:
    """(kind, colour, description) for every kind, in the order of KINDS."""
    return [(kind, hexc, text) for kind, (hexc, text) in KINDS.items()]


def legend_markdown() -> str:
    """The colour legend as the Markdown table graphs/README.md carries."""
    lines = ["| Kind | Colour | What it is |", "|---|---|---|"]
    lines += [f"| `{kind}` | `{hexc}` | {text} |" for kind, hexc, text in legend()]
    lines.append(f"| (other) | `{FALLBACK_COLOUR}` | a kind not listed here |")
    lines.append(f"| claim edge | `{CLAIM_EDGE_COLOUR}` | an edge the case file alleges, not evidence |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the README table
    import sys

    sys.stdout.write(legend_markdown())
