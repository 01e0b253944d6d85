"""DNS over UDP with TCP fallback, keeping the response's wire bytes as evidence."""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
from functools import lru_cache

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver

from .base import Fetched, Outcome, Query

MAX_DNS_BYTES = 65535


@lru_cache(maxsize=1)
def system_nameservers() -> tuple[str, ...]:
    """The resolvers of the system configuration (/etc/resolv.conf), as 'ip:port'."""
    try:
        r = dns.resolver.Resolver(configure=True)
    except dns.resolver.NoResolverConfiguration:
        return ()
    return tuple(f"{ns}:{r.port}" if ":" not in ns else f"[{ns}]:{r.port}" for ns in r.nameservers)


def split_server(server: str, default_port: int = 53) -> tuple[str, int]:
    if server.startswith("["):
        host, _, port = server[1:].partition("]:")
        return host, int(port or default_port)
    if server.count(":") == 1:
        host, port = server.split(":")
        return host, int(port)
    return server, default_port


def fetch_dns(query: Query, timeout: float, egress: str | None = None) -> Fetched:
    """Ask one DNS question of the server named in query.endpoint (from the local address `egress`, if given)."""
    qname, rdtype = query.request["qname"], query.request["rdtype"]
    start = time.monotonic()
    meta: dict = {"server": query.endpoint}
    try:
        host, port = split_server(query.endpoint)
        ipaddress.ip_address(host)  # a resolver must be an address: we cannot look up the resolver
    except ValueError:
        return Fetched(Outcome.UNREACHABLE, error=f"no usable DNS server {query.endpoint!r}; give nameservers "
                       "as 'ip:port' in the source's settings", meta=meta, duration_ms=_ms(start))
    try:
        msg = dns.message.make_query(qname, rdtype, use_edns=0, payload=1232)
    except dns.exception.DNSException as exc:  # an empty or over-long label: not a question DNS can carry
        return Fetched(Outcome.ERROR, error=f"cannot ask {rdtype} {qname!r}: {exc}", meta=meta,
                       duration_ms=_ms(start))
    wire = msg.to_wire()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        raw = _udp(wire, host, port, family, timeout, msg.id, egress)
        answer = dns.message.from_wire(raw)
        if answer.flags & dns.flags.TC:
            meta["truncated_udp"] = True
            raw = _tcp(wire, host, port, family, timeout, egress)
            answer = dns.message.from_wire(raw)
            meta["transport"] = "tcp"
        else:
            meta["transport"] = "udp"
    except socket.timeout:
        return Fetched(Outcome.TIMEOUT, error=f"no answer from {query.endpoint} within {timeout:g}s",
                       meta=meta, duration_ms=_ms(start))
    except ConnectionRefusedError:
        return Fetched(Outcome.REFUSED, error=f"{query.endpoint} refused the connection", meta=meta,
                       duration_ms=_ms(start))
    except ConnectionResetError:
        return Fetched(Outcome.RESET, error=f"{query.endpoint} reset the connection", meta=meta,
                       duration_ms=_ms(start))
    except (dns.exception.DNSException, ValueError, struct.error) as exc:
        return Fetched(Outcome.BAD_ANSWER, raw=locals().get("raw"), error=f"unreadable DNS answer: {exc}",
                       meta=meta, duration_ms=_ms(start))
    except OSError as exc:
        return Fetched(Outcome.UNREACHABLE, error=f"{query.endpoint}: {exc.strerror or exc}", meta=meta,
                       duration_ms=_ms(start))
    rcode = answer.rcode()
    meta["rcode"] = dns.rcode.to_text(rcode)
    outcome = {
        dns.rcode.NOERROR: Outcome.ANSWERED if answer.answer else Outcome.NO_RECORD,
        dns.rcode.NXDOMAIN: Outcome.NO_RECORD,
        dns.rcode.SERVFAIL: Outcome.SERVER_ERROR,
        dns.rcode.REFUSED: Outcome.REFUSED,
    }.get(rcode, Outcome.ERROR)
    error = None if outcome.is_answer else f"{query.endpoint} answered {meta['rcode']}"
    return Fetched(outcome, raw=raw, error=error, meta=meta, duration_ms=_ms(start))


def _udp(wire: bytes, host: str, port: int, family: int, timeout: float, qid: int, egress: str | None) -> bytes:
    deadline = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        if egress:
            s.bind((egress, 0))
        s.connect((host, port))
        s.send(wire)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            s.settimeout(remaining)
            data = s.recv(MAX_DNS_BYTES)
            # Drop stray datagrams that do not answer our question id.
            if len(data) >= 2 and struct.unpack("!H", data[:2])[0] == qid:
                return data


def _tcp(wire: bytes, host: str, port: int, family: int, timeout: float, egress: str | None) -> bytes:
    deadline = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        if egress:
            s.bind((egress, 0))
        s.connect((host, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        (length,) = struct.unpack("!H", _recv_exact(s, 2, deadline))
        return _recv_exact(s, length, deadline)


def _recv_exact(s: socket.socket, n: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        s.settimeout(remaining)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionResetError("closed mid-answer")
        buf += chunk
    return bytes(buf)


def _ms(start: float) -> float:
    return (time.monotonic() - start) * 1000.0


def rdtype_text(rdtype: int | str) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype)
