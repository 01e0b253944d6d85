"""Provenance on a graph edge: the evidence ids, source names and fingerprints (via) behind it, as tuples.

The graph keeps them as sorted tuples; only the exporters write them as text ("ev1,ev2", see
osint/export/common.py flat_provenance), so nothing in between joins them to split them again.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

PROVENANCE = ("evidence", "sources", "via")
_EV = re.compile(r"ev\d+")


def _number(ev: str) -> int:
    return int(ev[2:]) if ev[2:].isdigit() else 0


def evidence_tuple(ids: Iterable[str]) -> tuple[str, ...]:
    """Evidence ids ('ev12'), each once, in the store's order (by number, not as text: ev9 before ev10)."""
    return tuple(sorted(set(ids), key=_number))


def observation_ids(ids: Iterable[int]) -> tuple[str, ...]:
    """Observation ids of the store as the graph names them: (12, 9) -> ('ev9', 'ev12')."""
    return tuple(f"ev{i}" for i in sorted(set(ids)))


def names(values: Iterable[str]) -> tuple[str, ...]:
    """Source names or fingerprints, each once, sorted."""
    return tuple(sorted(set(values)))


def gathered(datas: Iterable[dict[str, Any]], attr: str) -> set[str]:
    """Every value of one provenance attribute over several edges."""
    return {x for d in datas for x in d.get(attr) or ()}


def as_tuple(value: Any) -> tuple[str, ...]:
    """A provenance attribute as a tuple, whoever made the graph: the builder's tuple; the text a graph read
    back from a file holds ('ev1,ev2'); for anything else (an exporter takes any graph), nothing."""
    if isinstance(value, (tuple, list, set, frozenset)):
        return tuple(x for x in value if isinstance(x, str))
    if isinstance(value, str):
        return tuple(p for p in (part.strip() for part in value.split(",")) if p)
    return ()


def cited(*groups: Any) -> list[str]:
    """The store's evidence ids among several groups (edges' `evidence`, lists of ids), each once, by number:
    what a hand-off or an export cites (an id of another shape is none of the store's)."""
    return sorted({e for g in groups for e in as_tuple(g) if _EV.fullmatch(e)}, key=_number)
