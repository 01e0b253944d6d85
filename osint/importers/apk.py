"""Import an Android APK the investigator downloaded: kept whole as evidence, then read with androguard.

What it yields (docs/CONTRACTS.md): the app as `account:google_play:<package>`, its signing
certificates (`signed_with`), the organisations their subjects name (`developed_by`, then matched to
the case's companies by the cn-registry source), and every host, URL, IP address and e-mail address
hard-coded in its code and resources (`mentions`, each saying in which file of the APK it was found).

Hostile files are refused before anything is stored: over the size cap, not a ZIP, no manifest, or a
ZIP whose members would inflate past the caps (a zip bomb). The tool never fetches APKs itself.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..case.indicators import clean_context, find_indicators
from ..case.normalize import NormalizeError, normalize_handle, normalize_url
from ..common.timefmt import ISO_UTC
from ..config import EnrichSettings, SourceSettings
from ..errors import OsintError
from ..sources.base import Parsed, ParseError, SourceContext
from ..transport.base import Query
from ..vocabulary import account_id, certificate_id, org_id, region_id, url_id
from . import record_file

SOURCE = "apk"
PARSER = "apk@1"
MAX_APK_BYTES = 200 * 1024 * 1024  # the biggest APK Google Play serves is 200 MB (without expansion files)
MAX_INFLATED_BYTES = 1024 * 1024 * 1024  # all members together, as the ZIP declares them
MAX_RATIO = 200  # a member that inflates more than this (and past 1 MB) is a bomb, not a file
MAX_MEMBER_SCAN = 64 * 1024 * 1024  # bytes of one member searched for indicators
MAX_SCANNED_MEMBERS = 2000
MAX_MENTIONS = 500
MIN_RUN = 6  # shortest printable run taken as a string from a non-dex file
# Members whose strings are the app's own: code, resources, assets and native libraries.
SCANNED = re.compile(r"^(classes\d*\.dex|resources\.arsc|AndroidManifest\.xml|assets/.*|res/raw/.*|res/xml/.*"
                     r"|lib/[^/]+/[^/]+\.so)$")
# Reversed-domain Java and Android names (com.example.app.MainActivity) are not hosts.
PACKAGE_ROOTS = frozenset("com org net io cn android androidx java javax kotlin kotlinx dalvik google sun "
                          "de fr uk us jp ru me co app dev edu gov info biz".split())
_ASCII_RUN = re.compile(rb"[\x20-\x7e]{%d,}" % MIN_RUN)
_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e]\x00){%d,}" % MIN_RUN)
_URL = re.compile(r"\b(?:https?|wss?)://[^\s\"'<>\\]+", re.IGNORECASE)


class ApkError(OsintError):
    """The file is not an APK we can read, or is hostile; nothing was stored."""


@dataclass
class Reading:
    """What androguard and the string scan read from one APK (stored as the parse)."""

    package: str
    app_name: str | None
    version_name: str | None
    version_code: str | None
    certificates: list[dict[str, Any]] = field(default_factory=list)
    strings: dict[str, list[str]] = field(default_factory=dict)  # member -> strings that hold indicators


def _quiet_androguard() -> None:
    # androguard logs through loguru at DEBUG to stderr; an import prints one line, not hundreds.
    try:
        from loguru import logger
    except ImportError:  # pragma: no cover - androguard depends on it
        return
    logger.disable("androguard")
    logging.getLogger("androguard").setLevel(logging.ERROR)


def check_zip(raw: bytes, name: str) -> zipfile.ZipFile:
    """The APK's ZIP directory, once it is known not to be a bomb; ApkError otherwise."""
    if not raw.startswith(b"PK"):
        raise ApkError(f"{name}: not an APK (not a ZIP archive); nothing stored")
    try:
        z = zipfile.ZipFile(io.BytesIO(raw))
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ApkError(f"{name}: not an APK (unreadable ZIP: {exc}); nothing stored") from None
    if not any(i.filename == "AndroidManifest.xml" for i in infos):
        raise ApkError(f"{name}: not an APK (no AndroidManifest.xml in the ZIP); nothing stored")
    total = sum(i.file_size for i in infos)
    if total > MAX_INFLATED_BYTES:
        raise ApkError(f"{name}: refused as a zip bomb: its members inflate to {total:,} bytes, over the "
                       f"{MAX_INFLATED_BYTES:,}-byte cap; nothing stored")
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise ApkError(f"{name}: refused as a zip bomb: {i.filename} inflates {i.compress_size:,} bytes to "
                           f"{i.file_size:,} (over {MAX_RATIO}:1); nothing stored")
    return z


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most `limit` inflated bytes of a member, whatever its header claims."""
    with z.open(info) as f:
        return f.read(limit)


def _member_strings(name: str, data: bytes) -> list[str]:
    if name.endswith(".dex"):
        try:
            from androguard.core.dex import DEX

            return [str(s) for s in DEX(data).get_strings()]
        except Exception:  # noqa: BLE001 - a broken or obfuscated dex is still searched byte-wise
            pass
    found = [m.group(0).decode("ascii") for m in _ASCII_RUN.finditer(data)]
    if b"\x00" in data:  # UTF-16 text (older resource tables) has NULs between its letters; plain text has none
        found += [m.group(0).decode("utf-16-le") for m in _UTF16_RUN.finditer(data)]
    return found


def _interesting(text: str) -> bool:
    # Every host, address and URL has a dot or a colon; most strings in an app have neither.
    if "." not in text and ":" not in text:
        return False
    return any(f.kind in ("ip", "email", "domain") for f in _indicators(text))


def read_apk(raw: bytes, name: str) -> Reading:
    """Read the APK's identity, certificates and strings. ApkError if it is not an APK."""
    z = check_zip(raw, name)
    _quiet_androguard()
    from androguard.core.apk import APK

    try:
        apk = APK(raw, raw=True)
        valid = apk.is_valid_APK()
    except Exception as exc:  # noqa: BLE001 - androguard raises many kinds on broken input
        raise ApkError(f"{name}: not an APK (androguard cannot read it: {exc.__class__.__name__}); "
                       "nothing stored") from None
    package = (apk.get_package() or "") if valid else ""
    try:
        package = normalize_handle(package) if package else ""
    except NormalizeError:
        package = ""
    if not valid or not package:
        raise ApkError(f"{name}: not an APK (AndroidManifest.xml names no package); nothing stored")
    reading = Reading(package=package, app_name=_safe(apk.get_app_name),
                      version_name=_safe(apk.get_androidversion_name),
                      version_code=_safe(apk.get_androidversion_code))
    reading.certificates = _certificates(apk)
    scanned = 0
    for info in z.infolist():
        if info.is_dir() or not SCANNED.match(info.filename) or scanned >= MAX_SCANNED_MEMBERS:
            continue
        scanned += 1
        try:
            data = _read_member(z, info, MAX_MEMBER_SCAN)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, zlib.error):
            continue  # one unreadable member (bad CRC, unknown compression) does not cost the others
        if info.filename == "AndroidManifest.xml":
            continue  # read by androguard above; its strings are class names, not hosts
        keep = [s for s in dict.fromkeys(_member_strings(info.filename, data)) if _interesting(s)]
        if keep:
            reading.strings[info.filename] = keep[:MAX_MENTIONS]
    return reading


