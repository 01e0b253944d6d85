"""The load world: a synthetic case of many IPs and domains, its answers in the lab, and a seeded share of faults.

`tests/test_load.py` and `bench/load.py` both build on it. Everything here is a pure function of the
case size, the sources asked, the seed and the fault fraction, so that a lab in another process plays
exactly the faults that the process checking the store expects.

The world, indicator by indicator (k counts IPs, j counts domains):

- IPs come from 100.64.0.0/10 (shared address space, RFC 6598), as in `bench/enrich.py`: RFC 5737's
  three /24s hold only ~760 addresses, and they are reserved ranges, which rdap and asn answer locally
  without asking anyone. Even k lie in 100.64.16.0/20, inside the lab's RDAP network (answered) with a
  Team Cymru origin (AS64500, answered, which calls for one follow-up: the AS name); odd k lie in
  100.80.0.0/12, unknown to RDAP and Cymru (no_record). Every third k has a PTR record. Shodan and
  both passive DNS providers know none of them (no_record).
- Domains are site-j.load.test (odd j) and site-j.load.example (even j). Even j have an A record,
  every fifth an MX, every fourth a TXT; every other DNS type, and _dmarc, is no_record. Each has a
  home page behind the lab proxy, except every seventh (404: no_record). WHOIS asks nothing about
  special-use names, and crt.sh is asked once per registrable name (load.test, load.example: no_record).

A seeded share (5%) of the questions is faulted, each with a fault its protocol has (see DNS_FAULTS,
HTTP_FAULTS). Only questions the lab can fault alone are candidates: DNS faults are keyed on type and
name, HTTP faults on the path (the Host and path for web pages); crt.sh's questions share one path
and the AS-name follow-up is asked once for everyone, so neither is faulted.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import dns.reversename

from .http_server import HTTPRequest, Response

SEED = 20240505
FRACTION = 0.05
# The sources that ask the network about IPs and domains; whois has nothing to ask about .test/.example.
SOURCES = ("dns", "asn", "rdap", "pdns", "shodan", "ct", "web", "whois")
# Per-source limits for a load run: deadlines short enough that faults that never answer do not
# dominate the run, no retries (a fault set on a key answers every attempt the same way, so a retry
# only doubles the wait), rate limits out of the way (the lab does not throttle), a cap that the
# "huge" answers exceed.
TIMEOUT = 2.0  # a healthy answer takes milliseconds; the margin is for a busy machine
MAX_BYTES = 200_000
HTTP_FAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "huge": {"size": 3 * MAX_BYTES},
    "trickle": {"interval": TIMEOUT},  # the second byte comes after the deadline
    "status_429": {"retry_after": 1},
    "status_5xx": {"status": 503},
    "gzip_bomb": {"size": 20 * MAX_BYTES},
}

A, NR = "answered", "no_record"
TIMEOUT_OUTCOMES = ("timeout",)  # first: breaker_risk reads a fault's first outcome

# What a fault on each protocol is recorded as (the fault matrix of docs/reliability.md), and how
# often it is picked. Faults that never answer (silence, trickle, DNS garbage, whose random bytes never
# carry the query's id) and refusals are the engine's "dead server" signal, and 429s its "slow down"
# signal: the breaker shuts a server for the rest of the run after 4 (3 for 429) of them in a row.
# They are picked less often, so that a healthy server is not shut by bad luck in the order answers
# come back: about 1 run of 10,000 indicators in 1,000 would see it (`breaker_risk`), against 1 in 7
# with every kind alike (`bench/load.py --even` does that, and shows what happens).
DNS_FAULTS: dict[str, tuple[tuple[str, ...], int]] = {
    "servfail": (("server_error",), 12),
    "silence": (TIMEOUT_OUTCOMES, 1),
    "garbage": (TIMEOUT_OUTCOMES + ("bad_answer",), 1),
    "refused": (("refused",), 1),
}
HTTP_FAULTS: dict[str, tuple[tuple[str, ...], int]] = {
    "status_5xx": (("server_error",), 6),
    "reset": (("reset",), 6),
    "garbage": (("bad_answer",), 6),
    "malformed_json": (("bad_answer",), 6),
    "wrong_content_type": (("bad_answer",), 6),
    "huge": (("too_large",), 6),
    "silence": (TIMEOUT_OUTCOMES, 1),
    "trickle": (TIMEOUT_OUTCOMES, 1),
    "status_429": (("rate_limited",), 1),
    "status_429_no_retry_after": (("rate_limited",), 1),
}
# Web pages come through the lab proxy, which answers a site's garbage with 502 Bad Gateway.
WEB_FAULTS = {**HTTP_FAULTS, "garbage": (("server_error",), 6), "gzip_bomb": (("too_large",), 6)}


# --- the case --------------------------------------------------------------------------------------


def sizes(n: int) -> tuple[int, int]:
    """How many IPs and domains a case of n indicators holds: half and half."""
    return n // 2, n - n // 2


def ip_of(k: int) -> str:
    if k % 2 == 0:
        return str(IPv4Address("100.64.16.1") + k // 2)  # up to 100.64.25.196 for 10,000 indicators
    return str(IPv4Address("100.80.0.1") + k // 2)


def domain_of(j: int) -> str:
    return f"site-{j}.load.{'example' if j % 2 == 0 else 'test'}"


def indicators(n: int) -> tuple[list[str], list[str]]:
    n_ips, n_domains = sizes(n)
    return [ip_of(k) for k in range(n_ips)], [domain_of(j) for j in range(n_domains)]


def case_yaml(case_id: str, title: str, brand: str, ips: list[str], domains: list[str]) -> str:
    """A synthetic case file: one brand whose websites are `domains` and whose servers are `ips`.
    bench/enrich.py writes its cases with this too."""
    lines = ["case:", f"  id: {case_id}", f"  title: {title}", "brands:", f"  - id: {brand.lower()}",
             f"    name: {brand}", "    websites:"]
    lines += [f"      - {d}" for d in domains]
    lines += [f"    source: {case_id}", "    standing: alleged by the victim", "servers:",
              f"  claim: {{relation: alleged_server_of, brand: {brand.lower()}}}", f"  source: {case_id}",
              "  standing: alleged by the victim", "  ips:"]
    lines += [f"    - {ip}" for ip in ips]
    return "\n".join(lines) + "\n"


def write_case(path: Path, n: int) -> Path:
    ips, domains = indicators(n)
    path.write_text(case_yaml(f"load-{n}", f"synthetic load case of {n} indicators", "LoadBot", ips, domains),
                    encoding="utf-8")
    return path


# --- the questions and what the lab answers ---------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One question the engine should ask, the lab server and fault key that answer it, and the answer."""

    source: str
    key: str  # the engine's query key
    indicator: str  # node id of the case indicator it is about
    server: str  # "dns" or "http"
    fault_key: str | None  # None: cannot be faulted alone (crt.sh's one path for every name)
    expected: str  # the outcome when no fault is set


