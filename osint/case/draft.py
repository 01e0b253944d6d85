"""Draft a case file from a complaint's text: every indicator found, with where it was written.

The draft is a starting point for the investigator, not a verdict: each item names the section heading and line
it came from, carries the default standing "alleged by the victim", and a comment says where the drafter guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from osint.case.complaint import Item, guess_brand, html_to_text, read_complaint
from osint.case.model import Standing

__all__ = ["Draft", "draft_case", "html_to_text"]

DEFAULT_STANDING = Standing.ALLEGED.value


@dataclass
class Draft:
    text: str  # the YAML
    counts: dict[str, int]


def draft_case(text: str, doc_name: str, *, brand: str | None = None, case_id: str | None = None) -> Draft:
    """A case file (YAML text, with comments) holding every indicator found in a complaint's text."""
    found = read_complaint(text)
    doc = found.doc
    ips, domains, emails, accounts = found.ips, found.domains, found.emails, found.accounts
    seeds, references, companies, extras = found.seeds, found.references, found.companies, found.extras
    brand_name = brand or guess_brand(doc)
    brand_id = re.sub(r"[^a-z0-9._-]+", "-", brand_name.lower()).strip("-._") or "brand"
    if not re.match(r"^[a-z0-9]", brand_id):
        brand_id = "b-" + brand_id
    cid = case_id or re.sub(r"[^a-z0-9._-]+", "-", Path(doc_name).stem.lower()).strip("-._") or "case"

    w = _Writer(doc_name)
    title = doc.headings[0] if doc.headings else Path(doc_name).stem
    w.comment(f"Draft case file written by `osint case new --from {doc_name}`.")
    w.comment("Every item names the section heading and line of the text it comes from. The standing is the")
    w.comment(f"default, {DEFAULT_STANDING!r}: change it where the text says otherwise ('suspected', 'from the")
    w.comment("public company registry', 'stated by the victim'). Lines marked 'unsure:' are the drafter's guesses.")
    w.blank()
    w.raw("case:")
    w.kv(1, "id", cid)
    w.kv(1, "title", title)
    w.kv(1, "source", f"{doc_name}")
    incident = found.incident
    if incident:
        w.blank()
        w.raw("incidents:")
        time, place, unsure = incident
        for note in unsure:
            w.comment("unsure: " + note, 1)
        w.raw(f"  - time: {time}")
        w.kv(2, "kind", "(describe the incident)")
        w.kv(2, "source", place.source(w.doc))
        w.kv(2, "standing", DEFAULT_STANDING)
    w.blank()
    w.raw("brands:")
    if not brand:
        w.comment(f"unsure: the brand's name is guessed from the headings ({brand_name!r}); use --brand NAME", 1)
    w.raw(f"  - id: {_q(brand_id)}")
    w.kv(2, "name", brand_name)
    if domains:
        w.raw("    websites:")
        for key, item in domains.items():
            w.entry(3, "domain", item)
    if emails:
        w.raw("    emails:")
        for key, item in emails.items():
            w.entry(3, "email", item)
    if accounts:
        w.raw("    accounts:")
        for key, item in accounts.items():
            w.raw(f"      - platform: {item.extra['platform']}")
            if "name" in item.extra:
                w.kv(4, "name", item.extra["name"])
            else:
                w.kv(4, "url", item.value)
            if item.label:
                w.kv(4, "label", item.label)
            w.kv(4, "source", w.sources(item))
    w.kv(2, "source", w.sources(next(iter([*domains.values(), *emails.values(), *accounts.values()]), None))
         or f"{doc_name}")
    w.kv(2, "standing", DEFAULT_STANDING)
    if ips:
        w.blank()
        w.raw("servers:")
        first = next(iter(ips.values()))
        heading = doc.heading_text[first.places[0].line - 1]
        w.raw("  claim:")
        w.kv(2, "relation", "alleged_server_of")
        w.kv(2, "brand", brand_id)
        if heading:
            w.kv(2, "quote", heading)
        w.kv(1, "source", w.sources(first))
        w.kv(1, "standing", DEFAULT_STANDING)
        w.raw("  ips:")
        for item in ips.values():
            places = {p.section for p in item.places}
            if places != {p.section for p in first.places}:
                w.raw(f"    - ip: {_q(item.value)}")
                w.kv(3, "source", w.sources(item))
            else:
                w.raw(f"    - {_q(item.value)}")
    if companies:
        w.blank()
        w.raw("companies:")
        for c in companies:
            for note in c.unsure:
                w.comment("unsure: " + note, 1)
            w.raw(f"  - name: {_q(c.value)}")
            for key in ("uscc", "legal_representative", "address", "status", "status_as_written", "founded",
                        "deregistered", "abnormal_operations"):
                if c.extra.get(key) is not None:
                    w.kv(2, key, c.extra[key])
            w.kv(2, "source", w.sources(c))
            w.kv(2, "standing", DEFAULT_STANDING)
            w.raw("    claim:")
            w.kv(3, "relation", "suspected_operator_of")
            w.kv(3, "brand", brand_id)
            w.kv(3, "standing", c.extra.get("_claim_standing", DEFAULT_STANDING))
            if c.extra.get("_quote"):
                w.kv(3, "quote", c.extra["_quote"])
    if references:
        w.blank()
        w.raw("references:")
        for item in references.values():
            for note in item.unsure:
                w.comment("unsure: " + note, 1)
            w.kv(1, "- label", item.label or item.value)
            w.kv(2, "url", item.value)
            w.kv(2, "source", w.sources(item))
    if seeds:
        w.blank()
        w.raw("seed_urls:")
        for item in seeds.values():
            w.kv(1, "- url", item.value)
            if item.label:
                w.kv(2, "label", item.label)
            w.kv(2, "source", w.sources(item))
            w.kv(2, "standing", DEFAULT_STANDING)
    if extras:
        w.blank()
        w.comment("Found in the text, with no section in a case file yet (kept here so they are not lost):")
        for kind, value, place in extras:
            w.comment(f"  {kind}: {value}  ({place.source(doc_name)})")
    counts = {"ip": len(ips), "domain": len(domains), "email": len(emails), "url": len(seeds),
              "account": len(accounts), "company": len(companies), "reference": len(references),
              "incident": 1 if incident else 0, "other": len(extras)}
    return Draft("\n".join(w.lines) + "\n", counts)


def _q(value) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML and keep every character as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.@/-]*", text) and text.lower() not in (
            "true", "false", "yes", "no", "on", "off", "null", "y", "n") and not re.fullmatch(r"[\d.]+", text):
        return text
    return json.dumps(text, ensure_ascii=False)


class _Writer:
    def __init__(self, doc: str):
        self.doc = doc
        self.lines: list[str] = []

    def raw(self, line: str) -> None:
        self.lines.append(line)

    def blank(self) -> None:
        self.lines.append("")

    def comment(self, text: str, level: int = 0) -> None:
        self.lines.append("  " * level + "# " + " ".join(text.split()))

    def kv(self, level: int, key: str, value) -> None:
        self.lines.append(f"{'  ' * level}{key}: {_q(value)}")

    def sources(self, item: Item | None) -> str | None:
        if item is None:
            return None
        return "; ".join(p.source(self.doc) for p in item.places)

    def entry(self, level: int, key: str, item: Item) -> None:
        self.lines.append(f"{'  ' * level}- {key}: {_q(item.value)}")
        self.kv(level + 1, "source", self.sources(item))
