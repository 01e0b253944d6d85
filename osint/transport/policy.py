"""Where we may connect: answers must not steer us into loopback, private or metadata networks."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass


class BlockedAddress(Exception):
    """The target address is loopback, private, link-local or otherwise not on the public internet."""


# Cloud metadata services hand out the machine's credentials: no setting lets an answer send us there.
METADATA_REFUSAL = ("an internal address of a cloud metadata service; never followed, "
                    "whatever enrich.allow_private says")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def _unmapped(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def is_metadata(addr: str) -> bool:
    """Cloud metadata services: never followed from an answer, even where private networks are allowed."""
    return _unmapped(addr) in _METADATA


def is_internal(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip in _METADATA or ip.is_loopback or ip.is_private or ip.is_link_local
            or ip.is_multicast or ip.is_unspecified or ip.is_reserved
            or ip in ipaddress.ip_network("100.64.0.0/10"))


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False
    # The local address every outgoing socket is bound to (`[enrich] egress`, `osint worker --egress`):
    # rate budgets are kept per egress address. None: the system chooses, as always.
    egress: str | None = None

    def check_host(self, host: str, port: int, *, trusted: bool) -> list[str]:
        """Resolve host and return its addresses, refusing internal ones for untrusted targets."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise OSError(f"cannot resolve {host}: {exc.strerror}") from None
        addrs = sorted({i[4][0] for i in infos})
        if not trusted:
            for a in addrs:
                if is_metadata(a):
                    raise BlockedAddress(f"{host} resolves to {a}, {METADATA_REFUSAL}")
                if not self.allow_private and is_internal(a):
                    raise BlockedAddress(f"{host} resolves to {a}, an internal address; not followed "
                                         "(set enrich.allow_private = true to allow)")
        return addrs

    def check_literal(self, host: str, *, trusted: bool) -> None:
        """Refuse an IP literal that is internal, without resolving anything."""
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        addr = host.strip("[]")
        if not trusted and is_metadata(addr):
            raise BlockedAddress(f"{host} is {METADATA_REFUSAL}")
        if not trusted and not self.allow_private and is_internal(addr):
            raise BlockedAddress(f"{host} is an internal address; not followed "
                                 "(set enrich.allow_private = true to allow)")
