"""Installable anywhere: a wheel built from this tree writes a report from a folder with no source tree.

The wheel carries the report's graph library (setup.py's build step takes the pinned cytoscape from
node_modules, which `npm ci` verified, or from the npm registry, checked against package-lock.json).
The test builds without network: no build isolation, and the venv reuses the installed dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", "node_modules", "__pycache__", "build", "dist", "*.egg-info", ".osint",
                              "reports", "test-artifacts", "_npm", "*.sqlite*", ".pytest_cache", ".hypothesis")


@pytest.mark.timeout(600)
def test_a_wheel_installed_in_a_fresh_venv_writes_a_report_from_any_folder(tmp_path):
    modules = Path(os.environ.get("OSINT_NODE_MODULES") or ROOT / "node_modules")
    if not (modules / "cytoscape" / "package.json").is_file():
        pytest.fail(f"{modules} has no cytoscape: the README's test command runs `npm ci` before pytest")
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)
    (src / "node_modules").symlink_to(modules)  # what `npm ci` installed; no network
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    wheel = next((tmp_path / "dist").glob("osint-*.whl"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/cytoscape"]["version"]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "osint/report/_npm/cytoscape/dist/cytoscape.min.js" in names
        assert "osint/report/_npm/cytoscape/LICENSE" in names  # its licence travels with it
        assert json.loads(z.read("osint/report/_npm/cytoscape/package.json"))["version"] == pinned

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr

    work = tmp_path / "case-folder"  # an investigator's folder: a case file, nothing of osint's source
    work.mkdir()
    shutil.copy(ROOT / "data" / "seeds.yaml", work / "case.yaml")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OSINT_NODE_MODULES")}
    where = subprocess.run([str(py), "-c", "import osint; print(osint.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert str(env_dir) in where.stdout, where.stdout + where.stderr  # the wheel, not this source tree
    osint = env_dir / "bin" / "osint"
    report = subprocess.run([str(osint), "--store", str(work / "e.sqlite"), "report", "--case", "case.yaml",
                             "--lang", "en", "--out", "report.html"], cwd=work, env=env, capture_output=True,
                            text=True, timeout=300)
    assert report.returncode == 0, report.stdout + report.stderr
    html = (work / "report.html").read_text(encoding="utf-8")
    assert f"cytoscape {pinned} (MIT)" in html  # the report names the library it inlines
    assert "cytoscape" in html and len(html) > 400_000  # the library is inlined, not linked
    check = subprocess.run([str(osint), "case", "check", "--case", "case.yaml"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
