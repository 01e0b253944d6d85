"""A WHOIS server on loopback (RFC 3912): one query line in, one text answer out, then close."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import Mapping

from .faults import (
    Fault,
    LabServer,
    TrackedConnections,
    reset_connection,
    send_slowly,
    wait_for_peer_or_stop,
)

MAX_QUERY_BYTES = 4096
HUGE_DEFAULT_BYTES = 2 * 1024 * 1024
THROTTLE_TEXT = "WHOIS LIMIT EXCEEDED - SEE WWW.PIR.ORG/WHOIS FOR DETAILS\r\n"  # PIR's wording


@dataclass(frozen=True)
class WhoisQuery:
    """One query line as the lab server received it (CRLF stripped)."""

    query: str
    client: tuple[str, int]

    @property
    def key(self) -> str:
        return self.query.lower()


def no_match_text(query: str) -> str:
    return f'No match for "{query.upper()}".\r\n>>> Last update of WHOIS database: 2024-01-01T00:00:00Z <<<\r\n'


class LabWhoisServer(LabServer):
    """Answers WHOIS queries from {query_lower: text}; unknown queries get "No match for ...".

    Faults (`set_fault(mode, query=None, times=None, **options)`):
    silence, reset (send `fraction` of the answer, default 0.5, then RST), garbage (size=bytes),
    huge (size=bytes, default 2 MB), trickle (interval=seconds, default `trickle_interval`),
    latency (delay=seconds, then answer), throttle (a "slow down" notice, text=..., PIR's by default).
    """

    def __init__(self, answers: Mapping[str, str] | None = None, *, trickle_interval: float = 1.0):
        super().__init__(log_key=lambda query: query.key, fault_key=str.lower)
        self.trickle_interval = trickle_interval
        self._answers: dict[str, str] = {}
        self._answers_lock = threading.Lock()
        for query, text in (answers or {}).items():
            self.add_answer(query, text)

    def add_answer(self, query: str, text: str) -> None:
        with self._answers_lock:
            self._answers[query.strip().lower()] = text

    def answer_for(self, query: str) -> bytes:
        with self._answers_lock:
            text = self._answers.get(query.lower())
        return (text if text is not None else no_match_text(query)).encode("utf-8")

    def _log_key(self, key: str) -> str:
        return key.lower()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def _open(self) -> list[socketserver.BaseServer]:
        server = _WhoisTCPServer((self.host, 0), _WhoisHandler)
        server.lab = self
        self.port = server.server_address[1]
        return [server]

    def serve_connection(self, sock: socket.socket, client: tuple[str, int]) -> None:
        sock.settimeout(10)
        line = _read_line(sock)
        if line is None:
            return
        query = line.decode("utf-8", errors="replace").strip()
        self.requests.append(WhoisQuery(query, client))
        fault = self.faults.take(query)
        mode = fault.mode if fault else None
        if mode is Fault.SILENCE:
            wait_for_peer_or_stop(sock, self.stopping)
            return
        if mode is Fault.LATENCY and self.pause(float(fault.option("delay", 1.0))):
            return
        try:
            if mode is Fault.GARBAGE:
                sock.sendall(os.urandom(int(fault.option("size", 4096))))
            elif mode is Fault.HUGE:
                _send_filler(sock, int(fault.option("size", HUGE_DEFAULT_BYTES)), self.stopping)
            elif mode is Fault.RESET:
                answer = self.answer_for(query)
                sock.sendall(answer[: max(1, int(len(answer) * fault.option("fraction", 0.5)))])
                reset_connection(sock)
            elif mode is Fault.THROTTLE:
                sock.sendall(str(fault.option("text", THROTTLE_TEXT)).encode("utf-8"))
            elif mode is Fault.TRICKLE:
                interval = float(fault.option("interval", self.trickle_interval))
                send_slowly(sock, self.answer_for(query), interval, self.stopping)
            else:
                sock.sendall(self.answer_for(query))
        except OSError:
            pass  # the client left; nothing to tell it


def _read_line(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\n" not in data:
        try:
            chunk = sock.recv(512)
        except OSError:
            return None
        if not chunk:
            return data or None
        data += chunk
        if len(data) > MAX_QUERY_BYTES:
            return None
    return data.split(b"\n", 1)[0].rstrip(b"\r")


def _send_filler(sock: socket.socket, size: int, stopping: threading.Event) -> None:
    line = b"% lab filler: this registry talks far too much about example.com\r\n"
    block = line * (65536 // len(line))
    sent = 0
    while sent < size and not stopping.is_set():
        piece = block[: size - sent]
        sock.sendall(piece)
        sent += len(piece)


class _WhoisTCPServer(TrackedConnections, socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # not socketserver's 5: see LabThreadingHTTPServer
    lab: LabWhoisServer


class _WhoisHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.lab.serve_connection(self.request, self.client_address)  # type: ignore[attr-defined]
