"""The graph as of one date: only the facts whose span covers it (captures, passive DNS, certificates,
registrations), so that what was true at the incident stands apart from what is true today."""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

import networkx as nx

from ..common.timefmt import iso_utc, moment
from ..errors import OsintError
from .build import CASE_SOURCE

# Facts about names and codes, not about infrastructure at a time: true whenever the names are.
TIMELESS = frozenset({"similar_name", "shares_name_stem", "shares_district", "in_district"})


def parse_as_of(text: str, incident: str | None = None) -> tuple[datetime, datetime]:
    """The window a user's --as-of names, as UTC instants (start, end).

    `YYYY-MM-DD` is that whole day (UTC); a time with its offset ('2023-03-21T01:00:00+08:00') is that
    instant; `incident` is the case's incident time."""
    value = text.strip()
    if value.lower() == "incident":
        if not incident:
            raise OsintError("--as-of incident: the case gives no incident time; give a date (YYYY-MM-DD)")
        value = incident
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return (datetime.combine(day, time.min, timezone.utc), datetime.combine(day, time.max, timezone.utc))
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OsintError(f"--as-of {text!r}: not a date; write YYYY-MM-DD, an ISO time with its offset "
                         "(2023-03-21T01:00:00+08:00), or 'incident'") from None
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return when, when


def covers(data: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether one edge held within [start, end].

    A claim of the case file always stays (it is an allegation, not a fact in time); a fact with a
    span stays when its span meets the window (an open end is open); a fact without one is known
    only from when it was observed, so it stays only when it was observed within the window."""
    if data.get("claim") or data.get("kind") in TIMELESS:
        return True
    first, last = moment(data.get("first_seen")), moment(data.get("last_seen"), end=True)
    if first is None and last is None:
        if data.get("sources") == (CASE_SOURCE,):
            return True  # the case file's own statements (registry records) without dates
        observed = moment(data.get("observed_at"))
        return observed is not None and start <= observed <= end
    return (first is None or first <= end) and (last is None or last >= start)


def as_of(graph: nx.MultiDiGraph, start: datetime, end: datetime | None = None) -> nx.MultiDiGraph:
    """A copy of the graph with only the edges that held within [start, end] (end defaults to start),
    and without the nodes that are left with no edge and are not in the case file."""
    end = end or start
    g = nx.MultiDiGraph()
    g.graph.update(graph.graph)
    g.graph["as_of"] = iso_utc(start) if start == end else f"{iso_utc(start)}/{iso_utc(end)}"
    for u, v, k, data in graph.edges(keys=True, data=True):
        if covers(data, start, end):
            g.add_edge(u, v, key=k, **data)
    for node, data in graph.nodes(data=True):
        if node in g or data.get("in_case"):
            g.add_node(node, **data)
    return g
