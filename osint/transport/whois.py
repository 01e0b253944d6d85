"""WHOIS (RFC 3912): one line out, read until the server closes, within a size cap and a deadline."""

from __future__ import annotations

import socket
import time

from .base import Fetched, Outcome, Query
from .dns import split_server
from .policy import AddressPolicy, BlockedAddress

DEFAULT_MAX_BYTES = 1_000_000


def fetch_whois(query: Query, timeout: float, max_bytes: int | None, policy: AddressPolicy) -> Fetched:
    host, port = split_server(query.endpoint, default_port=43)
    max_bytes = max_bytes or DEFAULT_MAX_BYTES
    start = time.monotonic()
    deadline = start + timeout
    meta: dict = {"server": query.endpoint}
    try:
        addrs = policy.check_host(host, port, trusted=query.trusted)
    except BlockedAddress as exc:
        return Fetched(Outcome.BLOCKED, error=str(exc), meta=meta, duration_ms=_ms(start))
    except OSError as exc:
        return Fetched(Outcome.UNREACHABLE, error=str(exc), meta=meta, duration_ms=_ms(start))
    buf = bytearray()
    try:
        source = (policy.egress, 0) if policy.egress else None
        with socket.create_connection((addrs[0], port), timeout=timeout, source_address=source) as s:
            s.sendall(query.request["query"].encode("idna" if query.request.get("idna") else "utf-8") + b"\r\n")
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout()
                s.settimeout(remaining)
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if len(buf) > max_bytes:
                    del buf[max_bytes:]  # cut in place: a slice would be one more copy of the cap
                    return Fetched(Outcome.TOO_LARGE, raw=bytes(buf),
                                   error=f"{query.endpoint} sent more than {max_bytes} bytes; cut off",
                                   meta=meta, duration_ms=_ms(start))
    except socket.timeout:
        partial = f" after {len(buf)} bytes" if buf else ""
        return Fetched(Outcome.TIMEOUT, raw=bytes(buf) or None,
                       error=f"{query.endpoint} did not finish answering within {timeout:g}s{partial}",
                       meta=meta, duration_ms=_ms(start))
    except ConnectionRefusedError:
        return Fetched(Outcome.REFUSED, error=f"{query.endpoint} refused the connection", meta=meta,
                       duration_ms=_ms(start))
    except ConnectionResetError:
        return Fetched(Outcome.RESET, raw=bytes(buf) or None,
                       error=f"{query.endpoint} reset the connection after {len(buf)} bytes",
                       meta=meta, duration_ms=_ms(start))
    except OSError as exc:
        return Fetched(Outcome.UNREACHABLE, error=f"{query.endpoint}: {exc.strerror or exc}", meta=meta,
                       duration_ms=_ms(start))
    if not buf:
        return Fetched(Outcome.BAD_ANSWER, raw=b"", error=f"{query.endpoint} closed without answering",
                       meta=meta, duration_ms=_ms(start))
    return Fetched(Outcome.ANSWERED, raw=bytes(buf), meta=meta, duration_ms=_ms(start))


def _ms(start: float) -> float:
    return (time.monotonic() - start) * 1000.0
