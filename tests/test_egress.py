"""Every transport leaves from the configured egress address (`[enrich] egress`, `osint worker --egress`).

Rate budgets are kept per egress address, so a worker must really leave from the address it names:
the lab servers record each request's client address. Linux routes all of 127/8 to lo, so 127.0.0.2
and 127.0.0.3 need no set-up. Without an egress, the system chooses (127.0.0.1 on loopback), as always.
"""

from __future__ import annotations

import pytest

from osint.transport.base import Outcome, Query
from osint.transport.dns import fetch_dns
from osint.transport.http import fetch_http
from osint.transport.policy import AddressPolicy
from osint.transport.whois import fetch_whois


@pytest.mark.parametrize("egress,seen", [("127.0.0.2", "127.0.0.2"), ("127.0.0.3", "127.0.0.3"),
                                         (None, "127.0.0.1")])
def test_dns_whois_and_http_leave_from_the_egress_address(egress, seen, dns_server, whois_server, http_server):
    policy = AddressPolicy(allow_private=True, egress=egress)
    dns_server.add_records("example.com.", "A", ["192.0.2.1"])
    q = Query("dns", "A example.com", "domain:example.com", "dns", {"qname": "example.com", "rdtype": "A"},
              f"127.0.0.1:{dns_server.port}")
    assert fetch_dns(q, 5.0, policy.egress).outcome == Outcome.ANSWERED
    whois_server.add_answer("example.com", "Domain Name: EXAMPLE.COM\n")
    q = Query("whois", "whois example.com", "domain:example.com", "whois", {"query": "example.com"},
              f"127.0.0.1:{whois_server.port}")
    assert fetch_whois(q, 5.0, None, policy).outcome == Outcome.ANSWERED
    http_server.get("/x", b"hello")
    q = Query("web", "GET /x", "url:x", "http", {"url": f"{http_server.url}/x"}, http_server.url)
    assert fetch_http(q, 5.0, None, policy, {}).outcome == Outcome.ANSWERED
    assert [r.client[0] for r in dns_server.requests] == [seen]
    assert [r.client[0] for r in whois_server.requests] == [seen]
    assert [r.client[0] for r in http_server.requests] == [seen]
