"""A socket guard for tests: anything but loopback raises RuntimeError before a byte leaves.

Put this directory first on PYTHONPATH and every Python process started with that
environment (the real CLI under subprocess, say) installs the guard at startup. The test
process itself loads this module under another name and calls install() from conftest.
Set OSINT_LAB_SOCKET_GUARD=0 to switch the subprocess guard off.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Any

ENV_SWITCH = "OSINT_LAB_SOCKET_GUARD"
LOCAL_NAMES = ("localhost", "localhost.", "ip6-localhost", "ip6-loopback")
# A resolver on loopback port 53 (systemd-resolved's 127.0.0.53, dnsmasq) forwards to the
# network; lab DNS servers always use ephemeral ports.
STUB_RESOLVER_PORT = 53

_SOCKET_METHODS = ("connect", "connect_ex", "sendto", "sendmsg")
_MODULE_FUNCTIONS = ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
                     "gethostbyaddr")
_saved: dict[str, Any] = {}


def network_error(target: object) -> RuntimeError:
    return RuntimeError(f"test tried to reach the network: {target}")


def is_loopback_host(host: object) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost."""
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if not isinstance(host, str):
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        name = host.lower()
        return name in LOCAL_NAMES or name.endswith(".localhost")
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def is_ip_literal(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return True


def check_address(family: int, address: Any) -> None:
    """Raise unless `address` is loopback (but not port 53) or a local (AF_UNIX) socket."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return  # AF_UNIX and friends never leave the machine
    if not isinstance(address, tuple) or not address:
        raise network_error(address)
    host, port = address[0], address[1] if len(address) > 1 else None
    target = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
    if not is_loopback_host(host):
        raise network_error(target)
    if port == STUB_RESOLVER_PORT:
        raise network_error(f"{target} (a local DNS resolver forwards to the network)")


def check_lookup(host: object) -> None:
    """Raise for a name that would need a resolver; IP literals need none and pass."""
    if host is None or is_ip_literal(host) or is_loopback_host(host):
        return
    raise network_error(f"resolve {host!r}")


# --- the patches ------------------------------------------------------------------------------


def _connect(self: socket.socket, address: Any) -> Any:
    check_address(self.family, address)
    return _saved["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> Any:
    check_address(self.family, address)
    return _saved["connect_ex"](self, address)


def _sendto(self: socket.socket, data: Any, *args: Any) -> Any:
    check_address(self.family, args[-1] if args else None)
    return _saved["sendto"](self, data, *args)


def _sendmsg(self: socket.socket, buffers: Any, *args: Any) -> Any:
    if len(args) >= 3 and args[2] is not None:
        check_address(self.family, args[2])
    return _saved["sendmsg"](self, buffers, *args)


def _create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
    check_lookup(address[0])
    if is_ip_literal(address[0]) and not is_loopback_host(address[0]):
        raise network_error(f"{address[0]}:{address[1]}")
    return _saved["create_connection"](address, *args, **kwargs)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    check_lookup(host)
    return _saved["getaddrinfo"](host, *args, **kwargs)


def _gethostbyname(host: str) -> Any:
    check_lookup(host)
    return _saved["gethostbyname"](host)


def _gethostbyname_ex(host: str) -> Any:
    check_lookup(host)
    return _saved["gethostbyname_ex"](host)


def _gethostbyaddr(host: str) -> Any:
    if not is_loopback_host(host):
        raise network_error(f"reverse-resolve {host!r}")
    return _saved["gethostbyaddr"](host)


_PATCHES = {
    "connect": _connect, "connect_ex": _connect_ex, "sendto": _sendto, "sendmsg": _sendmsg,
    "create_connection": _create_connection, "getaddrinfo": _getaddrinfo,
    "gethostbyname": _gethostbyname, "gethostbyname_ex": _gethostbyname_ex,
    "gethostbyaddr": _gethostbyaddr,
}


def installed() -> bool:
    return bool(_saved)


def install() -> None:
    """Patch socket so only loopback can be reached. Safe to call twice."""
    if installed():
        return
    for name in _SOCKET_METHODS:
        # These live on _socket.socket; the patch shadows them on the Python subclass.
        _saved[name] = getattr(socket.socket, name)
        _saved["own:" + name] = name in vars(socket.socket)
        setattr(socket.socket, name, _PATCHES[name])
    for name in _MODULE_FUNCTIONS:
        _saved[name] = getattr(socket, name)
        setattr(socket, name, _PATCHES[name])


def uninstall() -> None:
    if not installed():
        return
    for name in _SOCKET_METHODS:
        if _saved["own:" + name]:
            setattr(socket.socket, name, _saved[name])
        else:
            delattr(socket.socket, name)
    for name in _MODULE_FUNCTIONS:
        setattr(socket, name, _saved[name])
    _saved.clear()


def _run_next_sitecustomize() -> None:
    # Taking the name sitecustomize hides any other one on sys.path; run that one too.
    import runpy

    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        directory = os.path.abspath(entry or os.getcwd())
        candidate = os.path.join(directory, "sitecustomize.py")
        if directory != here and os.path.isfile(candidate):
            runpy.run_path(candidate, run_name="_chained_sitecustomize")
            return


if __name__ == "sitecustomize":
    if os.environ.get(ENV_SWITCH, "1") != "0":
        install()
    _run_next_sitecustomize()
