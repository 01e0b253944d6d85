"""Our exception types and the exit codes the CLI maps them to."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    PARTIAL = 1  # the run finished but some questions went unanswered
    BAD_INPUT = 2  # bad case file, bad configuration, bad arguments
    INTERRUPTED = 130


class OsintError(Exception):
    """Something went wrong in osint."""

    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, message: str | None = None):
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(OsintError):
    """The configuration is invalid."""


class StoreError(OsintError):
    """The evidence store cannot be used."""


class OutputError(OsintError):
    """An output file (export, report, bundle) cannot be written."""


class ParseError(Exception):
    """The answer could not be read into facts."""
