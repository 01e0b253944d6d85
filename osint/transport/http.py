"""HTTP(S) with requests: proxies and CA bundles from the environment, caps, deadlines, checked redirects."""

from __future__ import annotations

import http.client
import logging
import threading
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.utils import get_environ_proxies

from .. import __version__
from .base import Fetched, Outcome, Query, redact
from .policy import AddressPolicy, BlockedAddress

DEFAULT_MAX_BYTES = 10_000_000
USER_AGENT = f"osint/{__version__} (+evidence collection for an investigation)"
_local = threading.local()


class _ScrubCredentials(logging.Filter):
    """Takes every credential this transport has put on the wire out of urllib3's log records.

    urllib3 logs the whole request URL, query string and all, at DEBUG for every request and as a
    WARNING when a server sends malformed headers; Shodan's key travels in that query string.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()  # replaced, never mutated: worker threads read it unlocked
        self._lock = threading.Lock()

    def add(self, secrets: list[str]) -> None:
        if all(s in self._secrets for s in secrets):
            return
        with self._lock:
            self._secrets = tuple(sorted(set(self._secrets) | set(secrets), key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = list(self._secrets)
        if not secrets:
            return True
        message = record.getMessage()
        clean = redact(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:  # formatted here, so that handlers reuse the clean text
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


_scrub = _ScrubCredentials()
# A logger's filters see only the records logged on it, not its children's: attach to each.
for _name in sorted({"urllib3", "urllib3.connection", "urllib3.connectionpool", "urllib3.response",
                     "urllib3.poolmanager", "urllib3.util.retry", "requests",
                     *(n for n in logging.root.manager.loggerDict if n.startswith(("urllib3.", "requests.")))}):
    logging.getLogger(_name).addFilter(_scrub)


class _EgressAdapter(requests.adapters.HTTPAdapter):
    """Binds every connection, direct or to a proxy, to one local address."""

    def __init__(self, egress: str):
        self._source = (egress, 0)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, source_address=self._source, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        return super().proxy_manager_for(proxy, source_address=self._source, **kwargs)


def _session(egress: str | None = None) -> requests.Session:
    # One session per worker thread (and egress address): requests' Session is not guaranteed thread-safe.
    sessions = _local.__dict__.setdefault("sessions", {})
    s = sessions.get(egress)
    if s is None:
        s = requests.Session()
        s.trust_env = True  # HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE
        s.headers["User-Agent"] = USER_AGENT
        if egress:
            for scheme in ("http://", "https://"):
                s.mount(scheme, _EgressAdapter(egress))
        sessions[egress] = s
    return s


def _verify_setting() -> Any:
    # requests honours REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE itself; SSL_CERT_FILE is the OpenSSL one.
    import os

    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or True


def fetch_http(query: Query, timeout: float, max_bytes: int | None, policy: AddressPolicy,
               credentials: dict[str, str], max_redirects: int = 5) -> Fetched:
    """GET (or POST) one URL; follow redirects ourselves so that each hop is checked and recorded."""
    req = query.request
    max_bytes = max_bytes or DEFAULT_MAX_BYTES
    secrets = [v for v in credentials.values() if v]
    _scrub.add(secrets)
    start = time.monotonic()
    deadline = start + timeout
    url = req["url"]
    params = dict(req.get("params") or {})
    headers = dict(req.get("headers") or {})
    auth = None
    kind = query.auth[0] if query.auth else None
    if kind == "basic":
        user, password = credentials.get(query.auth[1]), credentials.get(query.auth[2])
        if user and password:
            auth = (user, password)
    elif kind == "param" and credentials.get(query.auth[2]):
        params[query.auth[1]] = credentials[query.auth[2]]
    elif kind == "header" and credentials.get(query.auth[2]):
        headers[query.auth[1]] = credentials[query.auth[2]]
    meta: dict[str, Any] = {"url": url, "redirects": []}
    trusted = query.trusted
    # An archived redirect is itself the answer (where the page pointed then): never followed live.
    follow = req.get("follow_redirects", True) is not False
    session = _session(policy.egress)

    def fail(outcome: Outcome, error: str, raw: bytes | None = None) -> Fetched:
        return Fetched(outcome, raw=raw, error=redact(error, secrets), meta=meta, endpoint=query.endpoint,
                       duration_ms=(time.monotonic() - start) * 1000.0)

    for hop in range(max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return fail(Outcome.BLOCKED, f"not an http(s) URL: {url}")
        proxied = bool(get_environ_proxies(url))
        try:
            policy.check_literal(parts.hostname, trusted=trusted)
            if not proxied and not trusted:
                policy.check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                  trusted=False)
        except BlockedAddress as exc:
            return fail(Outcome.BLOCKED, str(exc))
        except OSError as exc:
            return fail(Outcome.UNREACHABLE, str(exc))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return fail(Outcome.TIMEOUT, f"no answer from {parts.hostname} within {timeout:g}s")
        try:
            resp = session.request(
                req.get("method", "GET"), url, params=params or None, headers=headers, auth=auth,
                data=req.get("body"), timeout=(min(remaining, 10.0), remaining), allow_redirects=False,
                stream=True, verify=_verify_setting(),
            )
        except requests.exceptions.ProxyError as exc:
            return fail(Outcome.UNREACHABLE, f"proxy failed for {parts.hostname}: {_reason(exc)}")
        except requests.exceptions.SSLError as exc:
            return fail(Outcome.REFUSED, f"TLS failed with {parts.hostname}: {_reason(exc)}")
        except requests.exceptions.ConnectTimeout:
            return fail(Outcome.TIMEOUT, f"could not connect to {parts.hostname} within {timeout:g}s")
        except requests.exceptions.ReadTimeout:
            return fail(Outcome.TIMEOUT, f"{parts.hostname} did not answer within {timeout:g}s")
        except requests.exceptions.ConnectionError as exc:
            if _not_http(exc):
                return fail(Outcome.BAD_ANSWER, f"{parts.hostname} did not answer in HTTP")
            text = _reason(exc)
            if "refused" in text.lower():
                return fail(Outcome.REFUSED, f"{parts.hostname} refused the connection")
            if "reset" in text.lower() or "aborted" in text.lower() or "remote end closed" in text.lower():
                return fail(Outcome.RESET, f"{parts.hostname} closed the connection: {text}")
            return fail(Outcome.UNREACHABLE, f"{parts.hostname} unreachable: {text}")
        except requests.exceptions.RequestException as exc:
            return fail(Outcome.ERROR, f"{parts.hostname}: {_reason(exc)}")
        with resp:
            if resp.is_redirect and follow and hop < max_redirects:
                location = urljoin(url, resp.headers.get("Location", ""))
                meta["redirects"].append({"status": resp.status_code, "from": redact(url, secrets),
                                          "to": redact(location, secrets)})
                if urlsplit(location).netloc != parts.netloc:
                    # Credentials were given for the server we asked, not for wherever it sends us.
                    auth = None
                    if kind == "header":
                        headers.pop(query.auth[1], None)
                url, params, trusted = location, {}, False  # a redirect target is the answer's choice
                continue
            # Headers too: a redirect chain cut off at its limit leaves a Location that may echo the key.
            meta.update(status=resp.status_code, headers={k: redact(v, secrets) for k, v in _headers(resp).items()},
                        final_url=redact(resp.url, secrets))
            try:
                body, cut = _read_body(resp, max_bytes, deadline)
            except (TimeoutError, urllib3.exceptions.ReadTimeoutError):
                return fail(Outcome.TIMEOUT, f"{parts.hostname} did not finish the answer within {timeout:g}s")
            except urllib3.exceptions.DecodeError as exc:
                return fail(Outcome.BAD_ANSWER, f"{parts.hostname} sent an undecodable body: {_reason(exc)}")
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                return fail(Outcome.RESET, f"{parts.hostname} broke off the answer: {_reason(exc)}")
        meta["redirects"] = meta["redirects"] or None
        if cut:
            return fail(Outcome.TOO_LARGE, f"{parts.hostname} sent more than {max_bytes} bytes; cut off", body)
        status = resp.status_code
        if status == 429:
            f = fail(Outcome.RATE_LIMITED, f"{parts.hostname} answered 429 Too Many Requests", body)
            f.retry_after = _retry_after(resp.headers.get("Retry-After"))
            return f
        if status in (401, 403):
            return fail(Outcome.REFUSED, f"{parts.hostname} refused the request ({status}): check the credentials", body)
        if status == 404 or status == 410:
            return Fetched(Outcome.NO_RECORD, raw=body, meta=meta, endpoint=query.endpoint,
                           duration_ms=(time.monotonic() - start) * 1000.0)
        if status >= 500:
            f = fail(Outcome.SERVER_ERROR, f"{parts.hostname} answered {status}", body)
            f.retry_after = _retry_after(resp.headers.get("Retry-After"))
            return f
        if 300 <= status < 400 and follow:
            return fail(Outcome.BLOCKED, f"more than {max_redirects} redirects; stopped at {redact(url, secrets)}", body)
        if status >= 400:
            return fail(Outcome.ERROR, f"{parts.hostname} answered {status}", body)
        return Fetched(Outcome.ANSWERED, raw=body, meta=meta, endpoint=query.endpoint,
                       duration_ms=(time.monotonic() - start) * 1000.0)
    raise AssertionError("unreachable")  # pragma: no cover


def _read_body(resp: requests.Response, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    """Read the decoded body within the cap (a gzip bomb stops at the cap) and the deadline."""
    buf = bytearray()
    raw = resp.raw
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = raw.read1(65536, decode_content=True)
        if not chunk:
            return bytes(buf), False
        buf += chunk
        if len(buf) > max_bytes:
            del buf[max_bytes:]  # cut in place: a slice would be one more copy of the cap
            return bytes(buf), True


def _headers(resp: requests.Response) -> dict[str, str]:
    keep = ("content-type", "content-length", "content-encoding", "retry-after", "server", "date",
            "last-modified", "location", "x-ratelimit-remaining")
    return {k: v for k, v in ((k.lower(), v) for k, v in resp.headers.items()) if k in keep}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime
        from datetime import datetime, timezone

        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


def _not_http(exc: BaseException) -> bool:
    """True when the peer answered, but not in HTTP (garbage bytes): a bad answer, not a reset."""
    stack, seen = [exc], 0
    while stack and seen < 10:
        e = stack.pop()
        seen += 1
        if isinstance(e, http.client.HTTPException) and not isinstance(e, http.client.RemoteDisconnected):
            return True
        stack += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
        stack += [x for x in (e.__cause__, e.__context__) if x is not None]
    return False


def _reason(exc: BaseException) -> str:
    # requests nests the useful words a few levels down; keep one line.
    text = str(exc.args[0] if exc.args else exc)
    return text.splitlines()[0][:300] if text else exc.__class__.__name__
