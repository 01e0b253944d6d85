"""The bundle's WARC file: live pages and archive captures as request/response/metadata records that the
WARC library reads back, byte-identical per store, and checked by verify-bundle."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from osint.bundle import MANIFEST, MANIFEST_SHA256, verify_bundle, write_bundle
from osint.store import EvidenceStore, NewObservation, Outcome

CASE = Path(__file__).resolve().parent / "data" / "case.yaml"
LIVE = "<html><body>Whitelist 198.51.100.77</body></html>".encode()
OLD = "<html><body>白名单 203.0.113.88</body></html>".encode()


@pytest.fixture
def store(tmp_path):
    s = EvidenceStore(str(tmp_path / "evidence.sqlite"))

    def record(source, key, subject, raw, request, meta, at, outcome=Outcome.ANSWERED):
        return s.record(NewObservation(
            run_id="run-1", source=source, query_key=key, subject=subject, request=request,
            endpoint="http://127.0.0.1:8080", outcome=outcome, raw=raw, duration_ms=3.0, error=None, meta=meta,
            tool_version="0.1.0", observed_at=at,
        ))

    html = {"content-type": "text/html; charset=utf-8", "content-encoding": "gzip"}
    record("web", "GET http://www.example.com/guide/bind/", "url:http://www.example.com/guide/bind/", LIVE,
           {"url": "http://www.example.com/guide/bind/", "headers": {"Accept": "text/html"}},
           {"status": 200, "headers": html, "final_url": "http://www.example.com/guide/bind/"},
           "2024-03-01T00:00:00.000001Z")
    record("archive", "cdx exact http://www.example.com/guide/bind/", "url:http://www.example.com/guide/bind/",
           b'[["urlkey","timestamp"]]', {"url": "http://127.0.0.1:8080/cdx", "params": {}},
           {"status": 200, "headers": {"content-type": "application/json"}}, "2024-03-01T00:00:01Z")
    capture = {"original": "http://www.example.com/guide/bind/", "timestamp": "20220510083000", "digest": "ABC",
               "status": 200, "mimetype": "text/html", "times": ["20220510083000"]}
    record("archive", "capture ABC", "url:http://www.example.com/guide/bind/", OLD,
           {"url": "http://127.0.0.1:8080/web/20220510083000id_/http://www.example.com/guide/bind/",
            "follow_redirects": False, "capture": capture},
           {"status": 200, "headers": {"content-type": "text/html"}}, "2024-03-01T00:00:02Z")
    yield s
    s.close()


@pytest.fixture
def case():
    from osint.case import load_case

    return load_case(CASE)


def warc_of(bundle: Path) -> bytes:
    with zipfile.ZipFile(bundle) as zf:
        return zf.read("warc/pages.warc.gz")


def test_pages_and_captures_read_back_with_the_warc_library(store, case, tmp_path):
    write_bundle(store, case, tmp_path / "a.zip")
    records = list((r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
                   for r in ArchiveIterator(io.BytesIO(warc_of(tmp_path / "a.zip")), check_digests="raise"))
    assert [t for t, *_ in records] == ["warcinfo"] + ["response", "request", "metadata"] * 2
    responses = {h.get_header("WARC-Target-URI") + " " + h.get_header("WARC-Date"): (http, body)
                 for t, h, http, body in records if t == "response"}
    # The live page, when we fetched it; the capture, where and when the archive saw it.
    live = responses["http://www.example.com/guide/bind/ 2024-03-01T00:00:00Z"]
    old = responses["http://www.example.com/guide/bind/ 2022-05-10T08:30:00Z"]
    assert live[1] == LIVE and old[1] == OLD  # the stored bytes, untouched
    assert live[0].get_statuscode() == "200" and live[0].get_header("Content-Encoding") is None  # stored decoded
    metas = [body.decode() for t, _, _, body in records if t == "metadata"]
    assert any("osint-observation: ev1\n" in m and f"sha256: {hashlib.sha256(LIVE).hexdigest()}" in m for m in metas)
    assert any("osint-observation: ev3\n" in m and "fetched-from: http://127.0.0.1:8080/web/20220510083000id_/" in m
               for m in metas)
    requests = [http for t, _, http, _ in records if t == "request"]
    assert [(r.protocol, r.statusline, r.get_header("Host")) for r in requests] == [
        ("GET", "/guide/bind/ HTTP/1.1", "www.example.com")] * 2
    assert not any(t == "response" and b"urlkey" in body for t, _, _, body in records)  # index answers stay out


def test_the_warc_is_byte_identical_per_store_and_verified(store, case, tmp_path):
    a = write_bundle(store, case, tmp_path / "a.zip")
    b = write_bundle(store, case, tmp_path / "b.zip")
    assert a.manifest_sha256 == b.manifest_sha256 and warc_of(tmp_path / "a.zip") == warc_of(tmp_path / "b.zip")
    assert verify_bundle(tmp_path / "a.zip") == []


def test_a_warc_whose_page_was_changed_is_named_even_with_a_recomputed_manifest(store, case, tmp_path):
    write_bundle(store, case, tmp_path / "a.zip")
    # Change the capture's bytes in the WARC (same length, so the record still parses), then redo every
    # hash the manifest holds: only the WARC's own digests and the observation's SHA-256 can tell.
    raw = gzip.decompress(warc_of(tmp_path / "a.zip")).replace(b"203.0.113.88", b"203.0.113.99")
    forged = raw  # left uncompressed: WARC readers take either
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        manifest = json.loads(zf.read(MANIFEST))
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    for entry in manifest["files"]:
        if entry["name"] == "warc/pages.warc.gz":
            entry.update(size=len(forged), sha256=hashlib.sha256(forged).hexdigest())
    members["warc/pages.warc.gz"] = forged
    members[MANIFEST] = (json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                         + "\n").encode()
    members[MANIFEST_SHA256] = f"{hashlib.sha256(members[MANIFEST]).hexdigest()}  {MANIFEST}\n".encode()
    with zipfile.ZipFile(tmp_path / "forged.zip", "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    problems = [str(p) for p in verify_bundle(tmp_path / "forged.zip")]
    assert problems and all(p.startswith("warc/pages.warc.gz: ") for p in problems), problems
    assert any("digest failed" in p for p in problems)  # the WARC's own digests
    assert any("(ev3): payload SHA-256 is" in p for p in problems)  # the observation it claims to be
