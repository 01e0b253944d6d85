"""`osint import apk`: a synthetic APK kept whole as evidence, read for its signer and hard-coded hosts;
hostile files refused in one line with nothing stored."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from apk_build import ApkSpec, build_apk, zip_bomb
from lab.world import CASE
from osint.case import load_case
from osint.graph import attribute as attr
from osint.graph.build import build_graph
from osint.importers.apk import MAX_APK_BYTES, ApkError, import_apk_file, parse_apk
from osint.store import EvidenceStore, Outcome

REPO = Path(__file__).resolve().parents[1]
APP = "account:google_play:com.example.labbot"
ORG = "org:Shenzhen Shiyanyi Network Technology Co., Ltd."


@pytest.fixture(scope="module")
def lab_apk(tmp_path_factory):
    raw, cert = build_apk()
    path = tmp_path_factory.mktemp("apk") / "labbot-2.3.1.apk"
    path.write_bytes(raw)
    return path, cert


@pytest.fixture
def store(tmp_path):
    with EvidenceStore(str(tmp_path / "evidence.sqlite")) as s:
        yield s


def _facts(parsed, relation):
    return {f["o"]: f.get("a", {}) for f in parsed["facts"] if f["r"] == relation}


def test_the_apk_is_kept_whole_and_read_for_signer_and_hosts(lab_apk, store):
    path, cert = lab_apk
    case = load_case(CASE)
    reading, oid, orgs = import_apk_file(path, store, "run-1", case=case)
    obs = store.get(oid)
    assert obs.source == "apk" and obs.outcome is Outcome.ANSWERED and obs.subject == APP
    assert obs.raw == path.read_bytes() and obs.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (reading.package, reading.app_name, reading.version_name, reading.version_code) == (
        "com.example.labbot", "LabBot", "2.3.1", "231")
    parsed = store.latest_parse(oid)
    der = cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization", fromlist=["x"]).Encoding.DER)
    cert_node = f"certificate:{hashlib.sha256(der).hexdigest()}"
    assert _facts(parsed, "signed_with")[cert_node]["schemes"] == ["v1"]
    assert "Organization: Shenzhen Shiyanyi Network Technology Co., Ltd." in parsed["nodes"][cert_node]["subject"]
    developed = _facts(parsed, "developed_by")
    assert developed[ORG]["field"] == "O" and orgs == sorted(developed)
    mentions = _facts(parsed, "mentions")
    assert mentions["ip:198.51.100.20"]["found_in"] == "classes.dex"
    assert mentions["ip:203.0.113.30"]["context"] == "classes.dex: http://203.0.113.30:8080/ws"
    assert {"domain:api.example.com", "url:https://api.example.com/v1/bind", "email:ops@example.net"} <= set(mentions)
    assert mentions["email:support@example.com"]["found_in"] == "assets/config.json"
    assert "domain:backup.example.org" in mentions
    # Java names and loopback are not infrastructure.
    for noise in ("domain:com.example.labbot.mainactivity", "domain:okhttp3.okhttpclient", "ip:127.0.0.1",
                  "domain:android.intent.action.main"):
        assert noise not in mentions, noise
    # The certificate's organisation was compared with the case's companies (pinyin), and stored too.
    (registry,) = [o for o in store.list(source="cn-registry") if o.subject == ORG]
    similar = _facts(store.latest_parse(registry.id), "similar_name")
    assert similar["company:91440300MA5LAB018T"]["score"] >= 0.8


def test_in_the_graph_the_hard_coded_ip_is_a_path_from_the_app_to_a_claimed_server(lab_apk, store):
    case = load_case(CASE)
    import_apk_file(lab_apk[0], store, "run-1", case=case)
    g = build_graph(case, store)
    paths = attr.explain(g, APP, "ip:198.51.100.20", k=1)
    assert paths and [h.relation for h in paths[0].hops] == ["mentions"]
    assert paths[0].hops[0].evidence  # names the APK's observation
    to_company = attr.explain(g, APP, "company:91440300MA5LAB018T", k=1)
    assert to_company and [h.relation for h in to_company[0].hops] == ["developed_by", "similar_name"]
    # the claimed server is tied to the brand through the app, an identifier the case lists
    results = {(r.subject, r.relation): r for r in attr.attribute(g, case)}
    server = results[("ip:198.51.100.20", "alleged_server_of")]
    assert any(APP in p.nodes for p in server.paths), server
    app = results[(APP, "account_of")]
    assert app.paths  # the app mentions api.example.com and support@example.com, listed identifiers


def test_the_cli_imports_and_prints_one_line(lab_apk, tmp_path):
    store = tmp_path / "e.sqlite"
    run = _osint(tmp_path, "--store", str(store), "import", "apk", str(lab_apk[0]), "--case", str(CASE))
    assert run.returncode == 0, run.stderr
    assert "com.example.labbot 2.3.1 (LabBot)" in run.stdout and "Shenzhen Shiyanyi" in run.stdout
    explain = _osint(tmp_path, "--store", str(store), "explain", APP, "ip:203.0.113.30", "--case", str(CASE))
    assert explain.returncode == 0 and "mentions" in explain.stdout, explain.stdout + explain.stderr


def _osint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="250")
    env.pop("OSINT_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "osint", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def _rows(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        try:
            return db.execute("SELECT count(*) FROM observations").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _refused(tmp_path: Path, name: str, data: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    store = tmp_path / "e.sqlite"
    run = _osint(tmp_path, "--store", str(store), "import", "apk", str(path), "--case", str(CASE))
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and words in lines[0], lines
    assert "nothing stored" in lines[0] and "Traceback" not in run.stderr
    assert _rows(store) == 0


def test_a_file_that_is_not_an_apk_is_one_error_line_and_nothing_stored(tmp_path):
    _refused(tmp_path, "notes.apk", b"this is a text file, not an APK\n", "not an APK (not a ZIP archive)")


def test_a_zip_without_a_manifest_is_not_an_apk(tmp_path):
    buf = tmp_path / "x.zip"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("classes.dex", b"dex\n035\0")
    _refused(tmp_path, "plain.apk", buf.read_bytes(), "no AndroidManifest.xml")


def test_a_manifest_that_is_not_binary_xml_is_not_an_apk(tmp_path):
    buf = tmp_path / "x.zip"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("AndroidManifest.xml", b"\x00\x01garbage" * 10)
    _refused(tmp_path, "fake.apk", buf.read_bytes(), "not an APK")


def test_a_zip_bomb_posing_as_an_apk_is_refused_unopened(tmp_path):
    bomb = zip_bomb(1_200_000_000)  # 1.2 GB of zeros in about 1 MB
    assert len(bomb) < 5_000_000
    _refused(tmp_path, "bomb.apk", bomb, "zip bomb")


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.apk"
    with open(path, "wb") as f:
        f.truncate(MAX_APK_BYTES + 1)  # sparse: no disk used
    store = tmp_path / "e.sqlite"
    with EvidenceStore(str(store)) as s, pytest.raises(ApkError, match="over the .* cap"):
        import_apk_file(path, s, "run-1")
    assert _rows(store) == 0


def test_unsigned_apk_and_a_damaged_member_still_read(tmp_path, store):
    raw, cert = build_apk(ApkSpec(signed=False, assets={"assets/a.txt": b"mirror at 192.0.2.10 for updates"}))
    assert cert is None
    parsed = parse_apk(raw)
    assert not [f for f in parsed.facts if f.relation in ("signed_with", "developed_by")]
    assert {f.object for f in parsed.facts if f.relation == "mentions"} >= {"ip:192.0.2.10", "ip:198.51.100.20"}
    # a member whose CRC is wrong is skipped, the rest still read
    bad = bytearray(raw)
    at = bad.find(b"mirror at")
    if at < 0:  # deflated: corrupt the stored CRC of assets/a.txt in its local header instead
        at = bad.find(b"assets/a.txt") - 16
    bad[at] ^= 0xFF
    parsed = parse_apk(bytes(bad))
    assert "ip:198.51.100.20" in {f.object for f in parsed.facts if f.relation == "mentions"}


def test_strings_in_binary_resources_are_found_in_both_encodings():
    blob = (b"\x00\x01\x02" + "https://u16.example.org/x".encode("utf-16-le") + b"\x00\x00\xff"
            + b"cfg=api.u8.example.org\x00")
    raw, _ = build_apk(ApkSpec(signed=False, assets={"res/raw/servers.bin": blob}))
    mentions = {f.object: f.attrs for f in parse_apk(raw).facts if f.relation == "mentions"}
    assert mentions["domain:u16.example.org"]["found_in"] == "res/raw/servers.bin"
    assert "domain:api.u8.example.org" in mentions
