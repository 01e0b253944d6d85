"""A tiny synthetic APK, built here rather than committed: a binary AndroidManifest.xml, a classes.dex
whose string table carries hard-coded hosts, an asset, and a v1 (JAR) signature by a throw-away
certificate made with `cryptography`. Real enough for androguard to read as an APK."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import struct
import zipfile
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

ANDROID_NS = "http://schemas.android.com/apk/res/android"
# android:name, android:label, android:versionCode, android:versionName in the framework's resource table.
ATTR_IDS = {"label": 0x01010001, "name": 0x01010003, "versionCode": 0x0101021B, "versionName": 0x0101021C}
TYPE_STRING, TYPE_INT_DEC = 0x03, 0x10


@dataclass
class ApkSpec:
    package: str = "com.example.labbot"
    label: str = "LabBot"
    version_name: str = "2.3.1"
    version_code: int = 231
    organization: str = "Shenzhen Shiyanyi Network Technology Co., Ltd."
    common_name: str = "LabBot Release"
    dex_strings: list[str] = field(default_factory=lambda: [
        "https://api.example.com/v1/bind", "198.51.100.20", "http://203.0.113.30:8080/ws", "ops@example.net",
        "Lcom/example/labbot/MainActivity;", "com.example.labbot.MainActivity", "okhttp3.OkHttpClient",
        "android.intent.action.MAIN", "127.0.0.1"])
    assets: dict[str, bytes] = field(default_factory=lambda: {
        "assets/config.json": b'{"backup": "https://backup.example.org/api", "support": "support@example.com"}'})
    signed: bool = True


# -- binary XML (the format aapt writes AndroidManifest.xml in) -------------------------------------


def _chunk(kind: int, header: bytes, body: bytes, header_size: int | None = None) -> bytes:
    hsize = header_size if header_size is not None else 8 + len(header)
    return struct.pack("<HHI", kind, hsize, 8 + len(header) + len(body)) + header + body


def _string_pool(strings: list[str]) -> bytes:
    data, offsets = b"", []
    for s in strings:
        offsets.append(len(data))
        enc = s.encode("utf-16-le")
        data += struct.pack("<H", len(enc) // 2) + enc + b"\0\0"
    data += b"\0" * (-len(data) % 4)
    start = 28 + 4 * len(strings)
    header = struct.pack("<IIIII", len(strings), 0, 0, start, 0)
    return _chunk(0x0001, header, b"".join(struct.pack("<I", o) for o in offsets) + data)


def manifest_axml(spec: ApkSpec) -> bytes:
    attrs = ["versionCode", "versionName", "label", "name"]  # resource-mapped names come first
    strings = attrs + ["android", ANDROID_NS, "manifest", "package", "application", spec.package,
                       spec.version_name, spec.label, "activity", f"{spec.package}.MainActivity"]
    idx = {s: i for i, s in enumerate(strings)}
    resmap = _chunk(0x0180, b"", b"".join(struct.pack("<I", ATTR_IDS[a]) for a in attrs))
    none = 0xFFFFFFFF
    node = struct.pack("<II", 1, none)

    def attr(ns: int, name: str, value: str | int) -> bytes:
        if isinstance(value, int):
            return struct.pack("<IIIHBBI", ns, idx[name], none, 8, 0, TYPE_INT_DEC, value)
        return struct.pack("<IIIHBBI", ns, idx[name], idx[value], 8, 0, TYPE_STRING, idx[value])

    def start(name: str, attributes: list[bytes]) -> bytes:
        ext = struct.pack("<IIHHHHHH", none, idx[name], 20, 20, len(attributes), 0, 0, 0)
        return _chunk(0x0102, node, ext + b"".join(attributes), header_size=16)

    def end(name: str) -> bytes:
        return _chunk(0x0103, node, struct.pack("<II", none, idx[name]), header_size=16)

    ns = idx[ANDROID_NS]
    ns_ext = struct.pack("<II", idx["android"], ns)
    body = (_string_pool(strings) + resmap
            + _chunk(0x0100, node, ns_ext, header_size=16)
            + start("manifest", [attr(ns, "versionCode", spec.version_code),
                                 attr(ns, "versionName", spec.version_name),
                                 attr(none, "package", spec.package)])
            + start("application", [attr(ns, "label", spec.label)])
            + start("activity", [attr(ns, "name", f"{spec.package}.MainActivity")]) + end("activity")
            + end("application") + end("manifest")
            + _chunk(0x0101, node, ns_ext, header_size=16))
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


# -- a dex file with a string table ------------------------------------------------------------------


def _uleb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def classes_dex(strings: list[str]) -> bytes:
    """Header, string_ids and string data, and a map list: the parts that hold a program's literals."""
    strings = sorted(set(strings))
    header_size, n = 0x70, len(strings)
    ids_off = header_size
    data_off = ids_off + 4 * n
    data, offsets = b"", []
    for s in strings:
        offsets.append(data_off + len(data))
        data += _uleb128(len(s)) + s.encode("utf-8") + b"\0"
    data += b"\0" * (-len(data) % 4)
    map_off = data_off + len(data)
    maps = [(0x0000, 1, 0), (0x0001, n, ids_off), (0x2002, n, data_off), (0x1000, 1, map_off)]
    map_list = struct.pack("<I", len(maps)) + b"".join(struct.pack("<HHII", t, 0, c, o) for t, c, o in maps)
    size = map_off + len(map_list)
    header = bytearray(header_size)
    header[0:8] = b"dex\n035\0"
    struct.pack_into("<III", header, 0x20, size, header_size, 0x12345678)
    struct.pack_into("<I", header, 0x34, map_off)
    struct.pack_into("<II", header, 0x38, n, ids_off)
    struct.pack_into("<II", header, 0x68, size - data_off, data_off)
    body = bytes(header) + b"".join(struct.pack("<I", o) for o in offsets) + data + map_list
    body = body[:12] + hashlib.sha1(body[32:]).digest() + body[32:]
    import zlib
    return body[:8] + struct.pack("<I", zlib.adler32(body[12:])) + body[12:]