def _safe(getter: Any) -> str | None:
    try:
        value = getter()
    except Exception:  # noqa: BLE001
        return None
    return str(value) if value not in (None, "") else None


def _certificates(apk: Any) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for scheme, getter in (("v1", "get_certificates_v1"), ("v2", "get_certificates_v2"),
                           ("v3", "get_certificates_v3")):
        try:
            certs = getattr(apk, getter)()
        except Exception:  # noqa: BLE001 - a damaged signing block: the other schemes may still read
            continue
        for cert in certs or ():
            if cert is None:
                continue
            sha = hashlib.sha256(cert.dump()).hexdigest()
            entry = out.setdefault(sha, {"sha256": sha, "schemes": []})
            entry["schemes"].append(scheme)
            subject, issuer = cert.subject.native, cert.issuer.native
            entry.update(subject=cert.subject.human_friendly, issuer=cert.issuer.human_friendly,
                         organization=_first(subject.get("organization_name")),
                         common_name=_first(subject.get("common_name")),
                         country=_first(subject.get("country_name")),
                         issuer_organization=_first(issuer.get("organization_name")),
                         serial=format(cert.serial_number, "x"),
                         not_before=_iso(cert["tbs_certificate"]["validity"]["not_before"].native),
                         not_after=_iso(cert["tbs_certificate"]["validity"]["not_after"].native),
                         self_signed=cert.self_signed != "no")
    return list(out.values())


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return " ".join(str(value).split()) if value else None


def _iso(value: Any) -> str | None:
    try:
        return value.strftime(ISO_UTC)
    except AttributeError:
        return None


# -- from a reading to facts ---------------------------------------------------------------------

# Names a certificate subject carries that name no one: Android's debug key, placeholders.
GENERIC_NAMES = frozenset({"android", "android debug", "unknown", "company", "organization", "test", "none",
                           "google inc.", "google llc"})


def _indicators(text: str):
    for found in find_indicators(text):
        if found.kind == "domain" and not _plausible_host(found, text):
            continue
        yield found


def _plausible_host(found: Any, text: str) -> bool:
    """A domain in code is a host when a URL carries it, or when it is written like one (lower case,
    not a reversed-domain Java name such as com.example.app.MainActivity)."""
    for m in _URL.finditer(text):
        if m.start() <= found.start < m.end():
            return True
    raw = found.text
    if raw != raw.lower():
        return False
    before = text[max(0, found.start - 1):found.start]
    if before in ("/", ";", "$") or text[found.end:found.end + 1] in ("$", ";", "("):
        return False
    return raw.split(".", 1)[0].lower() not in PACKAGE_ROOTS


