"""`osint case check` and `osint case new`: load, validate and summarise a case file; draft one from a complaint."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..errors import OsintError
from .common import CaseOption, err, errors, load, out

app = typer.Typer(no_args_is_help=True)
_WHOLE = ("kind", "canonical", "as written", "credit code", "url")


class DraftError(OsintError):
    """The complaint cannot be read or the draft cannot be written."""


@app.command("check", help="Validate a case file and print a summary per entity kind (exit 2 on any problem).")
def check(case: str = CaseOption,
          all_items: bool = typer.Option(False, "--all", help="List every item: canonical form, spelling as "
                                         "written, source and standing; companies with their credit code checks, "
                                         "region and registration authority.")) -> None:
    from ..case import summary

    with errors():
        c = load(case)
    if all_items:
        from ..case.listing import listing

        for title, columns, rows in listing(c):
            table = Table(title=title)
            for col in columns:  # identifiers whole on one line, so they can be searched and copied
                table.add_column(col, overflow="fold", no_wrap=col in _WHOLE)
            for row in rows:
                table.add_row(*row)
            out.print(table)
    else:
        table = Table(title=f"{c.id}: {c.title}")
        table.add_column("kind")
        table.add_column("count", justify="right")
        table.add_column("examples", overflow="fold")
        for kind, count, examples in summary(c):
            table.add_row(kind, str(count), ", ".join(examples))
        out.print(table)
    out.print(f"{case}: ok", markup=False, highlight=False)


@app.command("new", help="Draft a case file from a complaint (text, Markdown or HTML): every indicator found, "
                         "with the section and line it came from.")
def new(source: Path = typer.Option(..., "--from", help="The complaint: a text, Markdown or HTML file."),
        out_path: Path = typer.Option(None, "--out", help="Where to write the draft (default data/cases/<name>.yaml; "
                                      "never overwritten)."),
        brand: str = typer.Option(None, "--brand", help="The brand (service) the complaint is about; guessed from "
                                  "the headings when not given."),
        case_id: str = typer.Option(None, "--id", help="The case id (default: from the file name).")) -> None:
    from ..case import load_case
    from ..case.draft import draft_case, html_to_text

    with errors():
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise DraftError(f"{source}: cannot read the complaint: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DraftError(f"{source}: is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if source.suffix.lower() in (".html", ".htm") or text.lstrip()[:15].lower().startswith(("<!doctype html",
                                                                                                  "<html")):
            text = html_to_text(text)
        draft = draft_case(text.replace("\r\n", "\n").replace("\r", "\n"), source.name, brand=brand,
                           case_id=case_id)
        target = out_path or Path("data/cases") / f"{source.stem}.yaml"
        if target.exists():
            raise DraftError(f"{target}: exists; a draft never overwrites a case file (give another --out)")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8") as fh:
                fh.write(draft.text)
        except OSError as exc:
            raise DraftError(f"{target}: cannot write the draft: {exc.strerror or exc}") from None
        case = load_case(target)  # the same checks and warnings as `osint case check`
    for w in case.warnings:
        err.print(f"warning: {w}", markup=False, highlight=False)
    found = ", ".join(f"{n} {kind}" for kind, n in draft.counts.items() if n)
    out.print(f"{target}: draft written ({found}); review the 'unsure:' comments, then run "
              f"`osint case check --all --case {target}`", markup=False, highlight=False)
