"""The loopback lab itself: each server answers real clients, misbehaves on demand, and counts."""

from __future__ import annotations

import concurrent.futures
import gzip
import re
import socket
import subprocess
import sys
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename
import pytest
import requests

from lab import LabDNSServer, LabHTTPServer, LabWhoisServer, Response, socket_guard

ZONE = {
    "example.com": {
        "A": ["192.0.2.10"],
        "AAAA": ["2001:db8::10"],
        "MX": ["10 mail.example.com."],
        "NS": ["ns1.example.net."],
        "TXT": ['"v=spf1 ip4:192.0.2.0/24 -all"'],
        "CAA": ['0 issue "ca.example.net"'],
        "SOA": ["ns1.example.net. hostmaster.example.com. 2024010101 3600 600 86400 300"],
    },
    "www.example.com": {"CNAME": ["example.com."]},
    "mail.example.com": {"A": (60, ["192.0.2.25"])},
    "10.2.0.192.in-addr.arpa": {"PTR": ["example.com."]},
    "10.2.0.192.origin.asn.cymru.com": {"TXT": ['"64500 | 192.0.2.0/24 | ZZ | test | 2024-01-01"']},
}


def ask(server: LabDNSServer, name: str, rdtype: str, *, tcp: bool = False,
        timeout: float = 2.0) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, server.host, port=server.port, timeout=timeout)


