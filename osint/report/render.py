"""Turn the report's data into one self-contained HTML file, in Chinese or English.

One Jinja2 template for both languages (words from i18n.py), autoescaped: every string that came
from a WHOIS answer, a web page or a certificate is text, never markup. The graph library, our
script, the styles and the data are all inlined; a Content-Security-Policy with `default-src
'none'` and per-script hashes makes the browser refuse any request the page might try, so the
report opens offline and cannot phone home.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from ..common.timefmt import moment
from ..graph.attribute import STATUSES
from ..graph.style import CLAIM_EDGE_COLOUR, FALLBACK_COLOUR, KINDS, colour
from .assets import GraphLibrary
from .i18n import KINDS_ZH, LANGS, RELATIONS_ZH, TEXT, company_status, kind_name, relation_name, standing_name

_TIMELINE_COLOURS = {"incident": CLAIM_EDGE_COLOUR, "company": colour("company"), "domain": colour("domain"),
                     "certificate": colour("certificate"), "pdns": colour("ip"),
                     "capture": colour("url")}
_LABEL_WIDTH, _CHART_END, _ROW = 330.0, 985.0, 18.0


def script_json(value: Any) -> Markup:
    """JSON that is safe inside <script type="application/json">: no '<', '>', '&' or line separators
    a browser could read as the end of the script or of the document."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return Markup(text)


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def timeline_chart(events: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """Rows of bars and points on one time axis, in SVG user units (a 1000-wide viewBox)."""
    times = [moment(t) for e in events for t in (e["start"], e["end"]) if t]
    times = [t for t in times if t is not None]
    if not times:
        return {"rows": [], "ticks": [], "height": 0, "incidents": []}
    lo, hi = min(times), max(times)
    lo = lo.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    hi = hi.replace(year=hi.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    span = (hi - lo).total_seconds() or 1.0

    def x(t: datetime) -> float:
        return round(_LABEL_WIDTH + (t - lo).total_seconds() / span * (_CHART_END - _LABEL_WIDTH), 1)

    t = TEXT[lang]
    rows, incidents = [], []
    for i, e in enumerate(events):
        start, end = moment(e["start"]) if e["start"] else None, moment(e["end"]) if e["end"] else None
        name = e["node"]["label"] + (f" \u2192 {e['other']['label']}" if e["other"] else "")
        label = f"{t['tl_' + e['kind']]}: {name}"
        y = 24 + i * _ROW
        row = {"y": y, "label": _short(label), "title": label, "colour": _TIMELINE_COLOURS.get(e["kind"], FALLBACK_COLOUR),
               "kind": e["kind"], "start_text": e["start_text"] or "?", "end_text": e["end_text"] or "?"}
        if start and end:
            row.update(x1=x(start), x2=max(x(end), x(start) + 2))
        else:
            row.update(point=x(start or end))  # type: ignore[arg-type]
        if e["kind"] == "incident" and start:
            incidents.append(x(start))
        rows.append(row)
    ticks = []
    year = lo.year
    step = max(1, (hi.year - lo.year) // 12)
    while year <= hi.year:
        ticks.append({"x": x(lo.replace(year=year)), "label": str(year)})
        year += step
    return {"rows": rows, "ticks": ticks, "height": 24 + len(rows) * _ROW + 8, "incidents": incidents}


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("osint.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def render(data: dict[str, Any], lang: str, library: GraphLibrary) -> str:
    """The whole report as one HTML document in `lang` ('zh' or 'en')."""
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}; choose one of {', '.join(LANGS)}")
    t = TEXT[lang]
    env = _environment()

    def name(node: dict[str, Any] | None) -> str:
        if not node:
            return ""
        if lang == "en" and node.get("pinyin"):
            return f"{node['label']} ({node['pinyin']})"
        return str(node["label"])

    def status(value: str, n: int = 0) -> str:
        text = t.get(f"status_{value}", value)
        return text + (" " + t["by_sources"].format(n=n) if value == "corroborated" and n else "")

    def tr(value: Any) -> Any:
        """A text given in both languages ({'en': ..., 'zh': ...}) in this report's language."""
        return value.get(lang, value.get("en")) if isinstance(value, dict) else value

    def code(text: str) -> Markup:
        """Text with `command` spans shown as code."""
        return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))

    env.filters.update(code=code, name=name, kind=lambda k: kind_name(k, lang), rel=lambda r: relation_name(r, lang), tr=tr,
                       standing=lambda v: standing_name(str(v), lang),
                       status=status, company_status=lambda v: company_status(str(v), lang))
    ui = {key: t[key] for key in ("attributes", "edges", "relation", "other_end", "sources", "evidence",
                                  "click_node", "claim_edge")}
    ui["lang"] = lang
    ui["kinds"] = {k: kind_name(k, lang) for k in set(KINDS) | set(KINDS_ZH)}
    ui["relations"] = {r: relation_name(r, lang) for r in RELATIONS_ZH}
    payload = {"graph": data["graph"], "evidence": [e for e in data["evidence"] if not e.get("missing")], "ui": ui}
    script = resources.files("osint.report").joinpath("static/report.js").read_text(encoding="utf-8")
    style = resources.files("osint.report").joinpath("static/report.css").read_text(encoding="utf-8")
    csp = "; ".join([
        "default-src 'none'",
        f"script-src {_csp_hash(library.source)} {_csp_hash(script)}",
        "style-src 'unsafe-inline'",  # cytoscape styles its canvas elements inline
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ])
    legend = [(kind, hexc, kind_name(kind, lang)) for kind, (hexc, _) in KINDS.items()]
    return env.get_template("report.html.j2").render(
        t=t, lang=lang, d=data, case=data["case"], csp=csp, style=Markup(style),
        library=library, library_source=Markup(library.source), script=Markup(script), payload=script_json(payload),
        timeline=timeline_chart(data["timeline"], lang), legend=legend, claim_colour=CLAIM_EDGE_COLOUR,
        statuses=STATUSES,
    )
