"""A DNS server on loopback, UDP and TCP on one port, answering from a small in-memory zone."""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
import socketserver
import struct
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from .faults import Fault, LabServer, TrackedConnections, wait_for_peer_or_stop

DEFAULT_TTL = 300
UDP_LIMIT_WITHOUT_EDNS = 512
MAX_CNAME_CHAIN = 8

# {qname: {rdtype: [rdata text, ...]}}; a value may also be (ttl, [rdata text, ...]).
ZoneData = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class DNSQuery:
    """One question as the lab server received it."""

    qname: str  # lower case, no trailing dot
    rdtype: str
    transport: str  # "udp" or "tcp"
    client: tuple[str, int]


def normalize_qname(name: str | dns.name.Name) -> str:
    text = name.to_text() if isinstance(name, dns.name.Name) else name
    return text.lower().rstrip(".") or "."


class LabDNSServer(LabServer):
    """Authoritative-looking answers for whatever names it is given, plus fault modes.

    Faults (`set_fault(mode, qname=None, times=None, **options)`; the key is a name, for every
    type asked at it, or "RDTYPE name" such as "MX example.com" for that one question only):
    silence, garbage, servfail, refused, latency (delay=seconds, then answer),
    huge (count=records; A records from the RFC 5737 blocks, at most 768,
    AAAA records from 2001:db8::/32).
    """

    def __init__(self, zone: ZoneData | str | None = None, *, ttl: int = DEFAULT_TTL):
        super().__init__(log_key=lambda query: query.qname, fault_key=normalize_qname)
        self.default_ttl = ttl
        self._records: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}
        self._names: set[dns.name.Name] = set()  # every owner name and its ancestors: NXDOMAIN or not
        self._zone_lock = threading.Lock()
        self.errors: list[str] = []  # tracebacks of answers that failed, for debugging tests
        if isinstance(zone, str):
            self.load_zone_text(zone)
        elif zone:
            self.add_zone(zone)

    # zone data -----------------------------------------------------------------------

    def add_records(self, qname: str, rdtype: str, rdatas: Iterable[str], ttl: int | None = None) -> None:
        """Add (or replace) the records of one type at one name."""
        name = dns.name.from_text(qname, origin=dns.name.root)
        rrset = dns.rrset.from_text_list(
            name, ttl or self.default_ttl, dns.rdataclass.IN, rdtype, list(rdatas),
            origin=dns.name.root, relativize=False,
        )
        with self._zone_lock:
            self._records.setdefault(name, {})[rrset.rdtype] = rrset
            self._add_name(name)

    def add_zone(self, zone: ZoneData) -> None:
        """Add data shaped {qname: {rdtype: [rdata, ...] or (ttl, [rdata, ...])}}."""
        for qname, types in zone.items():
            for rdtype, value in types.items():
                if isinstance(value, tuple):
                    ttl, rdatas = value
                else:
                    ttl, rdatas = None, value
                if isinstance(rdatas, str):
                    rdatas = [rdatas]
                self.add_records(qname, rdtype, rdatas, ttl)

    def load_zone_text(self, text: str) -> None:
        """Add records written in master-file syntax; names are relative to the root."""
        zone = dns.zone.from_text(
            text, origin=dns.name.root, relativize=False, check_origin=False
        )
        with self._zone_lock:
            for name, node in zone.nodes.items():
                for rdataset in node.rdatasets:
                    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
                    rrset.update(rdataset)
                    self._records.setdefault(name, {})[rdataset.rdtype] = rrset
                    self._add_name(name)

    def clear_zone(self) -> None:
        with self._zone_lock:
            self._records.clear()
            self._names.clear()

    def _add_name(self, name: dns.name.Name) -> None:
        # Kept beside the records so that telling NXDOMAIN from "no such type" does not walk every name.
        while name not in self._names:
            self._names.add(name)
            if name == dns.name.root:
                return
            name = name.parent()

    # counts ------------------------------------------------------------------------------

    def _log_key(self, key: str) -> str:
        return normalize_qname(key)

    def count(self, key: str | None = None, rdtype: str | None = None,
              transport: str | None = None) -> int:
        """Queries received, optionally only for one name, type and/or transport."""
        qname = None if key is None else normalize_qname(key)
        return sum(
            1 for query in self.requests
            if (qname is None or query.qname == qname)
            and (rdtype is None or query.rdtype == rdtype.upper())
            and (transport is None or query.transport == transport)
        )

    @property
    def nameserver(self) -> str:
        return self.host

    # servers -----------------------------------------------------------------------------

    def _open(self) -> list[socketserver.BaseServer]:
        lab = self
        for _attempt in range(50):
            udp = _UDPServer((self.host, 0), _UDPHandler)
            udp.lab = lab
            port = udp.server_address[1]
            try:
                tcp = _TCPServer((self.host, port), _TCPHandler)
            except OSError:
                udp.server_close()
                continue
            tcp.lab = lab
            self.port = port
            return [udp, tcp]
        raise RuntimeError("could not bind UDP and TCP on the same loopback port")

    # answering ---------------------------------------------------------------------------

    def handle_wire(self, wire: bytes, transport: str, client: tuple[str, int]) -> bytes | None:
        """The bytes to send back for one query, or None for no answer at all."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        qname = normalize_qname(question.name)
        self.requests.append(
            DNSQuery(qname, dns.rdatatype.to_text(question.rdtype), transport, client)
        )
        fault = self.faults.take(f"{dns.rdatatype.to_text(question.rdtype)} {qname}", qname)
        if fault is not None:
            if fault.mode is Fault.SILENCE:
                return None
            if fault.mode is Fault.GARBAGE:
                return os.urandom(int(fault.option("size", 64)))
            if fault.mode is Fault.LATENCY and self.pause(float(fault.option("delay", 1.0))):
                return None
        try:
            response = self._answer(query, fault.mode if fault else None,
                                    fault.options if fault else {})
        except Exception:  # a lab bug must show up as SERVFAIL, not as a client timeout
            self.errors.append(traceback.format_exc())
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
        if transport == "udp":
            limit = UDP_LIMIT_WITHOUT_EDNS
            if query.edns >= 0:
                limit = max(UDP_LIMIT_WITHOUT_EDNS, query.payload)
            return response.to_wire(max_size=limit, prefer_truncation=True)
        return response.to_wire(max_size=65535)

    def _answer(self, query: dns.message.Message, fault: Fault | None,
                options: Mapping[str, Any]) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if fault is Fault.SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        if fault is Fault.REFUSED:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
            return response
        question = query.question[0]
        if fault is Fault.HUGE:
            response.answer.append(_huge_rrset(question.name, question.rdtype,
                                               int(options.get("count", 2000))))
            return response
        with self._zone_lock:
            self._fill(response, question.name, question.rdtype)
        return response

    def _fill(self, response: dns.message.Message, name: dns.name.Name, rdtype: int) -> None:
        for _hop in range(MAX_CNAME_CHAIN):
            node = self._records.get(name)
            if node is None:
                if not response.answer:  # a name reached through a CNAME may be outside the lab
                    exists = name in self._names
                    if not exists:
                        response.set_rcode(dns.rcode.NXDOMAIN)
                    self._add_soa(response, name)
                return
            if rdtype in node:
                response.answer.append(node[rdtype])
                return
            cname = node.get(dns.rdatatype.CNAME)
            if cname is None:
                if not response.answer:
                    self._add_soa(response, name)
                return
            response.answer.append(cname)
            name = cname[0].target

    def _add_soa(self, response: dns.message.Message, name: dns.name.Name) -> None:
        # Negative answers carry the enclosing SOA so resolvers can cache them.
        while True:
            soa = self._records.get(name, {}).get(dns.rdatatype.SOA)
            if soa is not None:
                response.authority.append(soa)
                return
            if name == dns.name.root:
                return
            name = name.parent()


def _huge_rrset(name: dns.name.Name, rdtype: int, count: int) -> dns.rrset.RRset:
    if rdtype == dns.rdatatype.AAAA:
        base = int(ipaddress.IPv6Address("2001:db8::"))
        addresses = (str(ipaddress.IPv6Address(base + i + 1)) for i in range(count))
        kind = "AAAA"
    else:
        blocks = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
        hosts = itertools.chain.from_iterable(ipaddress.IPv4Network(b).hosts() for b in blocks)
        addresses = (str(address) for address in itertools.islice(hosts, count))
        kind = "A"
    return dns.rrset.from_text_list(name, 60, dns.rdataclass.IN, kind, list(addresses))


# --- socketserver glue ----------------------------------------------------------------------


class _UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    block_on_close = False
    lab: LabDNSServer


class _TCPServer(TrackedConnections, socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # not socketserver's 5: see LabThreadingHTTPServer
    allow_reuse_address = False  # the port must really be free, it is shared with UDP
    lab: LabDNSServer


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        answer = self.server.lab.handle_wire(data, "udp", self.client_address)  # type: ignore[attr-defined]
        if answer is not None:
            try:
                sock.sendto(answer, self.client_address)
            except OSError:
                pass


class _TCPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        lab: LabDNSServer = self.server.lab  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        sock.settimeout(10)
        while not lab.stopping.is_set():
            try:
                header = _recv_exactly(sock, 2)
                if header is None:
                    return
                wire = _recv_exactly(sock, struct.unpack("!H", header)[0])
                if wire is None:
                    return
            except OSError:
                return
            answer = lab.handle_wire(wire, "tcp", self.client_address)
            if answer is None:
                wait_for_peer_or_stop(sock, lab.stopping)
                return
            try:
                sock.sendall(struct.pack("!H", len(answer)) + answer)
            except OSError:
                return


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
