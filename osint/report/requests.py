"""The report's hand-off section: the record holders and draft requests of `osint requests`, in the
report's language (one escaped HTML fragment, no script)."""

from __future__ import annotations

from typing import Any

import networkx as nx
from markupsafe import Markup

from ..case.model import Case
from ..handoff.i18n import messages
from ..handoff.render import render_section
from ..handoff.requests import record_holders


def requests_section(case: Case, graph: nx.MultiDiGraph, lang: str) -> dict[str, Any]:
    """{"title": the section's name, "html": the section, already escaped}."""
    handoff = record_holders(case, graph)
    return {"title": messages(lang)["title"], "html": Markup(render_section(handoff, lang)),
            "holders": len(handoff.holders)}
