"""A verifiable evidence bundle: every raw answer, a manifest of hashes, the graphs and the case in one zip.

The bundle is what leaves the investigator's machine. Anyone can check it offline, without osint's
store or the case: `manifest.sha256` holds the SHA-256 of `manifest.json`, and the manifest holds
the SHA-256 and size of every other file. The same store and case always give the same bytes (fixed
timestamps and permissions, sorted entries, canonical JSON), so two bundles can be compared by hash.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlalchemy as sa

from .. import __version__
from ..errors import OsintError
from ..case.model import Case
from ..common.files import atomic_write
from ..export import default_path, export
from ..graph import build_graph
from ..store.evidence import EvidenceStore, Observation, parses
from .warc import check_warc, wanted, write_warc

FORMAT = "osint-evidence-bundle/1"
MANIFEST = "manifest.json"
MANIFEST_SHA256 = "manifest.sha256"
GRAPH_FORMATS = ("gexf", "graphml", "json", "csv", "stix", "misp")
# Every entry carries this time and these permissions, whatever the clock or umask says.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESS_LEVEL = 9
# Verification refuses members that declare more than this (a zip bomb, or not our bundle): raw
# answers are capped at 10 MB by the transport, and a graph of a large case stays far below.
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_MANIFEST_BYTES = 512 * 1024**2
MAX_MEMBERS = 2_000_000
CHUNK = 1 << 20


class BundleError(OsintError):
    """The file is not an evidence bundle."""


@dataclass(frozen=True)
class BundleSummary:
    """What write_bundle wrote."""

    path: Path
    case_id: str
    observations: int
    raw_files: int
    files: int  # every member, manifest.json and manifest.sha256 included
    size: int  # bytes of the zip
    manifest_sha256: str
    # Observations whose stored bytes no longer match their stored SHA-256: bundled as they are,
    # so verify-bundle names them too (`osint evidence verify` says more).
    damaged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One member of a bundle that does not match its manifest (or is missing, or is unlisted)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def raw_name(observation_id: int) -> str:
    return f"raw/ev{observation_id:06d}.bin"


def canonical_json(value: Any) -> bytes:
    """JSON whose bytes depend only on the value: sorted keys, fixed separators, UTF-8, one final newline."""
    return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


# -- writing -------------------------------------------------------------------------------


def write_bundle(store: EvidenceStore, case: Case, path: str | os.PathLike[str]) -> BundleSummary:
    """Write the evidence bundle of `case` (a loaded Case, with its `path`) to `path`, atomically.

    Raises BundleError when the case file cannot be read, and OSError when `path` cannot be written.
    """

    case_path = Path(case.path)
    try:
        case_bytes = case_path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{case_path}: cannot read the case file: {exc.strerror}") from None
    target = Path(path)
    rows = store.list()
    with tempfile.TemporaryDirectory(prefix="osint-bundle-") as tmp:
        others = {f"case/{case_path.name}": case_bytes}
        others.update(_graph_files(store, case, Path(tmp)))
        others.update(_warc_files(store, rows))
        latest_parser = _latest_parsers(store)
        observed = [_observation_entry(o, latest_parser.get(o.id)) for o in rows]
        files = [{"name": name, "size": len(data), "sha256": _sha256(data)} for name, data in sorted(others.items())]
        manifest = {
            "format": FORMAT,
            "case": {"id": case.id, "title": case.title, "file": f"case/{case_path.name}"},
            "tool_version": __version__,
            "newest_observation": max((o.observed_at for o in rows), default=None),
            "counts": _counts(rows, observed, files),
            "observations": observed,
            "files": files,
        }
        manifest_bytes = canonical_json(manifest)
        manifest_hash = _sha256(manifest_bytes)
        members: dict[str, bytes | int] = dict(others)
        members[MANIFEST] = manifest_bytes
        members[MANIFEST_SHA256] = f"{manifest_hash}  {MANIFEST}\n".encode("ascii")
        for o in rows:
            if o.raw_size > 0:
                members[raw_name(o.id)] = o.id  # read from the store when its turn comes
        damaged = []
        order = sorted(members)
        raws = _RawReader(store, [members[n] for n in order if isinstance(members[n], int)])
        with atomic_write(target, "wb") as fh, zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
            for name in order:
                data = members[name]
                if isinstance(data, int):
                    oid = data
                    data, stored_hash = raws.get(oid)
                    if _sha256(data) != stored_hash:
                        damaged.append(f"ev{oid}")
                zf.writestr(_zipinfo(name), data, compress_type=COMPRESSION, compresslevel=COMPRESS_LEVEL)
    return BundleSummary(path=target, case_id=case.id, observations=len(observed),
                         raw_files=sum(1 for e in observed if e["raw_file"]), files=len(members),
                         size=target.stat().st_size, manifest_sha256=manifest_hash,
                         damaged=tuple(damaged))


def _observation_entry(o: Observation, parser: str | None) -> dict[str, Any]:
    has_raw = o.raw_size > 0
    return {
        "id": o.evidence_id, "source": o.source, "question": o.query_key, "subject": o.subject,
        "request": o.request, "endpoint": o.endpoint, "observed_at": o.observed_at,
        "duration_ms": o.duration_ms, "outcome": str(o.outcome), "error": o.error, "meta": o.meta,
        "raw_file": raw_name(o.id) if has_raw else None, "raw_size": o.raw_size, "sha256": o.sha256,
        "parser": parser, "tool_version": o.tool_version,
    }


def _counts(rows: list[Observation], observed: list[dict[str, Any]], files: list[dict[str, Any]]) -> dict[str, Any]:
    by_source: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    for o in rows:
        by_source[o.source] = by_source.get(o.source, 0) + 1
        by_outcome[str(o.outcome)] = by_outcome.get(str(o.outcome), 0) + 1
    return {"observations": len(observed), "raw_files": sum(1 for e in observed if e["raw_file"]),
            "other_files": len(files), "by_source": by_source, "by_outcome": by_outcome}


def _latest_parsers(store: EvidenceStore) -> dict[int, str]:
    """observation id -> the parser id of its newest parse, in one query."""
    newest = sa.select(sa.func.max(parses.c.id)).group_by(parses.c.observation_id).scalar_subquery()
    q = sa.select(parses.c.observation_id, parses.c.parser).where(parses.c.id.in_(newest))
    with store.engine.connect() as conn:
        return {oid: parser for oid, parser in conn.execute(q)}


class _RawReader:
    """Raw bytes in the order the bundle writes them, read a chunk of observations per query (a few
    hundred round trips for a large store, not one per answer), never more than one chunk in memory."""

    CHUNK = 200

    def __init__(self, store: EvidenceStore, ids: list[int]):
        self.store, self.ids, self.next, self.chunk = store, ids, 0, {}

    def get(self, oid: int) -> tuple[bytes, str]:
        if oid not in self.chunk:
            wanted = self.ids[self.next:self.next + self.CHUNK]
            self.next += len(wanted)
            self.chunk = self.store.raw_many(wanted) if hasattr(self.store, "raw_many") else {}
        found = self.chunk.pop(oid, None)
        return found if found is not None else _raw_of(self.store, oid)


def _raw_of(store: EvidenceStore, observation_id: int) -> tuple[bytes, str]:
    """The stored bytes of one observation and the SHA-256 the store holds for them."""
    o = store.get(observation_id)
    if o is None:  # the store is append-only; an observation cannot vanish between two reads
        raise BundleError(f"ev{observation_id}: disappeared from the evidence store while bundling")
    return o.raw or b"", o.sha256


def _graph_files(store: EvidenceStore, case: Case, tmp: Path) -> dict[str, bytes]:
    """graphs/<case-id>.<ext> in every export format, built from the case and the store."""
    graph = build_graph(case, store)
    out: dict[str, bytes] = {}
    for fmt in GRAPH_FORMATS:
        for written in export(graph, fmt, default_path(case.id, fmt, tmp)):
            out[f"graphs/{written.name}"] = written.read_bytes()
    return out


WARC_FILE = "warc/pages.warc.gz"


def _warc_files(store: EvidenceStore, rows: list[Observation]) -> dict[str, bytes]:
    """warc/pages.warc.gz: the web pages and archive captures as WARC records (none: no file)."""
    pages = [o for o in rows if wanted(o)]
    if not pages:
        return {}
    buf = io.BytesIO()
    write_warc(pages, buf, lambda o: _raw_of(store, o.id)[0])
    return {WARC_FILE: buf.getvalue()}


def _zipinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.create_system = 3  # unix, so that the permission bits below mean what they say
    info.external_attr = (0o100000 | FILE_MODE) << 16  # a regular file, rw-r--r--
    info.compress_type = COMPRESSION
    return info


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- checking ------------------------------------------------------------------------------


def verify_bundle(path: str | os.PathLike[str]) -> list[Problem]:
    """Check a bundle against its own manifest, offline; return every problem (empty when intact).

    Raises BundleError when `path` is not a zip, or a zip without a manifest.
    """
    p = Path(path)
    try:
        zf = zipfile.ZipFile(p)
    except FileNotFoundError:
        raise BundleError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise BundleError(f"{p}: is a directory, not an evidence bundle") from None
    except PermissionError:
        raise BundleError(f"{p}: cannot be read (permission denied)") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise BundleError(f"{p}: not a zip file, so not an evidence bundle ({_first_line(exc)})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"{p}: {len(infos)} members; more than an evidence bundle ever holds ({MAX_MEMBERS})")
        names = [i.filename for i in infos]
        if MANIFEST not in names:
            raise BundleError(f"{p}: a zip file without {MANIFEST}, so not an evidence bundle")
        return list(_check(zf, infos))


def manifest_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a bundle's manifest.json: the one value to compare with the one recorded when it was made."""
    with zipfile.ZipFile(path) as zf:
        data, trouble = _read_small(zf, zf.getinfo(MANIFEST), MAX_MANIFEST_BYTES)
    if data is None:
        raise BundleError(f"{path}: {MANIFEST} {trouble}")
    return _sha256(data)


