"""`osint case check`: load, validate and summarise a case file."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import CaseOption, errors, load, out

app = typer.Typer(no_args_is_help=True)


@app.command("check", help="Validate a case file and print a summary per entity kind (exit 2 on any problem).")
def check(case: str = CaseOption) -> None:
    from ..case import summary

    with errors():
        c = load(case)
    table = Table(title=f"{c.id}: {c.title}")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("examples", overflow="fold")
    for kind, count, examples in summary(c):
        table.add_row(kind, str(count), ", ".join(examples))
    out.print(table)
    out.print(f"{case}: ok", markup=False, highlight=False)
