"""The evidence bundle as an investigator hands it over: the same store gives the same bytes, and
whoever receives it can prove, offline, that nothing in it changed since."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osint.bundle import MANIFEST, MANIFEST_SHA256, verify_bundle, write_bundle
from osint.cli import app
from osint.store import EvidenceStore, NewObservation, Outcome

CASE = Path(__file__).resolve().parent / "data" / "case.yaml"
runner = CliRunner()


def fact(s: str, r: str, o: str, **attrs) -> dict:
    return {"s": s, "r": r, "o": o, **({"a": attrs} if attrs else {})}


def parsed(*facts: dict, nodes: dict | None = None) -> dict:
    return {"facts": list(facts), "nodes": nodes or {}, "leads": [], "followups": []}


def fill_store(path: Path) -> EvidenceStore:
    """A few answers shaped like the real sources' (raw bytes first, then the parse), and two failures."""
    store = EvidenceStore(str(path))

    def record(source, key, subject, raw, at, outcome=Outcome.ANSWERED, error=None, meta=None, parse=None):
        oid = store.record(NewObservation(
            run_id="run-1", source=source, query_key=key, subject=subject, request={"q": key},
            endpoint="127.0.0.1:5353", outcome=outcome, raw=raw, duration_ms=12.5, error=error, meta=meta or {},
            tool_version="0.1.0", observed_at=at,
        ))
        if parse is not None:
            store.record_parse(oid, f"{source}@1", parse)
        return oid

    # A DNS answer in wire format: binary bytes, zeros and all.
    record("dns", "A:example.com", "domain:example.com", bytes.fromhex("abcd81800001000100000000") + b"\x00\xff" * 8,
           "2024-03-01T00:00:00.000001Z", parse=parsed(fact("domain:example.com", "resolves_to", "ip:192.0.2.10",
                                                           rrtype="A")))
    record("whois", "domain:example.com", "domain:example.com",
           "Domain Name: EXAMPLE.COM\r\nRegistrar: Lab Registrar\r\nRegistrant: 深圳实验蚁\r\n".encode(),
           "2024-03-01T00:00:01Z",
           parse=parsed(fact("domain:example.com", "registered_with", "registrar:Lab Registrar")))
    record("shodan", "host 192.0.2.10", "ip:192.0.2.10",
           json.dumps({"ip_str": "192.0.2.10", "ports": [22], "data": [{"port": 22}]}).encode(),
           "2024-03-02T00:00:00Z", meta={"status": 200, "url": "http://127.0.0.1/shodan/host/192.0.2.10"},
           parse=parsed(fact("ip:192.0.2.10", "has_service", "service:192.0.2.10:22/tcp"),
                        nodes={"service:192.0.2.10:22/tcp": {"port": 22}}))
    # CIRCL answers an unknown name with an empty 200: an answer with no bytes, so no raw file.
    record("pdns", "circl example.net", "domain:example.net", b"", "2024-03-02T00:00:01Z", parse=parsed())
    record("whois", "domain:example.net", "domain:example.net", None, "2024-03-03T00:00:00Z",
           outcome=Outcome.TIMEOUT, error="whois.lab did not answer within 5s")
    record("shodan", "host 198.51.100.20", "ip:198.51.100.20", b"<html>401 Unauthorized</html>",
           "2024-03-03T00:00:01Z", outcome=Outcome.REFUSED, error="Shodan rejected the API key (401)",
           meta={"status": 401})
    return store


@pytest.fixture
def store(tmp_path):
    s = fill_store(tmp_path / "evidence.sqlite")
    yield s
    s.close()


@pytest.fixture
def case():
    from osint.case import load_case

    return load_case(CASE)


def cli(*args: str, cwd: Path, monkeypatch):
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("OSINT_CONFIG", "")
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "250"})


def rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> None:
    """Copy a zip, replacing (or, with None, dropping) some members: tampering that keeps CRCs valid."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change.get(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
        for name, data in change.items():
            if data is not None and name not in zin.namelist():
                zout.writestr(name, data)


def test_the_same_store_gives_byte_identical_bundles(store, case, tmp_path):
    first = write_bundle(store, case, tmp_path / "a.zip")
    second = write_bundle(store, case, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert first.manifest_sha256 == second.manifest_sha256
    assert first.observations == 6 and first.raw_files == 4 and first.damaged == ()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert "case/case.yaml" in names and zf.read("case/case.yaml") == CASE.read_bytes()
        assert {n for n in names if n.startswith("graphs/")} == {
            "graphs/lab-case.gexf", "graphs/lab-case.graphml", "graphs/lab-case.json",
            "graphs/lab-case.nodes.csv", "graphs/lab-case.edges.csv", "graphs/lab-case.stix.json",
            "graphs/lab-case.misp.json"}
        assert [n for n in names if n.startswith("raw/")] == [
            "raw/ev000001.bin", "raw/ev000002.bin", "raw/ev000003.bin", "raw/ev000006.bin"]
        manifest_bytes = zf.read(MANIFEST)
        assert zf.read(MANIFEST_SHA256).decode() == f"{hashlib.sha256(manifest_bytes).hexdigest()}  manifest.json\n"
        manifest = json.loads(manifest_bytes)
        # Every raw file is the stored answer, byte for byte, under its recorded SHA-256.
        for entry in manifest["observations"]:
            o = store.get(int(entry["id"][2:]))
            assert entry["sha256"] == o.sha256 and entry["raw_size"] == o.raw_size
            if entry["raw_file"]:
                assert zf.read(entry["raw_file"]) == o.raw
        # The graph in the bundle is built from this evidence: the DNS fact is an edge in it.
        graph = json.loads(zf.read("graphs/lab-case.json"))
        assert any(link["source"] == "domain:example.com" and link["target"] == "ip:192.0.2.10"
                   for link in graph["links"])
        # So it is in the STIX bundle and the MISP event, citing the DNS answer.
        stix = json.loads(zf.read("graphs/lab-case.stix.json"))
        assert any(o.get("x_osint_kind") == "resolves_to" and o.get("x_osint_evidence") == ["ev1"]
                   for o in stix["objects"])
        misp = json.loads(zf.read("graphs/lab-case.misp.json"))["Event"]
        [domain_ip] = [o for o in misp["Object"] if o["name"] == "domain-ip"]
        assert {(a["object_relation"], a["value"]) for a in domain_ip["Attribute"]} >= {
            ("domain", "example.com"), ("ip", "192.0.2.10")}
    assert manifest_bytes == json.dumps(manifest, sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False).encode() + b"\n"
    dns = manifest["observations"][0]
    assert dns == {**dns, "id": "ev1", "source": "dns", "question": "A:example.com", "subject": "domain:example.com",
                   "endpoint": "127.0.0.1:5353", "observed_at": "2024-03-01T00:00:00.000001Z", "duration_ms": 12.5,
                   "outcome": "answered", "error": None, "raw_file": "raw/ev000001.bin", "parser": "dns@1",
                   "tool_version": "0.1.0"}
    timeout = manifest["observations"][4]
    assert timeout["outcome"] == "timeout" and timeout["raw_file"] is None and timeout["parser"] is None
    assert manifest["case"]["id"] == "lab-case" and manifest["counts"]["observations"] == 6
    assert manifest["counts"]["by_outcome"] == {"answered": 4, "timeout": 1, "refused": 1}
    listed = {f["name"] for f in manifest["files"]}
    assert listed == {n for n in names if not n.startswith("raw/") and not n.startswith("manifest.")}


def test_cli_bundles_and_verifies_it_clean(store, tmp_path, monkeypatch):
    out = tmp_path / "out" / "evidence.zip"
    made = cli("--store", store.target, "evidence", "bundle", "--out", str(out), "--case", str(CASE),
               cwd=tmp_path, monkeypatch=monkeypatch)
    assert made.exit_code == 0, made.output
    assert "6 observations (4 raw answers)" in made.output
    digest = hashlib.sha256(zipfile.ZipFile(out).read(MANIFEST)).hexdigest()
    assert digest in made.output
    assert not list(out.parent.glob(".*.tmp"))  # the temporary file was renamed, not left behind
    # Verified elsewhere: no store, no case, no configuration.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("OSINT_STORE", str(elsewhere / "no" / "such.sqlite"))
    checked = cli("evidence", "verify-bundle", str(out), cwd=elsewhere, monkeypatch=monkeypatch)
    assert checked.exit_code == 0, checked.output
    assert "every file matches" in checked.output and digest in checked.output
    assert not (elsewhere / "no").exists() and not (elsewhere / ".osint").exists()
    assert verify_bundle(out) == []


def test_a_changed_raw_answer_is_named(store, case, tmp_path, monkeypatch):
    good = tmp_path / "good.zip"
    write_bundle(store, case, good)
    raw = bytearray(zipfile.ZipFile(good).read("raw/ev000002.bin"))
    raw[10] ^= 0x01
    bad = tmp_path / "bad.zip"
    rewrite(good, bad, {"raw/ev000002.bin": bytes(raw)})
    problems = verify_bundle(bad)
    assert [p.name for p in problems] == ["raw/ev000002.bin"]
    assert "SHA-256" in problems[0].reason
    result = cli("evidence", "verify-bundle", str(bad), cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert "MISMATCH raw/ev000002.bin" in result.output
    assert "ev000001" not in result.output and "graphs/" not in result.output


def test_missing_extra_and_changed_graph_files_are_each_named(store, case, tmp_path):
    good = tmp_path / "good.zip"
    write_bundle(store, case, good)
    bad = tmp_path / "bad.zip"
    rewrite(good, bad, {"raw/ev000003.bin": None, "graphs/lab-case.gexf": b"<gexf/>",
                        "raw/ev000099.bin": b"planted"})
    assert {(p.name, p.reason.split(",")[0].split(" ")[0]) for p in verify_bundle(bad)} == {
        ("raw/ev000003.bin", "missing"), ("graphs/lab-case.gexf", "7"), ("raw/ev000099.bin", "not")}


def test_a_tampered_manifest_is_caught_by_manifest_sha256(store, case, tmp_path, monkeypatch):
    good = tmp_path / "good.zip"
    write_bundle(store, case, good)
    manifest = json.loads(zipfile.ZipFile(good).read(MANIFEST))
    # Someone swaps a raw answer and updates its hash in the manifest to match.
    forged = b"Domain Name: EXAMPLE.COM\r\nRegistrar: Someone Else\r\n"
    entry = manifest["observations"][1]
    entry.update(sha256=hashlib.sha256(forged).hexdigest(), raw_size=len(forged))
    bad = tmp_path / "bad.zip"
    rewrite(good, bad, {MANIFEST: json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode() + b"\n",
                        entry["raw_file"]: forged})
    problems = verify_bundle(bad)
    assert [p.name for p in problems] == [MANIFEST]
    assert "manifest.sha256" in problems[0].reason
    result = cli("evidence", "verify-bundle", str(bad), cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 1 and "MISMATCH manifest.json" in result.output
    # Without manifest.sha256 nothing vouches for the manifest: that is a problem too.
    bare = tmp_path / "bare.zip"
    rewrite(good, bare, {MANIFEST_SHA256: None})
    assert [p.name for p in verify_bundle(bare)] == [MANIFEST_SHA256]


@pytest.mark.parametrize("content", [b"", b"not a zip at all\n" * 100, b"PK\x03\x04" + b"\x00" * 60])
def test_a_file_that_is_not_a_bundle_exits_2_with_one_line(content, tmp_path, monkeypatch):
    path = tmp_path / "random.zip"
    path.write_bytes(content)
    result = cli("evidence", "verify-bundle", str(path), cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not a zip" in lines[0], result.output


def test_a_zip_without_a_manifest_is_not_a_bundle(tmp_path, monkeypatch):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hello")
    result = cli("evidence", "verify-bundle", str(path), cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "manifest.json" in result.output
    missing = cli("evidence", "verify-bundle", str(tmp_path / "nope.zip"), cwd=tmp_path, monkeypatch=monkeypatch)
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_a_member_that_inflates_past_the_cap_is_refused_unread(store, case, tmp_path, monkeypatch):
    import osint.bundle as bundle

    good = tmp_path / "good.zip"
    write_bundle(store, case, good)
    monkeypatch.setattr(bundle, "MAX_MEMBER_BYTES", 50)
    problems = verify_bundle(good)
    assert problems and all("not read" in p.reason for p in problems)
    assert "raw/ev000001.bin" not in {p.name for p in problems}  # 28 bytes: under the cap, and intact


def test_bundle_needs_an_existing_store(tmp_path, monkeypatch):
    result = cli("--store", str(tmp_path / "none.sqlite"), "evidence", "bundle", "--out", str(tmp_path / "b.zip"),
                 "--case", str(CASE), cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "no evidence store here yet" in result.output
    assert not (tmp_path / "b.zip").exists()