# -- v1 (JAR) signing ----------------------------------------------------------------------------


def signing_identity(spec: ApkSpec) -> tuple[object, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.LOCALITY_NAME, "Shenzhen"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name)])
    start = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x1AB5) .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return key, cert


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def build_apk(spec: ApkSpec | None = None) -> tuple[bytes, x509.Certificate | None]:
    """(the APK's bytes, its signing certificate or None)."""
    spec = spec or ApkSpec()
    members = {"AndroidManifest.xml": manifest_axml(spec), "classes.dex": classes_dex(spec.dex_strings),
               **spec.assets}
    cert = None
    if spec.signed:
        manifest = "Manifest-Version: 1.0\r\nCreated-By: osint tests\r\n\r\n"
        sections = {}
        for name, data in members.items():
            sections[name] = f"Name: {name}\r\nSHA-256-Digest: {_digest(data)}\r\n\r\n"
            manifest += sections[name]
        sf = (f"Signature-Version: 1.0\r\nSHA-256-Digest-Manifest: {_digest(manifest.encode())}\r\n"
              "Created-By: osint tests\r\n\r\n")
        sf += "".join(f"Name: {n}\r\nSHA-256-Digest: {_digest(s.encode())}\r\n\r\n" for n, s in sections.items())
        key, cert = signing_identity(spec)
        signature = (pkcs7.PKCS7SignatureBuilder().set_data(sf.encode()).add_signer(cert, key, hashes.SHA256())
                     .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature,
                                                        pkcs7.PKCS7Options.NoCapabilities]))
        members = {"META-INF/MANIFEST.MF": manifest.encode(), "META-INF/CERT.SF": sf.encode(),
                   "META-INF/CERT.RSA": signature, **members}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue(), cert


def zip_bomb(size: int = 1_200_000_000) -> bytes:
    """A ZIP that says it is an APK (it has a manifest) and inflates one member to `size` zero bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", manifest_axml(ApkSpec()))
        info = zipfile.ZipInfo("classes.dex")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(block)
    return buf.getvalue()
