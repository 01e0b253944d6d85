"""The claims and new leads of `osint attribute` as text: an evidence path in one line, Markdown, JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ..graph.attribute import STATUSES, ClaimResult, Lead
from ..graph.paths import EvidencePath, Hop


def to_json(results: list[ClaimResult], leads: list[Lead] | None = None) -> str:
    """Results (and leads) as indented JSON, keys sorted."""
    doc: dict[str, Any] = {"claims": [r.to_dict() for r in results]}
    if leads is not None:
        doc["leads"] = [lead.to_dict() for lead in leads]
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _hop_text(h: Hop) -> str:
    arrow = f"-{h.relation}->" if h.forward else f"<-{h.relation}-"
    note = h.note_text("en")
    if h.claim or not h.sources:
        where = f" [{'CLAIM, ' if h.claim else ''}{note}]" if note else (" [CLAIM]" if h.claim else "")
    else:
        span = f", {h.first_seen or '?'} .. {h.last_seen or '?'}" if (h.first_seen or h.last_seen) else ""
        where = f" [{', '.join(h.sources)}: {', '.join(h.evidence)}{span}]"
    return f"{arrow} {h.to}{where}"


def path_text(path: EvidencePath) -> str:
    if not path.hops:
        return ""
    return f"{path.hops[0].frm} " + " ".join(_hop_text(h) for h in path.hops)


def to_markdown(results: list[ClaimResult], leads: list[Lead] | None = None) -> str:
    """Plain-text report: one section per claim (status, why, best path), then the leads."""
    counts = Counter(r.status for r in results)
    lines = ["# Claims", "", ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES), ""]
    for r in results:
        lines.append(f"## {r.subject} {r.relation} {r.object}: {r.status.replace('_', ' ').upper()}")
        if r.text:
            lines.append(f"- claim: {r.text} ({r.source})")
        lines.append(f"- {r.reason}")
        if r.best is not None:
            lines.append(f"- best path (confidence {r.best.confidence}): {path_text(r.best)}")
        lines += [f"- note: {n}" for n in r.notes]
        lines.append("")
    if leads is not None:
        lines += ["# New leads", ""]
        if not leads:
            lines.append("(none)")
        for lead in leads:
            lines.append(f"- {lead.node} ({lead.kind}, {lead.distance} hop(s) from {lead.near}): "
                         f"{path_text(lead.path)}")
        lines.append("")
    return "\n".join(lines)
