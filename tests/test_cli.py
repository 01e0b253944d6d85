"""The command line as a user meets it: help, version, case check, sources, evidence verify."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osint import __version__
from osint.cli import app
from osint.store import NewObservation, Outcome, open_store

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def run(*args, **kw):
    return runner.invoke(app, list(args), catch_exceptions=False, **kw)


def test_help_lists_every_command_with_a_description():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("enrich", "graph", "attribute", "explain", "case", "evidence", "sources", "import"):
        line = next((l for l in result.output.splitlines() if l.strip().startswith(command + " ")), None)
        assert line, f"{command} missing from --help"
        assert len(line.split(None, 1)[1]) > 10, line
        assert not line.rstrip().endswith("..."), f"description of {command} is cut: {line}"


def test_version():
    assert run("--version").output.strip() == f"osint {__version__}"


def test_case_check_summarises_the_antbot_case():
    result = run("case", "check", "--case", str(ROOT / "data/seeds.yaml"), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    counts = dict(re.findall(r"│ (\w+)\s+│\s+(\d+) │", result.output))
    assert counts["ip"] == "8" and counts["domain"] == "3" and counts["email"] == "2"
    assert counts["company"] == "2" and counts["account"] == "6" and counts["incident"] == "1"
    assert result.output.rstrip().endswith("ok")


def test_case_check_passes_on_the_3commas_case():
    result = run("case", "check", "--case", str(ROOT / "data/cases/3commas-2022.yaml"))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name, line, field", [
    ("bad_ip.yaml", 46, "servers.ips[2]"),
    ("bad_uscc.yaml", 53, "companies[0].uscc"),
    ("unknown_key.yaml", 27, "brands[0].websties"),
    ("syntax_error.yaml", 14, "(yaml)"),
])
def test_a_broken_case_exits_2_naming_file_line_and_field(name, line, field, tmp_path, guarded_env):
    path = ROOT / "tests/data/broken" / name
    proc = subprocess.run([sys.executable, "-m", "osint", "--store", str(tmp_path / "s.sqlite"), "case", "check",
                           "--case", str(path)], capture_output=True, text=True, cwd=tmp_path, env=guarded_env)
    assert proc.returncode == 2
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert errors and f"{path}:{line}: {field}:" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_wrong_uscc_check_character_names_the_expected_one():
    result = runner.invoke(app, ["case", "check", "--case", str(ROOT / "tests/data/broken/bad_uscc.yaml")])
    assert result.exit_code == 2
    assert re.search(r"expected [0-9A-Y]", result.output)


def test_enrich_with_a_broken_case_writes_nothing(tmp_path):
    store = tmp_path / "s.sqlite"
    result = run("--store", str(store), "enrich", "--case", str(ROOT / "tests/data/broken/bad_ip.yaml"))
    assert result.exit_code == 2
    assert not store.exists()


def test_sources_lists_every_source_without_revealing_keys():
    result = run("sources", env={"SHODAN_API_KEY": "PLANTED-KEY-0123456789", "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in ("dns", "whois", "rdap", "asn", "pdns", "shodan", "ct", "web", "cn-registry"):
        assert re.search(rf"│ {re.escape(name)}\s", result.output), name
    assert "PLANTED-KEY" not in result.output
    assert re.search(r"│ shodan .*│ set", result.output)
    # The fingerprint pivots, with their limits: keyless ones need nothing, icp waits for an endpoint.
    for name, rate in (("icp", "0.5"), ("internetdb", "1"), ("otx", "0.5")):
        assert re.search(rf"│ {name}\s.*│ not needed\s+│ {re.escape(rate)}\s", result.output), name
    assert re.search(r"│ icp .*set sources\.icp\.endpoint", result.output)
    assert re.search(r"│ shodan\s+│ yes\s+│ ip,favicon,certificate,page_title", result.output)


def test_sources_says_why_x_and_binance_square_have_none():
    result = run("sources", env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    for name in ("telegram", "google-play", "youtube"):
        assert re.search(rf"│ {re.escape(name)}\s", result.output), name
    flat = re.sub(r"[\s│┃|]", "", result.output)  # the table folds long cells over several lines
    assert "│ x " in result.output and "│ binance_square " in result.output
    assert "nopublicAPIwithoutapaidkey" in flat and "needalogged-inbrowserrunningJavaScript" in flat
    assert "BinanceSquareprofilesandposts" in flat and "nopublicAPI;thepagesaredrawnbyJavaScript" in flat


def test_an_unread_platform_is_named_as_the_reason_a_claim_stays_uncorroborated(tmp_path):
    import json

    result = run("--store", str(tmp_path / "e.sqlite"), "attribute", "--case", str(ROOT / "tests" / "data" / "case.yaml"),
                 "--format", "json")
    assert result.exit_code == 0, result.output
    claims = {c["subject"]: c for c in json.loads(result.output)["claims"] if c["relation"] == "account_of"}
    x = claims["account:x:labbot_example"]
    assert x["status"] != "corroborated" and "no source reads x" in x["reason"] and "paid key" in x["reason"]
    telegram = claims["account:telegram:labbot_example"]
    assert "no source reads" not in telegram["reason"]  # a source reads it; the store is just empty


def test_evidence_verify_reports_a_flipped_byte(tmp_path):
    path = tmp_path / "e.sqlite"
    store = open_store(str(path))
    for i in range(3):
        store.record(NewObservation(
            run_id="r", source="whois", query_key=f"q{i}", subject="domain:example.com", request={},
            endpoint="127.0.0.1:43", outcome=Outcome.ANSWERED, raw=f"answer {i}".encode(), duration_ms=1,
            tool_version="t",
        ))
    store.close()
    assert run("--store", str(path), "evidence", "verify").exit_code == 0
    with sqlite3.connect(path) as db:
        db.execute("UPDATE observations SET raw = ? WHERE id = 2", (b"answeR 1",))
    result = run("--store", str(path), "evidence", "verify")
    assert result.exit_code == 1
    assert "MISMATCH ev2" in result.output
    assert "MISMATCH ev1" not in result.output and "MISMATCH ev3" not in result.output


def test_evidence_show_prints_the_request_hash_and_raw(tmp_path):
    path = tmp_path / "e.sqlite"
    store = open_store(str(path))
    oid = store.record(NewObservation(
        run_id="r", source="whois", query_key="example.com", subject="domain:example.com",
        request={"query": "example.com"}, endpoint="127.0.0.1:43", outcome=Outcome.ANSWERED,
        raw=b"Domain Name: EXAMPLE.COM\r\n", duration_ms=1, tool_version="t",
    ))
    store.close()
    result = run("--store", str(path), "evidence", "show", f"ev{oid}")
    assert result.exit_code == 0
    assert "Domain Name: EXAMPLE.COM" in result.output and '"outcome": "answered"' in result.output
    raw = run("--store", str(path), "evidence", "show", f"ev{oid}", "--raw")
    assert raw.stdout_bytes == b"Domain Name: EXAMPLE.COM\r\n"
    missing = run("--store", str(path), "evidence", "show", "ev999")
    assert missing.exit_code == 2 and "no such observation" in missing.output


def test_a_worker_on_a_sqlite_store_is_refused_in_one_line_and_makes_no_file(tmp_path):
    store = tmp_path / "evidence.sqlite"
    result = runner.invoke(app, ["--store", str(store), "worker", "--until-done"])
    assert result.exit_code == 2
    assert "workers share a run through a PostgreSQL store" in result.output
    assert not store.exists()
