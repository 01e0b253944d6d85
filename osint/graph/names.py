"""Evidence that names the brand or a company: `names` edges, derived when the graph is built.

A claim that a website is LabBot's is a question; a page on it whose title says "LabBot", a
certificate whose subject is "O=LabBot Ltd", a WHOIS registrant "LabBot Technology" or a banner
titled "LabBot API" answers it. The text comes from stored answers (a node attribute a parse set, a
mention's context on a page, an organisation's name), so each edge names the observations whose
text matched, the field and the words matched.

What counts as naming (kept strict, since a false `names` is a false link):
- the brand's name, Chinese name and aliases from the case file; Latin names as whole words, case
  folded, never inside a host name, e-mail address or URL (a domain's own name saying "antbot"
  proves nothing about who runs it); Chinese names of three characters or more anywhere in the
  text, shorter ones only as the whole field (小蚁 is an everyday word);
- a company's registered Chinese name, or its credit code (USCC); names written in pinyin or
  English are compared with the company's by cn-registry (`similar_name`), not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx

from ..case.model import Case
from ..facts import split_node_id
from ..textnorm import fold_cjk, is_han
from ..vocabulary import brand_id, company_id
from . import provenance
from .provenance import observation_ids

# Node attributes whose text says who runs something (any source that sets one takes part).
NAME_FIELDS = frozenset({"title", "http_title", "site_name", "description", "copyright", "subject",
                         "organization", "developer", "app_name", "channel_title", "banner", "author"})
FIELD_CONFIDENCE = {"context": 0.6, "description": 0.6, "banner": 0.6}  # running text; the rest: a label
LABEL_CONFIDENCE = 0.8
MIN_LATIN = 3
MIN_HAN_ANYWHERE = 3
CONTEXT_CHARS = 160
# Host names, e-mail addresses and URLs inside text: a brand word there is part of a name, not a statement.
_NAMEISH = re.compile(r"(?:[a-z][a-z0-9+.-]*://\S+)|(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+)|(?:\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b)",
                      re.I)
_CN_PART = re.compile(r"(?:^|,\s*)CN=[^,]*", re.I)


@dataclass
class Text:
    """One piece of stored text about a node: which answer said it."""

    node: str
    field: str
    text: str
    obs_id: int
    source: str
    observed_at: str


@dataclass
class _Match:
    evidence: set[int] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    matched: str = ""
    context: str = ""
    confidence: float = 0.0
    observed_at: str = ""


class Namer:
    """The case's brands and companies, and a function from text to the ones it names."""

    def __init__(self, case: Case):
        self.latin: list[tuple[re.Pattern[str], str, str]] = []  # (pattern, target node, name)
        self.han_anywhere: list[tuple[str, str]] = []
        self.han_whole: list[tuple[str, str]] = []
        self.companies: list[tuple[str, str]] = []  # (folded Chinese name, node)
        for brand in case.brands:
            names = [brand.name, brand.name_zh, *brand.aliases]
            node = brand_id(brand.id)
            for name in dict.fromkeys(n.strip() for n in names if n and n.strip()):
                self._add(name, node)
        for co in case.companies:
            node = company_id(co.uscc or co.name)
            if co.name and any(is_han(ch) for ch in co.name):
                self.companies.append((fold_cjk(co.name), node))
            if co.uscc:
                self.latin.append((re.compile(rf"(?<![0-9A-Z]){re.escape(co.uscc)}(?![0-9A-Z])"), node, co.uscc))

    def _add(self, name: str, node: str) -> None:
        if any(is_han(ch) for ch in name):
            (self.han_anywhere if len(name) >= MIN_HAN_ANYWHERE else self.han_whole).append((fold_cjk(name), node))
        elif len(name) >= MIN_LATIN:
            self.latin.append((re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", re.I), node, name))

    def __bool__(self) -> bool:
        return bool(self.latin or self.han_anywhere or self.han_whole or self.companies)

    def named(self, text: str) -> list[tuple[str, str, str]]:
        """(target node, words matched, context) for every brand or company the text names."""
        found: dict[str, tuple[str, str]] = {}
        plain = _NAMEISH.sub(" ", text)
        for pattern, node, _ in self.latin:
            m = pattern.search(plain)
            if m and node not in found:
                found[node] = (m.group(0), _around(plain, m.start(), m.end()))
        folded = fold_cjk(text)
        for name, node in self.companies:
            i = folded.find(name)
            if i >= 0 and node not in found:
                found[node] = (text[i:i + len(name)], _around(text, i, i + len(name)))
            # A company's name that holds the brand's (深圳实验蚁…公司 and 实验蚁) names the company only.
            folded = folded.replace(name, " " * len(name))
        for name, node in self.han_anywhere:
            i = folded.find(name)
            if i >= 0 and node not in found:
                found[node] = (text[i:i + len(name)], _around(text, i, i + len(name)))
        stripped = folded.strip()
        for name, node in self.han_whole:
            if stripped == name and node not in found:
                found[node] = (text.strip(), text.strip())
        return [(node, words, ctx) for node, (words, ctx) in sorted(found.items())]


def _around(text: str, start: int, end: int) -> str:
    pad = max(0, (CONTEXT_CHARS - (end - start)) // 2)
    snippet = text[max(0, start - pad):end + pad]
    return " ".join(snippet.split())


def texts_of(obs_id: int, source: str, observed_at: str, parsed: dict[str, Any]) -> Iterable[Text]:
    """The text of one parsed answer that may name someone: name fields of its nodes, the
    organisations it names, the context of its mentions."""
    for nid, attrs in (parsed.get("nodes") or {}).items():
        for k, v in (attrs or {}).items():
            if k in NAME_FIELDS and isinstance(v, str) and v.strip():
                yield Text(str(nid), k, _CN_PART.sub("", v) if k == "subject" else v, obs_id, source, observed_at)
    for raw in parsed.get("facts") or ():
        if not isinstance(raw, dict):
            continue
        for end in (raw.get("s"), raw.get("o")):
            kind, value = split_node_id(str(end or ""))
            if kind in ("org", "copyright", "page_title") and value.strip():  # nodes whose id is the text
                yield Text(str(end), "name" if kind == "org" else kind, value, obs_id, source, observed_at)
        ctx = (raw.get("a") or {}).get("context") if isinstance(raw.get("a"), dict) else None
        if raw.get("r") == "mentions" and isinstance(ctx, str) and ctx.strip():
            yield Text(str(raw.get("s")), "context", ctx, obs_id, source, observed_at)


def derive_names(g: nx.MultiDiGraph, case: Case, texts: Iterable[Text]) -> int:
    """Add a `names` edge from each node whose stored text names a brand or company of the case.
    Returns how many edges were added."""
    namer = Namer(case)
    if not namer:
        return 0
    found: dict[tuple[str, str], _Match] = {}
    for t in texts:
        if t.node not in g or g.nodes[t.node].get("privacy_service") is True:
            continue
        for target, words, ctx in namer.named(t.text):
            if target not in g or target == t.node:
                continue
            if t.node.startswith("org:") and target.startswith("company:"):
                continue  # an organisation's name against a company's is cn-registry's similar_name, with its score
            m = found.setdefault((t.node, target), _Match())
            m.evidence.add(t.obs_id)
            m.sources.add(t.source)
            m.fields.add(t.field)
            m.observed_at = max(m.observed_at, t.observed_at)
            c = FIELD_CONFIDENCE.get(t.field, LABEL_CONFIDENCE)
            if c > m.confidence or not m.matched:
                m.matched, m.context, m.confidence = words, ctx, max(c, m.confidence)
    for (node, target), m in sorted(found.items()):
        g.add_edge(node, target, key="names", kind="names", claim=False, derived=True,
                   evidence=observation_ids(m.evidence), sources=provenance.names(m.sources),
                   confidence=m.confidence, matched=m.matched, context=m.context, field=",".join(sorted(m.fields)),
                   observed_at=m.observed_at)
    return len(found)