def whois(server: LabWhoisServer, query: str, timeout: float = 2.0) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(query.encode() + b"\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- DNS -----------------------------------------------------------------------------------


@pytest.fixture
def zone_server(dns_server: LabDNSServer) -> LabDNSServer:
    dns_server.add_zone(ZONE)
    return dns_server


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_dns_answers_over_udp_and_tcp_on_one_port(zone_server: LabDNSServer, tcp: bool) -> None:
    response = ask(zone_server, "example.com", "A", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert [rr.address for rr in response.answer[0]] == ["192.0.2.10"]
    assert zone_server.count("example.com", transport="tcp" if tcp else "udp") == 1


@pytest.mark.parametrize(("name", "rdtype", "expected"), [
    ("example.com", "AAAA", "2001:db8::10"),
    ("example.com", "MX", "10 mail.example.com."),
    ("example.com", "NS", "ns1.example.net."),
    ("example.com", "TXT", '"v=spf1 ip4:192.0.2.0/24 -all"'),
    ("example.com", "CAA", '0 issue "ca.example.net"'),
    (dns.reversename.from_address("192.0.2.10").to_text(), "PTR", "example.com."),
    ("10.2.0.192.origin.asn.cymru.com", "TXT", '"64500 | 192.0.2.0/24 | ZZ | test | 2024-01-01"'),
])
def test_dns_record_types(zone_server: LabDNSServer, name: str, rdtype: str, expected: str) -> None:
    response = ask(zone_server, name, rdtype)
    assert [rr.to_text() for rr in response.answer[0]] == [expected]


def test_dns_follows_cname_within_the_zone(zone_server: LabDNSServer) -> None:
    response = ask(zone_server, "WWW.example.com.", "A")
    kinds = [(rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype)) for rrset in response.answer]
    assert kinds == [("www.example.com.", "CNAME"), ("example.com.", "A")]
    assert zone_server.count("www.example.com") == 1


def test_dns_nxdomain_and_nodata_differ(zone_server: LabDNSServer) -> None:
    unknown = ask(zone_server, "nothing-here.example.com", "A")
    assert unknown.rcode() == dns.rcode.NXDOMAIN
    nodata = ask(zone_server, "mail.example.com", "MX")
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA  # negative answers carry the SOA


def test_dns_zone_text_and_ttl(dns_server: LabDNSServer) -> None:
    dns_server.load_zone_text("$TTL 120\nhost.example.org. IN A 198.51.100.7\nhost.example.org. 30 IN TXT \"x\"\n")
    assert ask(dns_server, "host.example.org", "A").answer[0].ttl == 120
    assert ask(dns_server, "host.example.org", "TXT").answer[0].ttl == 30
    dns_server.add_zone(ZONE)
    assert ask(dns_server, "mail.example.com", "A").answer[0].ttl == 60


def test_dns_truncates_big_udp_answers_so_clients_retry_over_tcp(dns_server: LabDNSServer) -> None:
    dns_server.add_records("big.example.com", "TXT", [f'"record {i} {"x" * 40}"' for i in range(30)])
    udp_only = dns.query.udp(dns.message.make_query("big.example.com", "TXT"), dns_server.host,
                             port=dns_server.port, timeout=2, ignore_trailing=True)
    assert udp_only.flags & dns.flags.TC
    response, used_tcp = dns.query.udp_with_fallback(
        dns.message.make_query("big.example.com", "TXT"), dns_server.host, port=dns_server.port,
        timeout=2)
    assert used_tcp and len(response.answer[0]) == 30
    assert dns_server.count("big.example.com", transport="tcp") == 1


def test_dns_huge_fault_needs_tcp(dns_server: LabDNSServer) -> None:
    dns_server.set_fault("huge", "flood.example.com")
    response, used_tcp = dns.query.udp_with_fallback(
        dns.message.make_query("flood.example.com", "A"), dns_server.host, port=dns_server.port,
        timeout=2)
    assert used_tcp and len(response.answer[0]) == 762  # every RFC 5737 host address


@pytest.mark.parametrize(("fault", "rcode"), [("servfail", dns.rcode.SERVFAIL),
                                              ("refused", dns.rcode.REFUSED)])
def test_dns_error_rcodes(zone_server: LabDNSServer, fault: str, rcode: int) -> None:
    zone_server.set_fault(fault, "example.com")
    assert ask(zone_server, "example.com", "A").rcode() == rcode
    assert ask(zone_server, "mail.example.com", "A").rcode() == dns.rcode.NOERROR  # per qname


def test_dns_silence_times_out_and_garbage_fails_to_parse(zone_server: LabDNSServer) -> None:
    zone_server.set_fault("silence")
    with pytest.raises(dns.exception.Timeout):
        ask(zone_server, "example.com", "A", timeout=0.2)
    with pytest.raises(dns.exception.Timeout):
        ask(zone_server, "example.com", "A", tcp=True, timeout=0.2)
    zone_server.set_fault("garbage")
    with pytest.raises(dns.exception.DNSException) as caught:
        ask(zone_server, "example.com", "A", timeout=1)
    assert not isinstance(caught.value, dns.exception.Timeout)


def test_dns_fault_that_recovers_and_latency(zone_server: LabDNSServer) -> None:
    zone_server.set_fault("servfail", "example.com", times=2)
    rcodes = [ask(zone_server, "example.com", "A").rcode() for _ in range(3)]
    assert rcodes == [dns.rcode.SERVFAIL, dns.rcode.SERVFAIL, dns.rcode.NOERROR]
    zone_server.set_fault("latency", "example.com", delay=0.2)
    started = time.monotonic()
    assert ask(zone_server, "example.com", "A").answer
    assert time.monotonic() - started >= 0.2
    assert zone_server.count("example.com") == 4
    zone_server.reset_counts()
    assert zone_server.count() == 0


def test_dns_resolver_pointed_at_the_lab(zone_server: LabDNSServer) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [zone_server.host]
    resolver.port = zone_server.port
    assert [rr.exchange.to_text() for rr in resolver.resolve("example.com", "MX")] == ["mail.example.com."]
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("missing.example.com", "A")


# --- WHOIS ------------------------------------------------------------------------------------


def test_whois_answers_from_its_table(whois_server: LabWhoisServer) -> None:
    whois_server.add_answer("example.com", "Domain Name: EXAMPLE.COM\r\nRegistrar: Lab Registrar\r\n")
    assert b"Registrar: Lab Registrar" in whois(whois_server, "EXAMPLE.com")
    assert whois(whois_server, "nothing.example").startswith(b'No match for "NOTHING.EXAMPLE"')
    assert whois_server.count("example.com") == 1 and whois_server.count() == 2
    assert whois_server.requests[0].query == "EXAMPLE.com"


def test_whois_silence_times_out_without_blocking_shutdown() -> None:
    server = LabWhoisServer().start()
    server.set_fault("silence")
    with pytest.raises(socket.timeout):
        whois(server, "example.com", timeout=0.2)
    held = socket.create_connection((server.host, server.port))
    held.sendall(b"example.com\r\n")
    time.sleep(0.05)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    held.settimeout(1)
    assert held.recv(10) == b""  # the lab cut the held connection on stop
    held.close()


def test_whois_reset_sends_part_then_rst(whois_server: LabWhoisServer) -> None:
    whois_server.add_answer("example.com", "Domain Name: EXAMPLE.COM\r\n" * 50)
    whois_server.set_fault("reset", "example.com")
    with pytest.raises(ConnectionResetError):
        whois(whois_server, "example.com")


def test_whois_garbage_huge_and_latency(whois_server: LabWhoisServer) -> None:
    whois_server.set_fault("garbage", "example.com", times=1)
    answer = whois(whois_server, "example.com")
    with pytest.raises(UnicodeDecodeError):
        answer.decode("ascii")
    whois_server.set_fault("huge", "example.net", times=1)
    assert len(whois(whois_server, "example.net")) == 2 * 1024 * 1024
    whois_server.set_fault("latency", "example.org", delay=0.2)
    started = time.monotonic()
    assert whois(whois_server, "example.org").startswith(b"No match")
    assert time.monotonic() - started >= 0.2


def test_whois_trickle_sends_one_byte_per_interval(whois_server: LabWhoisServer) -> None:
    whois_server.add_answer("example.com", "0123456789")
    whois_server.set_fault("trickle", "example.com", interval=0.03)
    started = time.monotonic()
    assert whois(whois_server, "example.com") == b"0123456789"
    assert 0.25 <= time.monotonic() - started < 2.0


# --- HTTP -------------------------------------------------------------------------------------


def test_http_routes_and_request_log(http_server: LabHTTPServer) -> None:
    http_server.get("/api/host/192.0.2.10", {"ip": "192.0.2.10", "ports": [80, 443]})
    http_server.get("/text", "hello")
    http_server.post("/echo", lambda request: {"got": request.json(), "q": request.params})
    http_server.get(re.compile(r"/items/\d+"), Response(201, b"\x01\x02", {"X-Lab": "yes"}))
    http_server.add_route("*", "/static/", "static", prefix=True)

    assert requests.get(http_server.url + "/api/host/192.0.2.10").json()["ports"] == [80, 443]
    assert requests.get(http_server.url + "/text").headers["Content-Type"].startswith("text/plain")
    echoed = requests.post(http_server.url + "/echo?x=1", json={"a": 1}).json()
    assert echoed == {"got": {"a": 1}, "q": {"x": "1"}}
    item = requests.get(http_server.url + "/items/42")
    assert (item.status_code, item.content, item.headers["X-Lab"]) == (201, b"\x01\x02", "yes")
    assert requests.delete(http_server.url + "/static/a/b.css").text == "static"
    assert requests.get(http_server.url + "/missing").status_code == 404

    posted = [r for r in http_server.requests if r.method == "POST"][0]
    assert (posted.path, posted.query, posted.body) == ("/echo", {"x": ["1"]}, b'{"a": 1}')
    assert http_server.count("/api/host/192.0.2.10") == 1 and http_server.count() == 6


def test_http_virtual_hosts(http_server: LabHTTPServer) -> None:
    http_server.add_site("www.example.com", {"/": "example.com home"})
    http_server.add_site("www.example.org", {"/": "example.org home"})
    assert requests.get(http_server.url + "/", headers={"Host": "www.example.org"}).text == "example.org home"
    assert requests.get(http_server.url + "/", headers={"Host": "www.example.com:80"}).text == "example.com home"
    assert requests.get(http_server.url + "/", headers={"Host": "other.test"}).status_code == 404
    assert http_server.count("/", host="www.example.org") == 1


def test_http_basic_auth(http_server: LabHTTPServer) -> None:
    http_server.get("/private", {"ok": True}, auth=("analyst", "s3cret"))
    refused = requests.get(http_server.url + "/private")
    assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
    assert requests.get(http_server.url + "/private", auth=("analyst", "wrong")).status_code == 401
    assert requests.get(http_server.url + "/private", auth=("analyst", "s3cret")).json() == {"ok": True}
    assert http_server.requests[-1].authorization.startswith("Basic ")


def test_http_429_twice_then_recovers(http_server: LabHTTPServer) -> None:
    http_server.get("/api", {"ok": True})
    http_server.set_fault("status_429", "/api", times=2, retry_after=7)
    first, second, third = (requests.get(http_server.url + "/api") for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 429
    assert third.json() == {"ok": True}
    http_server.set_fault("status_429_no_retry_after", "/api", times=1)
    bare = requests.get(http_server.url + "/api")
    assert bare.status_code == 429 and "Retry-After" not in bare.headers


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_5xx(http_server: LabHTTPServer, status: int) -> None:
    http_server.set_fault("status_5xx", status=status)
    assert requests.get(http_server.url + "/anything").status_code == status


def test_http_broken_bodies(http_server: LabHTTPServer) -> None:
    http_server.get("/json", {"results": [{"ip": "192.0.2.1"}, {"ip": "192.0.2.2"}]})
    http_server.set_fault("malformed_json", "/json", times=1)
    broken = requests.get(http_server.url + "/json")
    assert broken.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        broken.json()
    http_server.set_fault("wrong_content_type", "/json", times=1)
    image = requests.get(http_server.url + "/json")
    assert image.headers["Content-Type"] == "image/png" and image.content.startswith(b"\x89PNG")
    assert requests.get(http_server.url + "/json").json()["results"][1]["ip"] == "192.0.2.2"


def test_http_silence_reset_and_garbage(http_server: LabHTTPServer) -> None:
    http_server.get("/x", {"data": "y" * 4096})
    http_server.set_fault("silence", "/x", times=1)
    with pytest.raises(requests.ReadTimeout):
        requests.get(http_server.url + "/x", timeout=0.2)
    http_server.set_fault("reset", "/x", times=1)
    with pytest.raises(requests.RequestException) as caught:
        requests.get(http_server.url + "/x", timeout=2)
    assert not isinstance(caught.value, requests.Timeout)
    http_server.set_fault("garbage", "/x", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(http_server.url + "/x", timeout=2)
    assert requests.get(http_server.url + "/x").ok


def test_http_trickle_and_latency(http_server: LabHTTPServer) -> None:
    http_server.get("/slow", "abcdefghij")
    http_server.set_fault("trickle", "/slow", times=1, interval=0.03)
    started = time.monotonic()
    assert requests.get(http_server.url + "/slow").text == "abcdefghij"
    assert time.monotonic() - started >= 0.25
    http_server.set_fault("latency", "/slow", delay=0.3)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: requests.get(http_server.url + "/slow").text, range(8)))
    elapsed = time.monotonic() - started
    assert bodies == ["abcdefghij"] * 8
    assert 0.3 <= elapsed < 1.2  # concurrent requests are not served one after another


def test_http_huge_body_is_streamed(http_server: LabHTTPServer) -> None:
    http_server.set_fault("huge", "/dump")
    with requests.get(http_server.url + "/dump", stream=True) as response:
        assert int(response.headers["Content-Length"]) == 50 * 1024 * 1024
        received = sum(len(block) for block in response.iter_content(1024 * 1024))
    assert received == 50 * 1024 * 1024
    http_server.set_fault("huge", "/dump", size=3_000_000, chunked=True)
    with requests.get(http_server.url + "/dump", stream=True) as response:
        assert "Content-Length" not in response.headers
        assert sum(len(block) for block in response.iter_content(65536)) == 3_000_000


def test_http_gzip_bomb_is_small_on_the_wire(http_server: LabHTTPServer) -> None:
    http_server.set_fault("gzip_bomb", "/bomb", size=20 * 1024 * 1024)
    with requests.get(http_server.url + "/bomb", stream=True) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        wire = response.raw.read(decode_content=False)
    assert len(wire) < 100_000 and int(response.headers["Content-Length"]) == len(wire)
    assert len(gzip.decompress(wire)) == 20 * 1024 * 1024


def test_http_redirect(http_server: LabHTTPServer) -> None:
    http_server.get("/new", "moved here")
    http_server.set_fault("redirect", "/old", location="/new")
    direct = requests.get(http_server.url + "/old", allow_redirects=False)
    assert (direct.status_code, direct.headers["Location"]) == (302, "/new")
    assert requests.get(http_server.url + "/old").text == "moved here"


def test_http_stop_is_prompt_with_silent_and_trickling_clients() -> None:
    server = LabHTTPServer().start()
    server.get("/t", "x" * 100)
    server.set_fault("silence", "/s")
    server.set_fault("trickle", "/t", interval=5)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        pending = [pool.submit(requests.get, server.url + path, timeout=5) for path in ("/s", "/t")]
        time.sleep(0.1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        for future in pending:
            with pytest.raises(requests.RequestException):
                future.result()


# --- proxy ------------------------------------------------------------------------------------


def test_proxy_serves_a_virtual_host(http_proxy, http_server: LabHTTPServer) -> None:
    http_server.add_site("www.example.com", {"/hello": {"site": "example.com"}})
    http_proxy.add_site("www.example.com", http_server)
    http_proxy.add_site("www.example.net", {"/": "from a route table"})
    assert requests.get("http://www.example.com/hello?x=1", proxies=http_proxy.proxies,
                        timeout=2).json() == {"site": "example.com"}
    assert requests.get("http://www.example.net/", proxies=http_proxy.proxies, timeout=2).text == \
        "from a route table"
    assert requests.get("http://unknown.example/", proxies=http_proxy.proxies, timeout=2).status_code == 502
    seen = http_server.requests[0]
    assert (seen.host, seen.path, seen.params) == ("www.example.com", "/hello", {"x": "1"})
    assert http_proxy.count("www.example.com") == 1 and http_proxy.count() == 3


def test_proxy_honoured_through_http_proxy_env(http_proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    http_proxy.add_site("www.example.com", {"/page": "via the proxy"})
    for name, value in http_proxy.env().items():
        monkeypatch.setenv(name, value)
    assert requests.get("http://www.example.com/page", timeout=2).text == "via the proxy"
    assert http_proxy.count("http://www.example.com/page") == 1
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://www.example.com/", proxies=http_proxy.proxies, timeout=2)


# --- socket guard -----------------------------------------------------------------------------


def test_guard_blocks_non_loopback_connects() -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="192.0.2.1:80"):
        sock.connect(("192.0.2.1", 80))
    with socket.socket() as sock, pytest.raises(RuntimeError, match="test tried to reach the network"):
        sock.connect_ex(("192.0.2.1", 80))
    with pytest.raises(RuntimeError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    with pytest.raises(RuntimeError, match="resolve 'www.example.com'"):
        socket.getaddrinfo("www.example.com", 80)
    with pytest.raises(RuntimeError):
        requests.get("http://192.0.2.1/", timeout=1)
    with socket.socket(socket.AF_INET6) as sock, pytest.raises(RuntimeError):
        sock.connect(("2001:db8::1", 80, 0, 0))


def test_guard_blocks_dnspython_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = []
    monkeypatch.setitem(socket_guard._saved, "sendto", lambda *args: sent.append(args))
    query = dns.message.make_query("example.com", "A")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="198.51.100.1:53"):
        dns.query.udp(query, "198.51.100.1", timeout=5)
    with pytest.raises(RuntimeError, match="198.51.100.1:53"):
        dns.query.tcp(query, "198.51.100.1", timeout=5)
    with pytest.raises(RuntimeError, match="local DNS resolver"):
        dns.query.udp(query, "127.0.0.53", timeout=5)  # a stub resolver would forward upstream
    assert sent == [] and time.monotonic() - started < 1.0


def test_guard_lets_loopback_and_unix_sockets_through(zone_server: LabDNSServer, tmp_path) -> None:
    assert ask(zone_server, "example.com", "A").answer
    assert ask(zone_server, "example.com", "A", tcp=True).answer
    path = str(tmp_path / "lab.sock")
    with socket.socket(socket.AF_UNIX) as listener, socket.socket(socket.AF_UNIX) as client:
        listener.bind(path)
        listener.listen()
        client.connect(path)


def test_guard_in_a_subprocess(guarded_env: dict[str, str]) -> None:
    code = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    result = subprocess.run([sys.executable, "-c", code], env=guarded_env, capture_output=True,
                            text=True, timeout=20)
    assert result.returncode != 0
    assert "test tried to reach the network: 192.0.2.1:80" in result.stderr
