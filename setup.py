"""The wheel's build step: carry the report's graph library (cytoscape.js) from the npm registry.

The report inlines cytoscape.js. We do not commit a copy of it: package.json pins it and package-lock.json
records its hash. When a wheel is built (`pip install .`, `pipx install .`, `python -m build`), this step
puts the pinned release into the wheel as package data (osint/report/_npm/cytoscape/), so an installed
osint writes reports from any folder, with no source tree and no node_modules:

1. node_modules/cytoscape of this tree, when `npm ci` has installed the pinned version (npm checked its
   hash), or else
2. the release tarball fetched with `npm pack cytoscape@<version>` and checked against package-lock.json's
   sha512 before anything is taken from it.

Editable installs skip the step: they read node_modules beside the source, as before.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = "cytoscape"
FILES = ("dist/cytoscape.min.js", "package.json", "LICENSE")
TARGET = Path("osint") / "report" / "_npm" / PACKAGE


class BuildError(RuntimeError):
    pass


def pinned() -> tuple[str, str]:
    """(version, sha512 integrity) of cytoscape in package-lock.json."""
    lock = json.loads((HERE / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"][f"node_modules/{PACKAGE}"]
    return entry["version"], entry["integrity"]


def from_node_modules(version: str) -> dict[str, bytes] | None:
    package = HERE / "node_modules" / PACKAGE
    try:
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("version") != version:
        return None  # an older `npm ci`: take the pinned release from the registry instead
    try:
        return {name: (package / name).read_bytes() for name in FILES}
    except OSError:
        return None


def from_registry(version: str, integrity: str) -> dict[str, bytes]:
    algo, _, expected = integrity.partition("-")
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(f"building osint needs {PACKAGE} {version} for the report: install npm (it fetches the "
                         f"pinned release from the npm registry), or run `npm ci` in {HERE} first")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([npm, "pack", f"{PACKAGE}@{version}", "--pack-destination", tmp, "--silent"],
                              cwd=tmp, capture_output=True, text=True, timeout=300)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise BuildError(f"`npm pack {PACKAGE}@{version}` failed: {(proc.stderr or proc.stdout).strip()[:500]}")
        data = tarballs[0].read_bytes()
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if digest != expected:
        raise BuildError(f"{PACKAGE}@{version} from the registry does not match package-lock.json's {algo} hash")
    found = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name in FILES:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise BuildError(f"{PACKAGE}@{version}: the tarball has no {name}")
            found[name] = member.read()
    return found


class BuildPyWithGraphLibrary(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        version, integrity = pinned()
        files = from_node_modules(version) or from_registry(version, integrity)
        target = Path(self.build_lib) / TARGET
        for name, data in files.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


setup(cmdclass={"build_py": BuildPyWithGraphLibrary})
