"""An HTTP server on loopback: routes, virtual hosts, Basic auth and fault modes."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import socketserver
import threading
import traceback
import zlib
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from .faults import (
    Fault,
    FaultPlan,
    LabServer,
    TrackedConnections,
    reset_connection,
    send_slowly,
    wait_for_peer_or_stop,
)

HUGE_DEFAULT_BYTES = 50 * 1024 * 1024
GZIP_BOMB_DEFAULT_BYTES = 100 * 1024 * 1024
STREAM_BLOCK = 64 * 1024
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(56)


@dataclass(frozen=True)
class HTTPRequest:
    """One request as a lab server received it."""

    method: str
    target: str  # the request-target as sent: origin-form, or absolute-form through a proxy
    path: str
    raw_query: str
    headers: Message
    body: bytes
    client: tuple[str, int]

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    @property
    def params(self) -> dict[str, str]:
        """Query parameters, last value wins."""
        return {name: values[-1] for name, values in self.query.items()}

    @property
    def host(self) -> str:
        """The Host header, lower case, without its port."""
        return _strip_port(self.headers.get("Host", "")).lower()

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Response:
    """What a route answers. `body` may be bytes, text, or anything JSON can encode."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def render(self) -> tuple[int, dict[str, str], bytes]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            body, default_type = self.body, "application/octet-stream"
        elif isinstance(self.body, str):
            body, default_type = self.body.encode("utf-8"), "text/plain; charset=utf-8"
        elif self.body is None:
            body, default_type = b"", "text/plain; charset=utf-8"
        else:
            body, default_type = json.dumps(self.body).encode("utf-8"), "application/json"
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = self.content_type or default_type
        return self.status, headers, body


ResponseSpec = Any  # Response | bytes | str | JSON-able | (status, body[, headers]) | callable


def as_response(spec: ResponseSpec, request: HTTPRequest) -> Response:
    if isinstance(spec, Response):
        return spec
    if callable(spec):
        return as_response(spec(request), request)
    if isinstance(spec, tuple) and spec and isinstance(spec[0], int):
        return Response(spec[0], *spec[1:])
    return Response(body=spec)


