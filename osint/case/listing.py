"""Every item of a case, one row each, for `osint case check --all`: what a mistyped value looks like."""

from __future__ import annotations

from osint.case.model import Case

Table = tuple[str, list[str], list[list[str]]]


def _written(original: str | None, canonical: str) -> str:
    return original if original is not None and original != canonical else ""


def listing(case: Case) -> list[Table]:
    """(title, columns, rows) per kind: indicators, companies, incidents, claims, references."""
    tables: list[Table] = []
    rows = []
    for item in case.indicators():
        shown = item.display if item.display != item.value else ""
        rows.append([item.kind, item.value, _written(item.original, item.value), shown,
                     str(item.line or ""), item.source or "", item.standing.value if item.standing else ""])
    tables.append((f"{case.id}: indicators ({len(rows)})",
                   ["kind", "canonical", "as written", "shown as", "line", "source", "standing"], rows))
    for n, c in enumerate(case.companies, 1):
        d = c.decoded
        rep = c.legal_representative or ""
        if c.legal_representative_original and c.legal_representative_original != rep:
            rep += f" (written {c.legal_representative_original})"
        rows = [["name", c.name], ["credit code", c.uscc or "(none)"]]
        if d is not None:
            rows.append(["checks", "valid: both check characters agree" if d.valid else "; ".join(d.problems)])
            rows.append(["region (from the code)", " ".join(x for x in (
                d.division_code, d.province_name, d.city_name if d.city_name != d.province_name else None,
                d.division_name if d.division_name not in (d.city_name, d.province_name) else None) if x)])
            rows.append(["authority / kind", " / ".join(x for x in (d.authority, d.entity_kind) if x)])
            rows.append(["organization code", d.org_code_display])
        rows += [["legal representative", rep], ["address", c.address or ""],
                 ["status", c.status + (f" (written {c.status_as_written})" if c.status_as_written else "")],
                 ["line", str(c.line or "")], ["source", c.source], ["standing", c.standing.value]]
        tables.append((f"{case.id}: company {n} of {len(case.companies)}", ["field", "value"], rows))
    rows = [[i.id, i.time.isoformat() if i.time else (i.period or ""), i.kind, i.source, i.standing.value]
            for i in case.incidents]
    tables.append((f"{case.id}: incidents ({len(rows)})", ["id", "when", "kind", "source", "standing"], rows))
    rows = [[c.subject, c.relation.value, c.object, c.source, c.standing.value] for c in case.claims]
    tables.append((f"{case.id}: claims ({len(rows)})", ["subject", "relation", "object", "source", "standing"],
                   rows))
    rows = [[r.label, r.url, _written(r.original, r.url), r.source] for r in case.references]
    tables.append((f"{case.id}: references ({len(rows)})", ["label", "url", "as written", "source"], rows))
    return tables
