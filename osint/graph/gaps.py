"""Attribution meets the platforms no source reads (osint/sources/gaps.py): an account claim there
says that nothing could be asked, not that nothing was found."""

from __future__ import annotations

from ..sources.gaps import GAPS_ZH, gap
from .messages import Message


def explain_gaps(results: list) -> list:
    """Claims about accounts on a platform no source reads: say so in the claim's reason and notes
    (an uncorroborated X account is a gap in what can be asked, not an empty answer)."""
    for r in results:
        kind, _, value = str(r.subject).partition(":")
        platform = value.partition(":")[0]
        why = gap(platform) if kind == "account" else None
        if why and r.status != "corroborated":
            zh = GAPS_ZH.get(platform)
            msg = Message("gap", {"platform": platform,
                                  "why": {"en": why, "zh": f"{zh[0]}：{zh[1]}" if zh else why}})
            note = msg.render("en")
            r.reason_msg = Message("and", {"first": r.reason_msg, "then": msg}) if r.reason_msg else msg
            r.reason = r.reason_msg.render("en")
            r.notes.append(note)
            r.note_msgs.append(msg)
    return results