@dataclass
class Route:
    """A method and a path (exact, prefix or regex), optionally for one Host only."""

    method: str
    path: str | re.Pattern[str]
    response: ResponseSpec
    prefix: bool = False
    host: str | None = None
    auth: tuple[str, str] | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method) and not (method == "HEAD" and self.method == "GET"):
            return False
        if isinstance(self.path, re.Pattern):
            return self.path.fullmatch(path) is not None
        return path.startswith(self.path) if self.prefix else path == self.path

    def authorized(self, request: HTTPRequest) -> bool:
        if self.auth is None:
            return True
        scheme, _, encoded = (request.authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == self.auth


class LabHTTPServer(LabServer):
    """Serves registered routes; unknown routes get 404. Records every request.

    Faults (`set_fault(mode, path=None, times=None, **options)`; the key is a path such as
    "/api/host" or host+path such as "www.example.com/api/host"):
    silence, reset (headers and `fraction` of the body, then RST), garbage (size=bytes),
    status_429 (retry_after=seconds, default 1), status_429_no_retry_after,
    status_5xx (status=500/502/503, default 503), malformed_json, wrong_content_type,
    trickle (interval=seconds), huge (size=bytes, default 50 MB; chunked=True for no
    Content-Length), gzip_bomb (size=decompressed bytes, default 100 MB),
    redirect (location=URL, status=301/302/307/308, default 302), latency (delay=seconds).
    """

    def __init__(self, routes: Mapping[Any, ResponseSpec] | None = None, *,
                 trickle_interval: float = 1.0):
        super().__init__(log_key=lambda request: request.path)
        self.trickle_interval = trickle_interval
        self.errors: list[str] = []  # tracebacks from callable routes, for debugging tests
        self._routes: list[Route] = []
        self._routes_lock = threading.Lock()
        if routes:
            self.add_routes(routes)

    # routes ------------------------------------------------------------------------------

    def add_route(self, method: str, path: str | re.Pattern[str], response: ResponseSpec = b"", *,
                  prefix: bool = False, host: str | None = None,
                  auth: tuple[str, str] | None = None) -> Route:
        """Answer `method path` with `response`; later routes never shadow earlier ones."""
        route = Route(method.upper(), path, response, prefix, host.lower() if host else None, auth)
        with self._routes_lock:
            self._routes.append(route)
        return route

    def get(self, path: str | re.Pattern[str], response: ResponseSpec, **options: Any) -> Route:
        return self.add_route("GET", path, response, **options)

    def post(self, path: str | re.Pattern[str], response: ResponseSpec, **options: Any) -> Route:
        return self.add_route("POST", path, response, **options)

    def add_routes(self, table: Mapping[Any, ResponseSpec], *, host: str | None = None) -> None:
        """Add {path: response} (any method) or {(method, path): response} routes."""
        for key, response in table.items():
            method, path = key if isinstance(key, tuple) else ("*", key)
            self.add_route(method, path, response, host=host)

    def add_site(self, host: str, table: Mapping[Any, ResponseSpec]) -> None:
        """Routes answered only when the Host header names `host` (a virtual host)."""
        self.add_routes(table, host=host)

    def find_route(self, method: str, host: str, path: str) -> Route | None:
        with self._routes_lock:
            routes = list(self._routes)
        for wanted_host in (host, None):
            for route in routes:
                if route.host == wanted_host and route.matches(method, path):
                    return route
        return None

    # addresses and counts ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def count(self, key: str | None = None, *, host: str | None = None,
              method: str | None = None) -> int:
        """Requests received, optionally only for one path, Host and/or method."""
        return sum(
            1 for request in self.requests
            if (key is None or request.path == key)
            and (host is None or request.host == host.lower())
            and (method is None or request.method == method.upper())
        )

    def _open(self) -> list[Any]:
        server = LabThreadingHTTPServer((self.host, 0), LabRequestHandler)
        server.lab = self
        self.port = server.server_address[1]
        return [server]

    # answering ---------------------------------------------------------------------------

    def respond(self, request: HTTPRequest) -> tuple[int, dict[str, str], bytes]:
        """The normal answer to a request: route, Basic auth, or 404."""
        route = self.find_route(request.method, request.host, request.path)
        if route is None:
            text = f"no lab route for {request.method} {request.host}{request.path}\n"
            return Response(404, text).render()
        if not route.authorized(request):
            return Response(401, "authorization required\n",
                            {"WWW-Authenticate": 'Basic realm="lab"'}).render()
        try:
            return as_response(route.response, request).render()
        except Exception:  # a broken test route must show up as a 500, not a hung client
            self.errors.append(traceback.format_exc())
            return Response(500, "lab route raised; see LabHTTPServer.errors\n").render()

    def serve(self, handler: LabRequestHandler, request: HTTPRequest) -> None:
        self.requests.append(request)
        fault = self.faults.take(request.host + request.path, request.path)
        mode = fault.mode if fault else None
        if fault is not None and mode in _WHOLE_ANSWER_FAULTS:
            _WHOLE_ANSWER_FAULTS[mode](self, handler, fault)
            return
        if mode is Fault.LATENCY and self.pause(float(fault.option("delay", 1.0))):
            handler.close_connection = True
            return
        status, headers, body = self.respond(request)
        if mode is Fault.MALFORMED_JSON:
            status, headers = 200, {**headers, "Content-Type": "application/json"}
            body = _truncate_json(body)
        if mode is Fault.RESET:
            if len(body) < 2:
                body = b'{"padding": "' + b"x" * 1024 + b'"}'
            handler.send_head(status, headers, len(body))
            handler.wfile.write(body[: max(1, int(len(body) * fault.option("fraction", 0.5)))])
            handler.close_connection = True
            reset_connection(handler.connection)
        elif mode is Fault.TRICKLE:
            handler.send_head(status, headers, len(body))
            interval = float(fault.option("interval", self.trickle_interval))
            if not send_slowly(handler.connection, body, interval, self.stopping):
                handler.close_connection = True
        else:
            handler.send_all(status, headers, body)


# --- faults that replace the whole answer -----------------------------------------------------


