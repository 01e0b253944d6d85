"""Validate indicators as written in a case file and give each its canonical form."""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import quote, urlsplit

import idna

from osint.textnorm import fold_cjk, lookalikes, person_pinyin, to_pinyin

__all__ = [
    "NormalizeError", "normalize_ip", "normalize_domain", "canonical_host", "domain_display",
    "normalize_email", "email_display", "normalize_url", "url_display",
    "normalize_handle", "fold_cjk", "lookalikes", "to_pinyin", "person_pinyin",
]


class NormalizeError(ValueError):
    """The value is not a valid indicator of its kind."""


def normalize_ip(text: str) -> str:
    """Canonical text of an IPv4 or IPv6 address ('2001:DB8::1' -> '2001:db8::1')."""
    try:
        return str(ipaddress.ip_address(str(text).strip()))
    except ValueError:
        raise NormalizeError(f"{text!r} is not an IP address") from None


_LDH = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@functools.lru_cache(maxsize=65536)  # a page names the same hosts thousands of times; IDNA is slow
def normalize_domain(text: str) -> str:
    """Lowercase IDNA A-label form of a host name, without the trailing dot.

    'Bücher.Example.' -> 'xn--bcher-kva.example'.
    """
    raw = str(text).strip()
    if not raw:
        raise NormalizeError("domain is empty")
    if "://" in raw or "/" in raw or "@" in raw or " " in raw:
        raise NormalizeError(f"{raw!r} is not a domain name; write the host name only")
    name = raw.removesuffix(".")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise NormalizeError(f"{raw!r} is an IP address, not a domain name")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise NormalizeError(f"{raw!r} is not a valid domain name: {exc}") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise NormalizeError(f"{raw!r} is not a fully qualified domain name (no dot)")
    if len(ascii_name) > 253:
        raise NormalizeError(f"{raw!r} is longer than 253 characters")
    for label in labels:
        if not _LDH.match(label):
            raise NormalizeError(f"{raw!r} has an invalid label {label!r}")
    if labels[-1].isdigit():
        raise NormalizeError(f"{raw!r} has an all-numeric top-level label")
    return ascii_name


@functools.lru_cache(maxsize=65536)
def canonical_host(text: str) -> str:
    """The one canonical form of a host name wherever it comes from (a case file, a DNS answer, a
    certificate, a page): lowercase IDNA A-labels, no trailing dot. Unlike normalize_domain it never
    refuses: a name IDNA cannot encode (_dmarc, an underscore label, a bare label) stays lowercase,
    so 'Bücher.example', 'BÜCHER.example.' and 'xn--bcher-kva.example' are one node."""
    name = str(text).strip().rstrip(".")
    try:
        return idna.encode(name, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return name.lower()


def domain_display(a_label: str) -> str:
    """The Unicode form of a normalized domain, for people to read."""
    try:
        return idna.decode(a_label)
    except idna.IDNAError:
        return a_label


# RFC 5322 dot-atom, widened to Unicode letters for internationalized addresses.
_LOCAL = re.compile(r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*$")


def normalize_email(text: str) -> str:
    """'Support@AntBot-AI.org' -> 'support@antbot-ai.org'.

    One address, one node: mail providers treat local parts case-insensitively, and a complaint that
    writes Support@ and a page that writes support@ name the same mailbox. The spelling as written is
    kept beside it for display (the case file's `as_written`)."""
    raw = str(text).strip()
    if raw.count("@") != 1:
        raise NormalizeError(f"{raw!r} is not an e-mail address (needs exactly one @)")
    local, domain = raw.split("@")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        raise NormalizeError(f"{raw!r} has an invalid local part {local!r}")
    try:
        host = normalize_domain(domain)
    except NormalizeError as exc:
        raise NormalizeError(f"{raw!r} has an invalid domain: {exc}") from None
    return f"{local.lower()}@{host}"


def email_display(email: str) -> str:
    local, _, host = email.rpartition("@")
    return f"{local}@{domain_display(host)}"


_PCT = re.compile(r"%[0-9a-fA-F]{2}")
_SAFE = "/:@!$&'()*+,;=-._~%"


def _requote(part: str, safe: str) -> str:
    # Percent-encode what must be encoded and write existing escapes in upper case, so
    # the same URL copied from a browser or from a PDF gets the same canonical form.
    part = quote(part, safe=safe)
    return _PCT.sub(lambda m: m.group(0).upper(), part)


def normalize_url(text: str, *, default_scheme: str | None = None) -> str:
    """Canonical http(s) URL: lowercase scheme and host, IDNA host, no default port,
    '/' for an empty path, no fragment.

    default_scheme is used when the text has none ('www.youtube.com/@x' as people write it).
    """
    raw = str(text).strip()
    if not raw or any(ch.isspace() for ch in raw):
        raise NormalizeError(f"{raw!r} is not a URL (empty or contains spaces)")
    if default_scheme and "://" not in raw:
        raw_full = f"{default_scheme}://{raw}"
    else:
        raw_full = raw
    try:
        parts = urlsplit(raw_full)
        port = parts.port
    except ValueError as exc:
        raise NormalizeError(f"{raw!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise NormalizeError(f"{raw!r} is not an http or https URL")
    if not parts.hostname:
        raise NormalizeError(f"{raw!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise NormalizeError(f"{raw!r} carries a user name or password; remove them")
    try:
        host = normalize_ip(parts.hostname.strip("[]"))
        if ":" in host:
            host = f"[{host}]"
    except NormalizeError:
        try:
            host = normalize_domain(parts.hostname)
        except NormalizeError as exc:
            raise NormalizeError(f"{raw!r} has an invalid host: {exc}") from None
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    path = _requote(parts.path or "/", _SAFE)
    query = f"?{_requote(parts.query, _SAFE + '?')}" if parts.query else ""
    return f"{scheme}://{host}{path}{query}"


def url_display(url: str) -> str:
    """The URL with its host in Unicode form."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = domain_display(host)
    return url.replace(host, shown, 1) if shown != host else url


def normalize_handle(handle: str) -> str:
    """Account handles are case-insensitive on the platforms we meet: '@AntRade_IO' -> 'antrade_io'."""
    value = str(handle).strip().removeprefix("@").lower()
    if not value or any(ch.isspace() or ch in "/:?#" for ch in value):
        raise NormalizeError(f"{handle!r} is not an account handle")
    return value