def _check(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> Iterator[Problem]:
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if info.filename in by_name:
            yield Problem(info.filename, "appears more than once in the zip")
            continue
        by_name[info.filename] = info

    # The manifest first: everything else is checked against it.
    manifest_info = by_name[MANIFEST]
    manifest_bytes, trouble = _read_small(zf, manifest_info, MAX_MANIFEST_BYTES)
    if trouble:
        yield Problem(MANIFEST, trouble)
        return
    assert manifest_bytes is not None
    manifest_hash = _sha256(manifest_bytes)
    if MANIFEST_SHA256 not in by_name:
        yield Problem(MANIFEST_SHA256, "missing: nothing vouches for manifest.json")
    else:
        listed, trouble = _read_small(zf, by_name[MANIFEST_SHA256], 4096)
        if trouble:
            yield Problem(MANIFEST_SHA256, trouble)
        else:
            assert listed is not None
            expected = listed.decode("ascii", "replace").split()[:1]
            if expected != [manifest_hash]:
                shown = expected[0][:64] if expected else "nothing"
                yield Problem(MANIFEST, f"SHA-256 is {manifest_hash}, but manifest.sha256 says {shown}")
    try:
        manifest = json.loads(manifest_bytes)
        expected_files = dict(_listed(manifest))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        yield Problem(MANIFEST, "not a readable evidence-bundle manifest; nothing else can be checked")
        return

    for name in sorted(expected_files):
        if name not in by_name:
            yield Problem(name, "missing from the bundle")
    for name in sorted(by_name):
        if name in (MANIFEST, MANIFEST_SHA256):
            continue
        if name not in expected_files:
            yield Problem(name, "not listed in the manifest")
            continue
        size, digest = expected_files[name]
        trouble = _check_member(zf, by_name[name], size, digest)
        if trouble:
            yield Problem(name, trouble)
        elif name.endswith(".warc.gz"):
            yield from _check_warc(zf, by_name[name], expected_files)


def _check_warc(zf: zipfile.ZipFile, info: zipfile.ZipInfo, expected: dict[str, tuple[int, str]]) -> Iterator[Problem]:
    """A WARC member whose hash is right is read too: every record's digests, and every page's bytes
    against the SHA-256 of the observation it names (which the manifest vouches for)."""
    with zf.open(info) as fh:
        for problem in check_warc(fh):
            yield Problem(info.filename, problem)


def _listed(manifest: dict[str, Any]) -> Iterable[tuple[str, tuple[int, str]]]:
    """name -> (size, sha256) of every file the manifest vouches for: raw answers and the rest."""
    if manifest.get("format") != FORMAT:
        raise ValueError("not our manifest")
    for entry in manifest["observations"]:
        if entry.get("raw_file"):
            yield str(entry["raw_file"]), (int(entry["raw_size"]), str(entry["sha256"]))
    for entry in manifest["files"]:
        yield str(entry["name"]), (int(entry["size"]), str(entry["sha256"]))


def _check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int, digest: str) -> str | None:
    if info.file_size > MAX_MEMBER_BYTES:
        return f"declares {info.file_size} bytes, more than the {MAX_MEMBER_BYTES} allowed; not read"
    if info.file_size != size:
        return f"{info.file_size} bytes, but the manifest says {size}"
    h, n = hashlib.sha256(), 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                n += len(chunk)
                if n > size:  # never trust the declared size while inflating
                    return f"inflates past the {size} bytes it declares; not read further"
                h.update(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        return f"cannot be read from the zip: {_first_line(exc)}"
    if n != size:
        return f"{n} bytes, but the manifest says {size}"
    if h.hexdigest() != digest:
        return f"SHA-256 is {h.hexdigest()}, but the manifest says {digest}"
    return None


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> tuple[bytes | None, str | None]:
    """The bytes of a member we must hold in memory, or why they cannot be had."""
    if info.file_size > cap:
        return None, f"declares {info.file_size} bytes, more than the {cap} allowed; not read"
    try:
        with zf.open(info) as fh:
            data = fh.read(cap + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        return None, f"cannot be read from the zip: {_first_line(exc)}"
    if len(data) > cap:
        return None, f"inflates past {cap} bytes; not read"
    return data, None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else exc.__class__.__name__