def _silence(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    handler.close_connection = True
    wait_for_peer_or_stop(handler.connection, lab.stopping)


def _garbage(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    handler.close_connection = True
    handler.wfile.write(b"\x00" + os.urandom(int(fault.option("size", 512))) + b"\r\n\r\n")


def _status_429(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    headers = {"Retry-After": str(fault.option("retry_after", 1))}
    handler.send_all(*Response(429, {"error": "rate limit exceeded"}, headers).render())


def _status_429_bare(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    handler.send_all(*Response(429, {"error": "rate limit exceeded"}).render())


def _status_5xx(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    status = int(fault.option("status", 503))
    text = f"<html><body><h1>{status}</h1>upstream trouble</body></html>"
    handler.send_all(*Response(status, text, content_type="text/html").render())


def _wrong_content_type(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    handler.send_all(200, {"Content-Type": fault.option("content_type", "image/png")}, PNG_BYTES)


def _redirect(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    headers = {"Location": str(fault.option("location", "/")), "Content-Type": "text/plain"}
    handler.send_all(int(fault.option("status", 302)), headers, b"")


def _huge(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    size = int(fault.option("size", HUGE_DEFAULT_BYTES))
    content_type = fault.option("content_type", "application/octet-stream")
    chunked = bool(fault.option("chunked", False))
    block = b"A" * STREAM_BLOCK
    handler.close_connection = True
    if chunked:
        handler.send_head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"}, None)
    else:
        handler.send_head(200, {"Content-Type": content_type}, size)
    sent = 0
    try:
        while sent < size and not lab.stopping.is_set():
            piece = block[: size - sent]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass  # the client stopped reading, as a careful client should


def _gzip_bomb(lab: LabHTTPServer, handler: LabRequestHandler, fault: FaultPlan) -> None:
    body = gzip_of_zeros(int(fault.option("size", GZIP_BOMB_DEFAULT_BYTES)))
    headers = {"Content-Type": fault.option("content_type", "application/json"),
               "Content-Encoding": "gzip"}
    handler.send_all(200, headers, body)


_WHOLE_ANSWER_FAULTS: dict[Fault, Callable[[LabHTTPServer, Any, FaultPlan], None]] = {
    Fault.SILENCE: _silence,
    Fault.GARBAGE: _garbage,
    Fault.STATUS_429: _status_429,
    Fault.STATUS_429_NO_RETRY_AFTER: _status_429_bare,
    Fault.STATUS_5XX: _status_5xx,
    Fault.WRONG_CONTENT_TYPE: _wrong_content_type,
    Fault.REDIRECT: _redirect,
    Fault.HUGE: _huge,
    Fault.GZIP_BOMB: _gzip_bomb,
}

_gzip_cache: dict[int, bytes] = {}
_gzip_lock = threading.Lock()


def gzip_of_zeros(size: int) -> bytes:
    """A gzip stream that inflates to `size` zero bytes (about 1000:1), built once per size."""
    with _gzip_lock:
        if size not in _gzip_cache:
            compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            zeros = bytes(1024 * 1024)
            parts, left = [], size
            while left > 0:
                parts.append(compressor.compress(zeros[:left]))
                left -= min(left, len(zeros))
            parts.append(compressor.flush())
            _gzip_cache[size] = b"".join(parts)
        return _gzip_cache[size]


def _truncate_json(body: bytes) -> bytes:
    if len(body) >= 4:
        return body[: len(body) // 2]
    return b'{"results": [{"ip": "192.0.2.1", "ports": [80, 44'


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# --- http.server glue -------------------------------------------------------------------------


class LabThreadingHTTPServer(TrackedConnections, ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog is 5: under load, connections beyond it wait for a SYN retransmit
    # (1 s) and a client with a short deadline records a timeout the lab never meant to play.
    request_queue_size = 128
    lab: Any

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a resolver lookup the lab neither needs nor wants.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class LabRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LabHTTP/1.0"
    sys_version = ""
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the request log is the record; stderr noise helps nobody

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:
            self.close_connection = True  # the client hung up or was reset mid-answer

    def _dispatch(self) -> None:
        request = read_request(self)
        if request is None:
            return
        self.server.lab.serve(self, request)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def send_head(self, status: int, headers: Mapping[str, str], length: int | None) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if length is not None and not any(n.lower() == "content-length" for n in headers):
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def send_all(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_head(status, headers, len(body))
        if self.command != "HEAD":
            self.wfile.write(body)


def read_request(handler: BaseHTTPRequestHandler) -> HTTPRequest | None:
    """Read the body (Content-Length or chunked) and describe the request."""
    body = b""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        while True:
            size_line = handler.rfile.readline(1024)
            if not size_line:
                return None
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline(1024)
                break
            body += handler.rfile.read(size)
            handler.rfile.readline(1024)
    else:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
    if handler.path.startswith("/"):
        path, _, query = handler.path.partition("?")
    else:  # absolute-form, as sent to a proxy
        parts = urlsplit(handler.path)
        path, query = parts.path or "/", parts.query
    return HTTPRequest(
        method=handler.command,
        target=handler.path,
        path=path,
        raw_query=query,
        headers=handler.headers,
        body=body,
        client=handler.client_address,
    )

