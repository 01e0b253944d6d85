"""The hand-off as Markdown, HTML or JSON, in Chinese or English."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from ..export.common import clean_text
from .i18n import messages
from .model import Handoff

FORMATS = ("md", "html", "json")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return _CONTROLS.sub("", clean_text(value))
    return "" if value is None else value


def _md(value: Any) -> str:
    """Text for one Markdown table cell or list item: one line, no pipe, no markup that runs."""
    text = re.sub(r"\s+", " ", _CONTROLS.sub("", clean_text(str(value)))).strip()
    return re.sub(r"([\\`*_|<>\[\]])", r"\\\1", text)


def _fence(value: Any) -> str:
    """A fenced block longer than any run of backticks inside it, so the text cannot close it."""
    text = _CONTROLS.sub("", clean_text(str(value)))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.strip()}\n{fence}"


@lru_cache(maxsize=2)
def _env(html: bool):
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("osint.handoff", "templates"), autoescape=html,
                      undefined=StrictUndefined, keep_trailing_newline=True, finalize=_finalize)
    env.filters["md"] = _md
    env.filters["fence"] = _fence
    env.filters["how"] = lambda key, m: m.get(f"how_{key}", key)
    # `command` spans of the words as code (HTML only; Markdown keeps its backticks)
    env.filters["code"] = (lambda text: Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))) if html \
        else (lambda text: text)
    return env


def render(handoff: Handoff, lang: str, fmt: str) -> str:
    """The hand-off document in `fmt` (md, html, json) and `lang` (zh, en)."""
    from ..errors import OsintError

    m = messages(lang)
    if fmt == "json":
        doc = {"lang": lang, **handoff.to_dict()}
        return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if fmt not in FORMATS:
        raise OsintError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    html = fmt == "html"
    template = _env(html).get_template("requests.html.j2" if html else "requests.md.j2")
    return template.render(d=handoff, m=m, lang=lang).rstrip("\n") + "\n"


def render_section(handoff: Handoff, lang: str) -> str:
    """The HTML section for the report (escaped; no script, no style of its own)."""
    return _env(True).get_template("section.html.j2").render(d=handoff, m=messages(lang), lang=lang)
