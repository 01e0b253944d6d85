"""Importing passive DNS exports: the file itself becomes the evidence, and bad lines are named."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from osint.errors import OsintError
from osint.importers.pdns import ImportFormatError, import_pdns_file
from osint.store import EvidenceStore, NewObservation, Outcome
from source_helpers import INCIDENT_UTC

LAB_COF = Path(__file__).resolve().parent / "data" / "lab" / "pdns" / "circl" / "example.com.ndjson"


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def test_cof_export_is_stored_verbatim_with_its_parse(tmp_path, store):
    path = tmp_path / "circl-export.ndjson"
    path.write_bytes(LAB_COF.read_bytes())
    records, oid = import_pdns_file(path, store, "run-1")
    (obs,) = store.list(source="pdns")
    assert (records, oid) == (5, obs.id)  # four lines, one of them with two rdata
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert obs.query_key == f"import {digest}" and obs.endpoint == "file:circl-export.ndjson"
    assert obs.outcome is Outcome.ANSWERED and obs.sha256 == digest
    assert store.get(obs.id).raw == path.read_bytes()
    parsed = store.latest_parse(obs.id)
    a = next(f for f in parsed["facts"] if f["o"] == "ip:100.64.1.11")
    assert a["s"] == "domain:example.com" and a["first"] <= INCIDENT_UTC <= a["last"]
    assert a["a"]["provider"] == "import"


def test_csv_export_with_iso_and_epoch_times(tmp_path, store):
    path = tmp_path / "export.csv"
    path.write_text(
        "rrname,rrtype,rdata,time_first,time_last,count\n"
        "example.com.,A,100.64.1.11,2022-11-01T00:00:00Z,1682899199,1523\n"
        "api.example.com,A,100.64.1.11,2022-12-01 00:00:00,2023-04-30T23:59:59+00:00,\n"
        "\n"
        "www.example.com,CNAME,example.com.,1667260800,1719748800,840\n", encoding="utf-8")
    assert import_pdns_file(path, store, "run-1")[0] == 3
    parsed = store.latest_parse(store.list(source="pdns")[0].id)
    spans = {(f["s"], f["o"]): (f.get("first"), f.get("last")) for f in parsed["facts"]}
    assert spans[("domain:example.com", "ip:100.64.1.11")] == ("2022-11-01T00:00:00Z", "2023-04-30T23:59:59Z")
    assert spans[("domain:api.example.com", "ip:100.64.1.11")] == ("2022-12-01T00:00:00Z", "2023-04-30T23:59:59Z")
    assert ("domain:www.example.com", "domain:example.com") in spans


def test_a_malformed_line_is_named_and_nothing_is_stored(tmp_path, store):
    path = tmp_path / "broken.ndjson"
    lines = LAB_COF.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1] + b'{"rrname": "x.example.com", "rrtype": "A", "rdata": \n' + lines[2])
    with pytest.raises(ImportFormatError) as err:
        import_pdns_file(path, store, "run-1")
    message = str(err.value)
    assert "broken.ndjson" in message and "line 3" in message and "\n" not in message
    assert isinstance(err.value, OsintError)
    assert store.list(source="pdns") == []


@pytest.mark.parametrize("text,where", [
    ("rrname,rrtype,rdata\nexample.com,A,192.0.2.1\n", "line 1"),  # no time columns
    ("rrname,rrtype,rdata,time_first,time_last\nexample.com,A,192.0.2.1,last tuesday,1\n", "line 2"),
    ("rrname,rrtype,rdata,time_first,time_last\nexample.com,A,192.0.2.1,1,2,extra\n", "line 2"),
])
def test_csv_problems_are_named(tmp_path, store, text, where):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFormatError, match=f"bad.csv: {where}"):
        import_pdns_file(path, store, "run-1")


def test_empty_and_missing_files(tmp_path, store):
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    with pytest.raises(ImportFormatError, match="no passive DNS records"):
        import_pdns_file(empty, store, "run-1")
    with pytest.raises(OsintError, match="cannot read"):
        import_pdns_file(tmp_path / "absent.csv", store, "run-1")


def test_the_cli_prints_the_id_the_store_gave(tmp_path, guarded_env):
    """Not the number of observations: the id `osint evidence show` takes, in a store that already has some."""
    import os
    import subprocess
    import sys

    store_path = tmp_path / "evidence.sqlite"
    with EvidenceStore(str(store_path)) as s:
        for i in range(3):
            s.record(NewObservation(
                run_id="r", source="dns", query_key=f"q{i}", subject="domain:example.com", request={},
                endpoint="lab", outcome=Outcome.ANSWERED, raw=b"x", duration_ms=1.0, tool_version="t",
            ))
    path = tmp_path / "export.ndjson"
    path.write_bytes(LAB_COF.read_bytes())
    env = {**guarded_env, "OSINT_STORE": str(store_path)}
    done = subprocess.run([sys.executable, "-m", "osint", "import", "pdns", str(path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with EvidenceStore(str(store_path)) as s:
        (obs,) = s.list(source="pdns")
    assert f"observation ev{obs.id}" in done.stdout and obs.id == 4
