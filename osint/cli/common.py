"""What every command shares: settings, the store, the case, consoles and error handling."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import typer
from rich.console import Console

from ..config import Settings, load_settings
from ..errors import ExitStatus, OsintError

DEFAULT_CASE = "data/seeds.yaml"

# Logs and pipes get wide tables instead of rich's 80-column default; a terminal keeps its own width.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
out = Console(soft_wrap=True, width=_WIDTH, emoji=False)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH, emoji=False)


@dataclass
class _State:
    config_path: str | None = None
    store: str | None = None
    verbose: bool = False


state = _State()

CaseOption = typer.Option(DEFAULT_CASE, "--case", help="The case file (YAML).")


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """Turn our exceptions into a one-line message (per problem) and the right exit code."""
    try:
        yield
    except OsintError as exc:
        for line in str(exc).splitlines() or [exc.__class__.__name__]:
            err.print(f"error: {line}", markup=False, highlight=False)
        raise typer.Exit(int(exc.exit_status)) from None
    except KeyboardInterrupt:
        err.print("interrupted: everything answered so far is stored; run the same command again to resume",
                  markup=False)
        raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None


def settings() -> Settings:
    s = load_settings(state.config_path)
    if state.store:
        s = s.with_store(state.store)
    for w in s.warnings:
        err.print(f"warning: {w}", markup=False, highlight=False)
    logging.basicConfig(
        level=logging.INFO if state.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return s


def load(case_path: str):
    from ..case import load_case

    case = load_case(Path(case_path))
    for w in case.warnings:
        err.print(f"warning: {w}", markup=False, highlight=False)
    return case