def _dns(source: str, indicator: str, rdtype: str, qname: str, key: str, expected: str) -> Question:
    return Question(source, key, indicator, "dns", f"{rdtype} {qname}", expected)


def ip_questions(k: int, ip: str) -> list[Question]:
    node = f"ip:{ip}"
    rev = dns.reversename.from_address(ip).to_text(omit_final_dot=True)
    origin = ".".join(reversed(ip.split("."))) + ".origin.asn.cymru.com"
    known = k % 2 == 0
    return [
        _dns("dns", node, "PTR", rev, f"PTR {ip}", A if k % 3 == 0 else NR),
        _dns("asn", node, "TXT", origin, f"origin {ip}", A if known else NR),
        Question("rdap", f"ip {ip}", node, "http", f"/rdap/ip/{ip}", A if known else NR),
        Question("pdns", f"circl {ip}", node, "http", f"/circl/{ip}", NR),
        Question("pdns", f"mnemonic {ip}", node, "http", f"/mnemonic/{ip}", NR),
        Question("shodan", f"host {ip}", node, "http", f"/shodan/host/{ip}", NR),
    ]


def domain_records(j: int) -> dict[str, list[str]]:
    records: dict[str, list[str]] = {}
    if j % 2 == 0:
        records["A"] = [ip_of(j)]
    if j % 5 == 0:
        records["MX"] = ["10 mail.load.test."]
    if j % 4 == 0:
        records["TXT"] = ['"v=spf1 -all"']
    return records


def domain_questions(j: int, name: str) -> list[Question]:
    node = f"domain:{name}"
    records = domain_records(j)
    out = [_dns("dns", node, t, name, f"{t} {name}", A if t in records else NR)
           for t in ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "CAA")]
    out.append(_dns("dns", node, "TXT", f"_dmarc.{name}", f"TXT _dmarc.{name}", NR))
    out += [Question("pdns", f"circl {name}", node, "http", f"/circl/{name}", NR),
            Question("pdns", f"mnemonic {name}", node, "http", f"/mnemonic/{name}", NR),
            Question("web", f"GET http://{name}/", node, "http", f"{name}/", NR if j % 7 == 0 else A)]
    return out


def questions(n: int, sources: tuple[str, ...] = SOURCES) -> list[Question]:
    """Every question a depth-0 run of the load case with these sources asks, in no particular order."""
    ips, domains = indicators(n)
    out = [q for k, ip in enumerate(ips) for q in ip_questions(k, ip)]
    out += [q for j, name in enumerate(domains) for q in domain_questions(j, name)]
    if any(k % 2 == 0 for k in range(len(ips))):  # an answered origin names AS64500: its name is asked once
        out.append(Question("asn", "asname AS64500", "asn:AS64500", "dns", None, A))
    for zone in sorted({name.split(".", 1)[1] for name in domains}):
        out.append(Question("ct", f"crtsh %.{zone}", f"domain:{zone}", "http", None, NR))
    return [q for q in out if q.source in sources]


