"""The loopback lab: real DNS, WHOIS, HTTP and proxy servers on 127.0.0.1 for tests."""

from __future__ import annotations

from pathlib import Path

from .dns_server import DNSQuery, LabDNSServer
from .faults import Fault, FaultPlan, FaultTable, RequestLog
from .http_server import HTTPRequest, LabHTTPServer, Response, Route, gzip_of_zeros
from .proxy import LabHTTPProxy
from .sitecustomize_guard import sitecustomize as socket_guard
from .whois_server import LabWhoisServer, WhoisQuery

# Put this directory on a subprocess's PYTHONPATH to install the socket guard there too.
SITECUSTOMIZE_DIR = Path(__file__).resolve().parent / "sitecustomize_guard"

__all__ = [
    "DNSQuery",
    "Fault",
    "FaultPlan",
    "FaultTable",
    "HTTPRequest",
    "LabDNSServer",
    "LabHTTPProxy",
    "LabHTTPServer",
    "LabWhoisServer",
    "RequestLog",
    "Response",
    "Route",
    "SITECUSTOMIZE_DIR",
    "WhoisQuery",
    "gzip_of_zeros",
    "socket_guard",
]