def app_node(package: str) -> str:
    return account_id("google_play", package)


def reading_to_parsed(reading: Reading, digest: str, size: int) -> Parsed:
    out = Parsed()
    app = app_node(reading.package)
    out.node(app, label=reading.app_name or reading.package, package=reading.package,
             app_name=reading.app_name, version_name=reading.version_name, version_code=reading.version_code,
             apk_sha256=digest, apk_size=size)
    orgs: list[str] = []
    for cert in reading.certificates:
        node = certificate_id(cert['sha256'])
        out.node(node, subject=cert.get("subject"), issuer=cert.get("issuer"), serial=cert.get("serial"),
                 not_before=cert.get("not_before"), not_after=cert.get("not_after"),
                 self_signed=cert.get("self_signed"), use="APK signing")
        out.fact(app, "signed_with", node, schemes=cert.get("schemes"), first_seen=cert.get("not_before"),
                 last_seen=cert.get("not_after"))
        for field_name, value in (("O", cert.get("organization")), ("CN", cert.get("common_name"))):
            if not value or value.lower() in GENERIC_NAMES or value.lower() == (reading.app_name or "").lower():
                continue
            org = org_id(value)
            out.fact(app, "developed_by", org, via="signing certificate", field=field_name,
                     certificate=cert["sha256"])
            orgs.append(org)
            if cert.get("country") and field_name == "O":
                out.fact(org, "located_in", region_id(cert['country'].upper()), via="signing certificate C")
    seen: set[str] = set()
    for member, strings in sorted(reading.strings.items()):
        for text in strings:
            for found in _indicators(text):
                if found.node in seen or len(seen) >= MAX_MENTIONS:
                    continue
                seen.add(found.node)
                out.node(found.node, **found.attrs)
                out.fact(app, "mentions", found.node, found_in=member,
                         context=clean_context(f"{member}: {text}"), **found.fact_attrs)
                out.leads.append(found.node)
            for m in _URL.finditer(text):
                try:
                    url = url_id(normalize_url(m.group(0).rstrip('.,;)')))
                except NormalizeError:
                    continue
                if url not in seen and len(seen) < MAX_MENTIONS:
                    seen.add(url)
                    out.fact(app, "mentions", url, found_in=member, context=clean_context(f"{member}: {text}"))
    out.leads.extend(orgs)
    return out


def parse_apk(raw: bytes, name: str = "APK") -> Parsed:
    """Re-read a stored APK into facts (ParseError if it is not one)."""
    try:
        reading = read_apk(raw, name)
    except ApkError as exc:
        raise ParseError(str(exc)) from None
    return reading_to_parsed(reading, hashlib.sha256(raw).hexdigest(), len(raw))


def import_apk_file(path: str | Path, store: Any, run_id: str, *, case: Any = None,
                    enrich: EnrichSettings | None = None) -> tuple[Reading, int, list[str]]:
    """Store the APK whole as one observation of source "apk", then its parse, then (with a case)
    the cn-registry comparison of each organisation its certificates name with the case's companies.

    Returns (what was read, the observation id, the org nodes found). Raises ApkError (nothing
    stored) for a file that is not an APK, too big, or a zip bomb; OsintError if it cannot be read.
    """
    path = Path(path)
    start = time.monotonic()
    try:
        size = path.stat().st_size
        if size > MAX_APK_BYTES:
            raise ApkError(f"{path}: {size:,} bytes, over the {MAX_APK_BYTES:,}-byte cap for an APK; nothing stored")
        raw = path.read_bytes()
    except OSError as exc:
        raise OsintError(f"{path}: cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_APK_BYTES:  # it grew while we looked
        raise ApkError(f"{path}: over the {MAX_APK_BYTES:,}-byte cap for an APK; nothing stored")
    reading = read_apk(raw, str(path))
    digest = hashlib.sha256(raw).hexdigest()
    parsed = reading_to_parsed(reading, digest, len(raw))
    endpoint = f"file:{path.name}"
    query = Query(SOURCE, f"import {digest}", app_node(reading.package), "file",
                  {"file": path.name, "size": len(raw), "sha256": digest}, endpoint)
    oid = record_file(store, run_id, query, raw,
                      {"package": reading.package, "certificates": len(reading.certificates)}, start)
    store.record_parse(oid, PARSER, parsed.to_json())
    orgs = sorted({f.object for f in parsed.facts if f.relation == "developed_by"})
    if case is not None and orgs:
        from ..transport.pipeline import ask_once
        from ..sources.cnregistry import CNRegistrySource

        registry = CNRegistrySource(SourceSettings(), SourceContext(case, enrich or EnrichSettings()))
        for org in orgs:
            for q in registry.queries(org, 1):
                ask_once(registry, q, store, run_id=run_id)
    return reading, oid, orgs