# --- the faults -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedFault:
    """A fault the lab plays on one question, and what the engine may record it as."""

    mode: str
    options: dict[str, Any]
    outcomes: tuple[str, ...]  # what the question may be recorded as


def fault_menu(q: Question, even: bool = False) -> dict[str, tuple[tuple[str, ...], int]]:
    """The faults a question can meet: {mode: (outcomes, weight)}."""
    menu = DNS_FAULTS if q.server == "dns" else WEB_FAULTS if q.source == "web" else HTTP_FAULTS
    if q.source == "pdns" and q.key.startswith("circl "):
        # CIRCL answers an unknown name with an empty body: a trickle of nothing arrives whole.
        menu = {k: v for k, v in menu.items() if k != "trickle"}
    if even:
        menu = {k: (outcomes, 1) for k, (outcomes, _) in menu.items()}
    return menu


def plan_faults(qs: list[Question], fraction: float = FRACTION, seed: int = SEED,
                even: bool = False) -> dict[tuple[str, str], PlannedFault]:
    """A seeded `fraction` of the questions that can be faulted alone, each with a fault of its protocol."""
    rng = random.Random(seed)
    candidates = sorted((q for q in qs if q.fault_key), key=lambda q: (q.source, q.key))
    chosen = rng.sample(candidates, round(len(candidates) * fraction))
    plan = {}
    for q in sorted(chosen, key=lambda q: (q.source, q.key)):
        menu = fault_menu(q, even)
        modes = sorted(menu)
        mode = rng.choices(modes, weights=[menu[m][1] for m in modes])[0]
        options = dict(HTTP_FAULT_OPTIONS.get(mode, {})) if q.server == "http" else {}
        plan[(q.source, q.key)] = PlannedFault(mode, options, menu[mode][0])
    return plan


def breaker_risk(qs: list[Question], plan: dict[tuple[str, str], PlannedFault]) -> dict[str, float]:
    """Per source: how many runs of 4 "dead server" answers (or 3 429s) in a row to expect, in random order.

    The engine's breaker shuts a source's server for the rest of the run after such a run; with faults
    spread at random, this (when small) is the chance that a healthy server is shut by the order alone.
    """
    out = {}
    for source in sorted({q.source for q in qs}):
        faults = [f for q in qs if q.source == source and (f := plan.get((q.source, q.key)))]
        n = sum(1 for q in qs if q.source == source)
        dead = sum(1 for f in faults if f.outcomes[0] in ("timeout", "refused"))
        limited = sum(1 for f in faults if f.outcomes[0] == "rate_limited")
        out[source] = n * ((dead / n) ** 4 + (limited / n) ** 3)
    return out


def apply_faults(lab: Any, qs: list[Question], plan: dict[tuple[str, str], PlannedFault]) -> int:
    """Set every planned fault on its lab server; returns how many were set."""
    by_question = {(q.source, q.key): q for q in qs}
    for (source, key), fault in plan.items():
        q = by_question[(source, key)]
        server = lab.dns if q.server == "dns" else lab.http
        server.set_fault(fault.mode, q.fault_key, **fault.options)
    return len(plan)


# --- the lab world --------------------------------------------------------------------------------


def home_page(request: HTTPRequest) -> Response:
    host = request.host
    if not host.startswith("site-") or ".load." not in host:
        return Response(404, f"no lab site {host}\n")
    j = int(host[len("site-"):].split(".", 1)[0])
    if j % 7 == 0:
        return Response(404, "<html><body>not found</body></html>", content_type="text/html")
    body = (f"<html><head><title>Site {j}</title></head><body><h1>LoadBot mirror {j}</h1>"
            f"<p>Contact: ops{j}@load.test</p></body></html>")
    return Response(200, body, content_type="text/html; charset=utf-8")


def install(lab: Any, n: int) -> None:
    """Load the answers of the load case of n indicators into a running lab world (`start_lab()`)."""
    ips, domains = indicators(n)
    for k, ip in enumerate(ips):
        if k % 3 == 0:
            lab.dns.add_records(dns.reversename.from_address(ip).to_text(), "PTR", [f"host-{k}.hosting.test."])
        if k % 2 == 0:
            origin = ".".join(reversed(ip.split("."))) + ".origin.asn.cymru.com."
            lab.dns.add_records(origin, "TXT", ['"64500 | 100.64.0.0/16 | HK | apnic | 2019-05-14"'])
    for j, name in enumerate(domains):
        for rdtype, rdatas in domain_records(j).items():
            lab.dns.add_records(name + ".", rdtype, rdatas)
        lab.proxy.add_site(name, lab.http)
    # One route for every site's home page: the lab server serves routes without a Host after those with one.
    lab.http.get("/", home_page)


