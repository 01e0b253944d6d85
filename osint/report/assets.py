"""The graph library the report inlines: cytoscape.js, installed from the npm registry by `npm ci`.

We do not vendor it: package.json pins it, package-lock.json records its hash, and the report reads
the installed file. Where to look, in order: $OSINT_NODE_MODULES; the copy a built wheel carries
(osint/report/_npm/, put there from the npm registry by setup.py's build step, so an installed osint
works from any folder); ./node_modules and every parent folder's; then the node_modules beside this
package's source tree (an editable install).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import OsintError

PACKAGE = "cytoscape"
BUNDLE = Path("dist") / "cytoscape.min.js"
_SCRIPT_END = re.compile(r"</(script)", re.I)


class AssetError(OsintError):
    """The report's graph library is not installed."""


@dataclass(frozen=True)
class GraphLibrary:
    name: str
    version: str
    license: str
    source: str  # the script, safe to inline in <script>


def _candidates() -> list[Path]:
    found = []
    env = os.environ.get("OSINT_NODE_MODULES")
    if env:
        found.append(Path(env))
    found.append(Path(__file__).resolve().parent / "_npm")  # in a built wheel only
    here = Path.cwd().resolve()
    found += [p / "node_modules" for p in (here, *here.parents)]
    found.append(Path(__file__).resolve().parents[2] / "node_modules")
    return found


def graph_library() -> GraphLibrary:
    """Read the installed cytoscape.js; a clear error saying how to install it if it is missing."""
    tried = []
    for modules in _candidates():
        package = modules / PACKAGE
        bundle = package / BUNDLE
        tried.append(str(modules))
        if not bundle.is_file():
            continue
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
        source = bundle.read_text(encoding="utf-8")
        # '</script' anywhere in the library would end the inline script early; inside JS strings
        # and regexes '<\/script' means the same.
        source = _SCRIPT_END.sub(r"<\\/\1", source)
        return GraphLibrary(PACKAGE, str(meta.get("version", "?")), str(meta.get("license", "?")), source)
    raise AssetError(f"the report's graph library ({PACKAGE}) is not installed: install osint from a wheel "
                     f"(`pipx install .` or `pip install .` carry it), run `npm ci` in the osint folder, or set "
                     f"OSINT_NODE_MODULES to a node_modules folder holding it (looked in {tried[0]} and "
                     f"{len(tried) - 1} more)")
