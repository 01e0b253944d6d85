"""A case file's YAML, read with the line of every path in it, so each problem can say where it is.

A file that cannot be read as YAML at all is a CaseError here, with its line where YAML gives one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from osint.case.model import CaseError, Problem

Loc = tuple[str | int, ...]


class _CaseLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date that does not exist (2023-02-30) is a marked
    error with its line, not a bare ValueError from datetime."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date or time ({exc})", node.start_mark) from None


_CaseLoader.add_constructor("tag:yaml.org,2002:timestamp", _CaseLoader.construct_yaml_timestamp)


def parse_yaml(text: str) -> tuple[Any, dict[Loc, int], list[tuple[Loc, int, int]]]:
    """The document, the line of every path in it, and duplicate keys (path, line, first line).

    Raises yaml.MarkedYAMLError on a syntax error or an impossible date, RecursionError on
    nesting deeper than the parser recurses.
    """
    loader = _CaseLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    dups: list[tuple[Loc, int, int]] = []
    if node is not None:
        _walk(node, (), lines, dups, {})
    return data, lines, dups


# A node met again through an alias is walked again (its paths need lines). Nine aliases of nine
# aliases of ... (a "billion laughs") would have the walk, and everything after it, run for hours
# on a file of a few hundred bytes; real case files repeat a node a few times, if at all.
MAX_ALIAS_REPEATS = 10_000


def _walk(node: yaml.Node, path: Loc, lines: dict[Loc, int], dups: list, seen: dict[int, int]) -> None:
    if id(node) in seen:
        seen[0] = seen.get(0, 0) + 1  # key 0: repeats so far (no node lives at address 0)
        if seen[0] > MAX_ALIAS_REPEATS:
            raise yaml.composer.ComposerError(
                None, None, f"aliases repeat values more than {MAX_ALIAS_REPEATS} times; write them out instead",
                node.start_mark)
    seen[id(node)] = 1
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in first:
                dups.append((path + (key,), line, first[key]))
                continue
            first[key] = line
            lines[path + (key,)] = line  # a key's own line, even when its value starts below
            _walk(value_node, path + (key,), lines, dups, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), lines, dups, seen)


def dotted(path: Loc) -> str:
    """('servers', 'ips', 3) -> 'servers.ips[3]'; a key with line breaks or other unprintable
    characters is shown quoted and escaped, so that a problem stays on one line."""
    out = ""
    for part in path:
        if not isinstance(part, int):
            part = part if isinstance(part, str) and part.isprintable() else repr(part)
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def read_yaml(path: Path) -> tuple[str, Any, dict[Loc, int], list[tuple[Loc, int, int]]]:
    """(file name as shown in problems, document, lines, duplicate keys) of the case file at path.

    Raises CaseError with one problem when the file cannot be read or is not YAML.
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError([Problem(file=file, line=None, field="(file)",
                                 message=f"cannot read the case file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(file=file, line=None, field="(file)",
                                 message=f"is not UTF-8 text ({exc.reason})")]) from None
    try:
        raw, lines, dups = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        words = " ".join(w for w in (exc.context, exc.problem) if w)
        raise CaseError([Problem(file=file, line=mark.line + 1 if mark else None, field="(yaml)",
                                 message=f"YAML syntax error: {words}")]) from None
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise CaseError([Problem(file=file, line=text.count("\n", 0, exc.position) + 1, field="(yaml)",
                                 message=f"YAML does not allow the character U+{ord(char):04X}; "
                                         "remove it")]) from None
    except RecursionError:
        raise CaseError([Problem(file=file, line=None, field="(yaml)",
                                 message="YAML nested too deeply to read")]) from None
    except yaml.YAMLError as exc:
        raise CaseError([Problem(file=file, line=None, field="(yaml)",
                                 message=f"YAML error: {exc}")]) from None
    return file, raw, lines, dups