def settings(source_settings: dict[str, dict[str, Any]], concurrency: int) -> dict[str, dict[str, Any]]:
    """The lab's source settings (`lab.source_settings()`) with the load run's limits on top."""
    conf = {name: dict(values) for name, values in source_settings.items()}
    for name in SOURCES:
        conf.setdefault(name, {}).update(timeout=TIMEOUT, retries=0, max_bytes=MAX_BYTES, rate=100000.0,
                                         burst=concurrency, concurrency=concurrency)
    # The load world plans each page's question, not the favicon each page would then be asked for
    # (fingerprints have their own tests): one question per indicator and source, as counted.
    conf["web"]["favicons"] = False
    return conf


def digest(plan: dict[tuple[str, str], PlannedFault]) -> str:
    """A short fingerprint of a fault plan, so that two processes can check they agree."""
    h = hashlib.sha256()
    for (source, key), fault in sorted(plan.items()):
        h.update(f"{source}\t{key}\t{fault.mode}\n".encode())
    return h.hexdigest()[:12]


# --- the lab in its own process ---------------------------------------------------------------------


def serve(n: int, sources: tuple[str, ...], fraction: float, seed: int, even: bool) -> None:
    """Run the load world for a case of n indicators, faults set on the sources' questions, until stdin says "quit".

    Prints one JSON line first: the source settings, the environment a run needs, and the fault
    plan's size and digest. Then answers "stats" (see RemoteLab.stats) and "quit".
    """
    import json
    import resource
    import sys

    from .world import start_lab, stop_lab

    pauses = GCPauses()
    lab = start_lab()
    install(lab, n)
    qs = questions(n, sources)
    plan = plan_faults(qs, fraction, seed, even)
    apply_faults(lab, qs, plan)
    print(json.dumps({"sources": lab.source_settings(), "env": lab.env(), "faults": len(plan),
                      "digest": digest(plan)}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            print(json.dumps({"requests": lab.total_requests(), "cpu_s": usage.ru_utime + usage.ru_stime,
                              "clients": clients(lab), **pauses.as_dict()}), flush=True)
        elif command == "quit":
            break
    stop_lab(lab)
    print("bye", flush=True)


def clients(lab: Any) -> dict[str, dict[str, int]]:
    """Per server ("dns", "whois", "http", "proxy"): requests by client address (the egress a worker left from)."""
    import collections

    return {name: dict(collections.Counter(r.client[0] for r in list(server.requests)))
            for name, server in (("dns", lab.dns), ("whois", lab.whois), ("http", lab.http), ("proxy", lab.proxy))}


class GCPauses:
    """The longest and the total time Python's garbage collector stopped this process (all threads)."""

    def __init__(self) -> None:
        import gc
        import time

        self.longest = self.total = 0.0
        self.collections = 0
        self._clock = time.perf_counter
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self._clock()
            return
        pause = self._clock() - self._started
        self.longest = max(self.longest, pause)
        self.total += pause
        self.collections += 1

    def as_dict(self) -> dict[str, float]:
        return {"gc_longest_s": self.longest, "gc_total_s": self.total, "gc_collections": self.collections}


class RemoteLab:
    """The load world in its own process, as real servers would be: its work does not compete with
    the engine's for the GIL, and its memory (request logs grow with every question) is not the engine's."""

    def __init__(self, n: int, sources: tuple[str, ...] = SOURCES, fraction: float = FRACTION, seed: int = SEED,
                 even: bool = False, env: dict[str, str] | None = None):
        import json
        import os
        import subprocess
        import sys

        tests_dir = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ if env is None else env)
        env["PYTHONPATH"] = os.pathsep.join([tests_dir, *filter(None, [env.get("PYTHONPATH")])])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lab.load", str(n), ",".join(sources), str(fraction), str(seed),
             "even" if even else "weighted"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tests_dir)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"the load lab did not start (exit status {self.proc.returncode})")
        started = json.loads(line)
        self.source_settings: dict[str, dict[str, Any]] = started["sources"]
        self.env: dict[str, str] = started["env"]
        self.faults: int = started["faults"]
        self.digest: str = started["digest"]

    def stats(self) -> dict[str, Any]:
        """Requests received so far, CPU seconds used, and the garbage collector's pauses (GCPauses)."""
        import json

        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, ValueError):
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "RemoteLab":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    import sys

    size, names, share, seed_arg, mode = sys.argv[1:6]
    serve(int(size), tuple(names.split(",")), float(share), int(seed_arg), mode == "even")
