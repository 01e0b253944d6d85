"""An HTTP forward proxy on loopback that serves lab sites and never reaches the network."""

from __future__ import annotations

import http.client
import threading
from typing import Any, Mapping
from urllib.parse import urlsplit

from .faults import LabServer
from .http_server import (
    HTTPRequest,
    LabHTTPServer,
    Response,
    LabRequestHandler,
    LabThreadingHTTPServer,
    read_request,
)

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade",
}


class LabHTTPProxy(LabServer):
    """Answers absolute-form requests (`GET http://www.example.com/x`) from lab sites.

    `sites` maps a host name (or host:port) to a LabHTTPServer, which the proxy forwards to
    over loopback with the original Host header, or to a route table ({path: response} or
    {(method, path): response}), which the proxy serves from a private LabHTTPServer.
    Unknown hosts get 502; CONNECT gets 502 (the lab has no TLS).
    """

    def __init__(self, sites: Mapping[str, LabHTTPServer | Mapping[Any, Any]] | None = None, *,
                 upstream_timeout: float = 10.0):
        super().__init__(log_key=lambda request: request.target)
        self.upstream_timeout = upstream_timeout
        self._sites: dict[str, LabHTTPServer] = {}
        self._private: list[LabHTTPServer] = []
        self._sites_lock = threading.Lock()
        for host, target in (sites or {}).items():
            self.add_site(host, target)

    def add_site(self, host: str, target: LabHTTPServer | Mapping[Any, Any]) -> LabHTTPServer:
        """Serve `host` from a lab server or a route table; returns the server that answers."""
        if not isinstance(target, LabHTTPServer):
            target = LabHTTPServer(routes=target)
            self._private.append(target)
            if self.running:
                target.start()
        with self._sites_lock:
            self._sites[host.lower()] = target
        return target

    def site(self, host: str) -> LabHTTPServer | None:
        with self._sites_lock:
            return self._sites.get(host.lower())

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def proxies(self) -> dict[str, str]:
        """The `proxies=` argument for requests."""
        return {"http": self.url, "https": self.url}

    def env(self) -> dict[str, str]:
        """Environment variables that point HTTP clients at this proxy."""
        return {"HTTP_PROXY": self.url, "http_proxy": self.url, "NO_PROXY": "", "no_proxy": ""}

    def count(self, key: str | None = None) -> int:
        """Requests received; `key` matches a full URL, a host, or a path."""
        if key is None:
            return len(self.requests)
        return sum(
            1 for request in self.requests
            if key in (request.target, urlsplit(request.target).hostname, request.path)
        )

    def start(self):  # type: ignore[no-untyped-def]
        for server in self._private:
            if not server.running:
                server.start()
        return super().start()

    def stop(self) -> None:
        super().stop()
        for server in self._private:
            server.stop()

    def _open(self) -> list[Any]:
        server = LabThreadingHTTPServer((self.host, 0), _ProxyHandler)
        server.lab = self
        self.port = server.server_address[1]
        return [server]

    def serve(self, handler: LabRequestHandler, request: HTTPRequest) -> None:
        self.requests.append(request)
        if request.method == "CONNECT":
            handler.close_connection = True
            handler.send_all(*Response(502, "the lab proxy does not tunnel\n").render())
            return
        parts = urlsplit(request.target)
        if parts.scheme != "http" or not parts.hostname:
            handler.send_all(*Response(400, "the lab proxy wants absolute-form http:// URLs\n").render())
            return
        site = self.site(parts.netloc) or self.site(parts.hostname)
        if site is None:
            text = f"the lab proxy has no site for {parts.hostname}, and never goes upstream\n"
            handler.send_all(*Response(502, text).render())
            return
        self._forward(handler, request, site, parts.netloc)

    def _forward(self, handler: LabRequestHandler, request: HTTPRequest, site: LabHTTPServer,
                 netloc: str) -> None:
        handler.close_connection = True
        upstream = http.client.HTTPConnection(site.host, site.port, timeout=self.upstream_timeout)
        try:
            path = request.path + (f"?{request.raw_query}" if request.raw_query else "")
            upstream.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
            upstream.putheader("Host", request.headers.get("Host", netloc))
            for name, value in request.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() not in ("host", "content-length"):
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(request.body)))
            upstream.endheaders(request.body)
            answer = upstream.getresponse()
        except (OSError, http.client.HTTPException) as error:
            handler.send_all(*Response(502, f"lab site failed: {error!r}\n").render())
            upstream.close()
            return
        try:
            headers = {name: value for name, value in answer.getheaders()
                       if name.lower() not in HOP_BY_HOP}
            handler.send_head(answer.status, headers, None)
            while request.method != "HEAD":
                block = answer.read1(65536)
                if not block:
                    break
                handler.wfile.write(block)
        except (OSError, http.client.HTTPException):
            pass  # the site broke mid-answer; the client sees the connection end early
        finally:
            upstream.close()


class _ProxyHandler(LabRequestHandler):
    server_version = "LabProxy/1.0"

    def _dispatch(self) -> None:
        request = read_request(self)
        if request is not None:
            self.server.lab.serve(self, request)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_CONNECT = _dispatch
