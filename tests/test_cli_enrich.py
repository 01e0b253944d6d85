"""`osint enrich` as a user sees it: progress lines, the closing table, and failures said in words."""

from __future__ import annotations

import subprocess
import sys

from lab.world import CASE, start_lab, stop_lab


def test_a_rejected_key_is_said_in_one_line_without_verbose(guarded_env, tmp_path):
    lab = start_lab()
    try:
        cfg = lab.write_config(tmp_path / "osint.toml", tmp_path / "e.sqlite")
        env = {**guarded_env, **lab.env(), "SHODAN_API_KEY": "WrongKey-planted-0123456789"}
        proc = subprocess.run([sys.executable, "-m", "osint", "--config", str(cfg), "enrich", "--case", str(CASE),
                               "--sources", "shodan"], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
    finally:
        stop_lab(lab)
    assert proc.returncode == 1  # partial
    lines = [l for l in proc.stderr.splitlines() if l.startswith("shodan: refused:")]
    assert len(lines) == 1, proc.stderr
    assert "rejected the API key" in lines[0] and "SHODAN_API_KEY" in lines[0]
    assert "WrongKey" not in proc.stderr + proc.stdout
    assert "shodan: " in proc.stderr and "questions planned" in proc.stderr
    assert "run partial" in proc.stdout
