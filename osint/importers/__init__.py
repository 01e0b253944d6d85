"""Importers: evidence that arrives as files (exports from other tools) rather than from the network."""

from __future__ import annotations

from pathlib import Path

from ..errors import OsintError


def export_bytes(path: Path, what: str, empty: type[OsintError]) -> bytes:
    """The exported file's bytes. One line naming the file when it cannot be read (OsintError) or holds
    nothing (`empty`, the importer's own format error); nothing is stored either way."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OsintError(f"{path}: cannot read the file: {exc.strerror}") from None
    if not raw.strip():
        raise empty(f"{path}: no {what} in the file (it is empty)")
    return raw
