"""Layers point down: no module of osint imports from a layer above its own (docs/CONTRACTS.md, "Layers")."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "osint"

# Bottom to top, as docs/CONTRACTS.md states them. A module may import from its own layer and any below.
# Modules are matched by their longest listed prefix; "osint" itself (the version) only by name, so that a new
# top-level module has to be placed.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("osint", "osint.errors", "osint.common", "osint.textnorm", "osint.config", "osint.vocabulary")),
    ("case", ("osint.case",)),
    ("transport and store", ("osint.transport", "osint.store", "osint.facts")),
    ("sources", ("osint.sources",)),
    ("engine", ("osint.engine",)),
    ("importers", ("osint.importers",)),
    ("graph", ("osint.graph",)),
    ("exporters", ("osint.export",)),
    ("report, hand-off and bundle", ("osint.report", "osint.handoff", "osint.bundle")),
    ("cli", ("osint.cli", "osint.__main__")),
]


def layer_of(module: str) -> int:
    """The index of the layer a dotted module name belongs to (its longest listed prefix)."""
    best, found = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            below = module.startswith(prefix + ".") and prefix != "osint"
            if (module == prefix or below) and len(prefix) > best:
                best, found = len(prefix), index
    if found is None:
        raise LookupError(f"{module} is in no layer: add it to LAYERS and to docs/CONTRACTS.md")
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, dotted target) of every import of osint in the file, those inside functions too."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "osint"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "osint":
                continue
            for alias in node.names:
                # `from osint.graph import attribute` imports a module of the graph layer, `from .. import cli`
                # a package: name the thing imported when it is a module or package of ours.
                sub = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                    (PACKAGE.parent / Path(*sub.split("."))).is_dir()
                found.append((node.lineno, sub if is_module else target))
    return found


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        for line, target in imported(path):
            theirs = layer_of(target)
            if theirs > own:
                problems.append(f"{module} (layer {LAYERS[own][0]}) imports {target} (layer {LAYERS[theirs][0]}) "
                                f"at {path.relative_to(PACKAGE.parent)}:{line}")
    return problems


def test_no_module_imports_from_a_layer_above_its_own():
    problems = upward_imports()
    assert not problems, "imports that point up:\n" + "\n".join(problems)


def test_every_module_is_in_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))  # raises, naming the module, when a new package is in no layer


def test_an_upward_import_is_named(tmp_path, monkeypatch):
    """The check sees an import inside a function and names both ends of it."""
    store = tmp_path / "osint" / "store"
    store.mkdir(parents=True)
    (tmp_path / "osint" / "__init__.py").write_text("")
    (store / "__init__.py").write_text("")
    (tmp_path / "osint" / "graph").mkdir()
    (tmp_path / "osint" / "graph" / "__init__.py").write_text("def build_graph(): pass\n")
    (store / "keep.py").write_text("def bundle():\n    from ..graph import build_graph\n    return build_graph\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "osint")
    problems = upward_imports()
    assert problems == ["osint.store.keep (layer transport and store) imports osint.graph (layer graph) "
                        "at osint/store/keep.py:2"]


def test_the_contract_lists_the_same_layers():
    text = (PACKAGE.parent / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    for name, prefixes in LAYERS:
        assert name in section, name
        for prefix in prefixes:
            assert f"`{prefix}`" in section, prefix

