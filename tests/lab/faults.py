"""Fault modes for the loopback lab, and the plumbing every lab server shares."""

from __future__ import annotations

import enum
import select
import socket
import socketserver
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar


class Fault(str, enum.Enum):
    """A way for a lab server to misbehave. Not every server supports every mode."""

    SILENCE = "silence"  # accept the question, never answer
    GARBAGE = "garbage"  # answer with random bytes
    LATENCY = "latency"  # answer normally after `delay` seconds
    HUGE = "huge"  # answer with far more data than anyone should want
    RESET = "reset"  # send part of the answer, then a TCP RST
    TRICKLE = "trickle"  # one byte every `interval` seconds
    # WHOIS
    THROTTLE = "throttle"  # answer with a registry's "slow down" notice (`text`) instead of the record
    # DNS
    SERVFAIL = "servfail"
    REFUSED = "refused"
    # HTTP
    STATUS_429 = "status_429"
    STATUS_429_NO_RETRY_AFTER = "status_429_no_retry_after"
    STATUS_5XX = "status_5xx"
    MALFORMED_JSON = "malformed_json"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    GZIP_BOMB = "gzip_bomb"
    REDIRECT = "redirect"


@dataclass
class FaultPlan:
    """One fault, its options, and how many more times it fires (None: forever)."""

    mode: Fault
    remaining: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)


class FaultTable:
    """Faults keyed by what was asked (a qname, a WHOIS query, a path), plus one global fault.

    A keyed fault wins over the global one. `times=n` makes a fault fire n times and then
    recover, which is how retry logic gets tested (429 twice, then 200).
    """

    def __init__(self, normalize: Callable[[str], str] = lambda key: key):
        self._normalize = normalize
        self._plans: dict[str | None, FaultPlan] = {}
        self._lock = threading.Lock()

    def set(self, mode: Fault | str, key: str | None = None, *, times: int | None = None,
            **options: Any) -> FaultPlan:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for a fault that never recovers)")
        plan = FaultPlan(Fault(mode), times, dict(options))
        with self._lock:
            self._plans[self._key(key)] = plan
        return plan

    def clear(self, key: str | None = None) -> None:
        with self._lock:
            self._plans.pop(self._key(key), None)

    def clear_all(self) -> None:
        with self._lock:
            self._plans.clear()

    def take(self, *keys: str) -> FaultPlan | None:
        """The fault for the first key that has one (else the global fault), counted as fired."""
        with self._lock:
            for key in [*(self._normalize(k) for k in keys), None]:
                plan = self._plans.get(key)
                if plan is None:
                    continue
                if plan.remaining is not None:
                    plan.remaining -= 1
                    if plan.remaining <= 0:
                        del self._plans[key]
                return plan
        return None

    def _key(self, key: str | None) -> str | None:
        return None if key is None else self._normalize(key)


Record = TypeVar("Record")


class RequestLog(Generic[Record]):
    """A thread-safe record of every question a server was asked, with counts by key."""

    def __init__(self, key_of: Callable[[Record], str]):
        self._key_of = key_of
        self._records: list[Record] = []
        self._lock = threading.Lock()

    def append(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)

    def count(self, key: str | None = None) -> int:
        with self._lock:
            if key is None:
                return len(self._records)
            return sum(1 for record in self._records if self._key_of(record) == key)

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._key_of(record) for record in self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Record]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> Record:
        with self._lock:
            return self._records[index]


# --- socket helpers -------------------------------------------------------------------


def reset_connection(sock: socket.socket) -> None:
    """Close with SO_LINGER 0, so the peer sees a TCP RST instead of a clean FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def wait_for_peer_or_stop(sock: socket.socket, stopping: threading.Event) -> None:
    """Hold a connection open without answering until the client gives up or the lab stops."""
    while not stopping.is_set():
        try:
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable and not sock.recv(65536):
                return  # the client closed its end
        except (OSError, ValueError):
            return


def send_slowly(sock: socket.socket, data: bytes, interval: float, stopping: threading.Event) -> bool:
    """Send one byte per `interval` seconds. False if the peer left or the lab stopped."""
    for index in range(len(data)):
        try:
            sock.sendall(data[index:index + 1])
        except OSError:
            return False
        if index + 1 < len(data) and stopping.wait(interval):
            return False
    return True


class TrackedConnections:
    """Mixin for socketserver TCP servers: remember open connections so stop() can cut them."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._open_connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        with self._connections_lock:
            self._open_connections.add(request)
        super().process_request(request, client_address)  # type: ignore[misc]

    def shutdown_request(self, request):  # type: ignore[no-untyped-def]
        with self._connections_lock:
            self._open_connections.discard(request)
        super().shutdown_request(request)  # type: ignore[misc]

    def cut_all_connections(self) -> None:
        with self._connections_lock:
            open_now = list(self._open_connections)
            self._open_connections.clear()
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LabServer:
    """Start/stop, context management, the request log and the fault table of a lab server.

    Subclasses build their socketserver instances in `_open()` and return them; everything
    else (threads, prompt shutdown, counts) lives here.
    """

    host = "127.0.0.1"

    def __init__(self, log_key: Callable[[Any], str], fault_key: Callable[[str], str] = lambda k: k):
        self.requests: RequestLog[Any] = RequestLog(log_key)
        self.faults = FaultTable(fault_key)
        self.stopping = threading.Event()
        self.port = 0
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []

    # lifecycle -----------------------------------------------------------------------

    def _open(self) -> list[socketserver.BaseServer]:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def start(self):  # type: ignore[no-untyped-def]
        if self.running:
            raise RuntimeError(f"{type(self).__name__} is already running on port {self.port}")
        self.stopping.clear()
        self._servers = self._open()
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"{type(self).__name__}:{self.port}", daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        if not self.running:
            return
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
            if isinstance(server, TrackedConnections):
                server.cut_all_connections()
        for thread in self._threads:
            thread.join(timeout=2)
        self._servers, self._threads = [], []

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # requests and faults -------------------------------------------------------------

    def count(self, key: str | None = None) -> int:
        """How many requests were received (for `key` only, when given)."""
        return self.requests.count(None if key is None else self._log_key(key))

    def _log_key(self, key: str) -> str:
        return key

    def reset_counts(self) -> None:
        self.requests.clear()

    def set_fault(self, mode: Fault | str, key: str | None = None, *, times: int | None = None,
                  **options: Any) -> FaultPlan:
        """Misbehave for `key` (or for everything when key is None); see each server's doc."""
        return self.faults.set(mode, key, times=times, **options)

    def clear_faults(self, key: str | None = None, *, all: bool = False) -> None:  # noqa: A002
        if all:
            self.faults.clear_all()
        else:
            self.faults.clear(key)

    def pause(self, seconds: float) -> bool:
        """Sleep that ends early when the lab stops. True if the lab is stopping."""
        return self.stopping.wait(seconds)
