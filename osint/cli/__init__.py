"""The `osint` command line: thin commands over the library, rich output, our errors as exit codes."""

from __future__ import annotations

import typer

from .. import __version__
from . import case as case_cmd
from . import enrich as enrich_cmd
from . import evidence as evidence_cmd
from . import graph as graph_cmd
from . import report as report_cmd
from . import requests as requests_cmd
from . import sources as sources_cmd
from . import store as store_cmd
from . import worker as worker_cmd
from .common import state

app = typer.Typer(
    name="osint",
    help="Turn the indicators of a crypto-theft case into an evidence-backed infrastructure graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"osint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: str = typer.Option(None, "--config", help="Configuration file (default ./osint.toml, then the user config dir)."),
    store: str = typer.Option(None, "--store", help="Evidence store: a SQLite path or a database URL."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every question and its outcome."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    state.config_path = config
    state.store = store
    state.verbose = verbose


app.add_typer(case_cmd.app, name="case", help="Check and summarise a case file.")
app.add_typer(evidence_cmd.app, name="evidence", help="List, show and verify stored evidence.")
app.add_typer(enrich_cmd.import_app, name="import", help="Import evidence exported by other tools.")
app.command("enrich", help="Query every source about the case; store the answers.")(enrich_cmd.enrich)
app.command("worker", help="Ask the questions of shared runs (PostgreSQL store), beside other workers.")(
    worker_cmd.worker)
app.command("sources", help="List sources, endpoints, credentials and limits.")(sources_cmd.sources)
app.command("graph", help="Build the graph; export it (GEXF, STIX, MISP...).")(graph_cmd.graph)
app.command("attribute", help="Judge each claim of the case against the evidence.")(graph_cmd.attribute)
app.command("report", help="Write a self-contained HTML report (Chinese or English).")(report_cmd.report)
app.command("explain", help="Evidence paths between two nodes, by attribute's rules.")(graph_cmd.explain)
app.add_typer(store_cmd.app, name="store", help="Create or upgrade the evidence store's tables.")
app.command("requests", help="Who holds the records; draft requests (zh/en).")(
    requests_cmd.requests)


def main() -> None:
    app()
