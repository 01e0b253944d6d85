"""`osint enrich` and `osint import`: collect evidence, with progress and a closing table."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..engine.run import Enricher, RunReport
from ..store import open_store
from .common import CaseOption, err, errors, load, out, settings

import_app = typer.Typer(no_args_is_help=True)


def enrich(
    case: str = CaseOption,
    sources: str = typer.Option(None, "--sources", help="Comma-separated sources to ask (default: all enabled)."),
    depth: int = typer.Option(None, "--depth", help="How many hops to follow from the case's indicators (default 1)."),
    refresh: bool = typer.Option(False, "--refresh", help="Ask again even where a fresh stored answer exists."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network; use stored answers only."),
    concurrency: int = typer.Option(None, "--concurrency", help="Most questions in flight per source."),
) -> None:
    """Exit 0 when every question was answered, 1 when the run was partial, 2 for bad input."""
    with errors():
        s = settings()
        c = load(case)
        names = [n.strip() for n in sources.split(",") if n.strip()] if sources else None
        store = open_store(s.store)
        progress = _Progress()
        engine = Enricher
        if store.dialect == "postgresql":  # a shared run: `osint worker` on other machines can help
            from ..engine.team import SharedEnricher as engine
        enricher = engine(s, c, store, sources=names, depth=depth, refresh=refresh, offline=offline,
                            concurrency=concurrency, on_event=progress.event, command=" ".join(sys.argv[1:]) or "enrich")
        for name, why in enricher.report.skipped_sources.items():
            err.print(f"notice: {name}: {why}", markup=False, highlight=False)
        with progress:
            report = enricher.run()
        store.close()
    _print_report(report, store.shown)
    raise typer.Exit(int(report.exit_status))


class _Progress:
    """A bar per source on a terminal; plain lines otherwise (CI logs, pipes)."""

    def __init__(self):
        self.live = err.is_terminal
        self.bars: dict[str, int] = {}
        self.progress = Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]:>6.1f}/s"), TimeRemainingColumn(),
                                 console=err, disable=not self.live)
        self.done: dict[str, int] = {}
        self.total: dict[str, int] = {}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def event(self, e: dict) -> None:
        name = e["source"]
        if e["type"] == "planned":
            self.total[name] = e["total"]
            if name not in self.bars:
                self.bars[name] = self.progress.add_task(name, total=e["total"], rate=0.0)
            self.progress.update(self.bars[name], total=e["total"])
            if not self.live:
                err.print(f"{name}: {e['total']} questions planned", markup=False, highlight=False)
        elif e["type"] == "done":
            self.done[name] = self.done.get(name, 0) + 1
            task = self.bars.get(name)
            if task is not None:
                t = self.progress.tasks[task]
                rate = self.done[name] / t.elapsed if t.elapsed else 0.0
                self.progress.update(task, advance=1, rate=rate)
            if not self.live and self.done[name] % 50 == 0:
                err.print(f"{name}: {self.done[name]}/{self.total.get(name, '?')} done", markup=False)


def _print_report(report: RunReport, store: str) -> None:
    table = Table(title=f"enrichment run {report.run_id}")
    for col in ("source", "asked", "answered", "from cache", "no record", "failed", "unparsed"):
        table.add_column(col, justify="right" if col != "failed" and col != "source" else "left")
    for name, st in report.stats.items():
        failed = ", ".join(f"{k} {v}" for k, v in sorted(st.failed.items()))
        if st.not_asked:
            failed = ", ".join(x for x in (failed, f"not asked (offline) {st.not_asked}") if x)
        table.add_row(name, str(st.asked), str(st.answered), str(st.cached), str(st.no_record), failed or "-",
                      str(st.parse_failed))
    for name in report.skipped_sources:
        table.add_row(name, "-", "-", "-", "-", "skipped (see notice above)", "-")
    out.print(table)
    for name, st in report.stats.items():
        # One line per kind of failure, so a rejected key or a dead server is said in words.
        for outcome, message in sorted(st.first_error.items()):
            more = f" (and {st.failed[outcome] - 1} more like it)" if st.failed[outcome] > 1 else ""
            err.print(f"{name}: {outcome}: {message}{more}", markup=False, highlight=False)
    extra = []
    if report.shared_infrastructure:
        extra.append(f"shared infrastructure recorded, not expanded: {', '.join(report.shared_infrastructure[:10])}")
    if report.leads_dropped:
        extra.append(f"{report.leads_dropped} new indicators beyond the per-pivot limit were not followed")
    for line in extra:
        out.print(line, markup=False, highlight=False)
    status = "complete" if report.complete else "partial: some questions went unanswered (see 'failed')"
    out.print(f"{report.nodes} indicators, depth {report.depth_reached}, {report.duration_s:.1f}s; "
              f"evidence in {store}; run {status}", markup=False, highlight=False)


@import_app.command("pdns", help="Import passive DNS records (COF NDJSON or CSV) as evidence.")
def import_pdns(path: Path = typer.Argument(..., help="The exported file (.ndjson/.jsonl/.json or .csv).")) -> None:
    from ..importers.pdns import import_pdns_file

    with errors():
        s = settings()
        store = open_store(s.store)
        records, obs = import_pdns_file(path, store, run_id="import")
        store.close()
    out.print(f"{path}: {records} passive DNS records imported as observation ev{obs}", markup=False)


@import_app.command("icp", help="Import ICP filing records exported from beian.miit.gov.cn (CSV or JSON).")
def import_icp(path: Path = typer.Argument(..., help="The exported file (.csv or .json) with the columns "
                                                     "主办单位名称, 主办单位性质, 网站备案号, 网站名称, 网站首页网址 (or 域名), 审核日期."),
               case: str = CaseOption) -> None:
    from ..importers.icp import import_icp_file

    with errors():
        s = settings()
        c = load(case) if Path(case).exists() else None
        store = open_store(s.store)
        try:
            records, obs = import_icp_file(path, store, run_id="import", case=c, enrich=s.enrich)
        finally:
            store.close()
    out.print(f"{path}: {records} ICP filing records imported ({obs} observations, the file and the "
              "filers' name matches)", markup=False)
@import_app.command("apk", help="Import an Android APK you downloaded: kept whole, read for its signer and hosts.")
def import_apk(path: Path = typer.Argument(..., help="The APK file (the tool never downloads one itself)."),
               case: str = CaseOption) -> None:
    from ..importers.apk import import_apk_file

    with errors():
        s = settings()
        c = load(case) if Path(case).exists() else None  # org names are matched to its companies
        store = open_store(s.store)
        try:
            reading, oid, orgs = import_apk_file(path, store, run_id="import", case=c, enrich=s.enrich)
        finally:
            store.close()
    signers = "; ".join(cert.get("subject") or cert["sha256"] for cert in reading.certificates) or "unsigned"
    hosts = sum(len(v) for v in reading.strings.values())
    out.print(f"{path}: {reading.package} {reading.version_name or ''} ({reading.app_name or 'no label'}) imported "
              f"as observation ev{oid}; signed by: {signers}; {hosts} strings with hosts, addresses or e-mails",
              markup=False, highlight=False)
