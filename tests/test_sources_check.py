"""`osint sources --check` against the lab: a wrong key and a dead server are named before any run."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

from lab.world import start_lab, stop_lab


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here any more: connections are refused
    return port


def _row(output: str, name: str) -> str:
    return next(l for l in output.splitlines() if re.match(rf"│ {re.escape(name)}\s", l))


def _check(lab, tmp_path, guarded_env, extra_env=None, edit=None):
    cfg = lab.write_config(tmp_path / "osint.toml", tmp_path / "e.sqlite")
    if edit:
        cfg.write_text(edit(cfg.read_text(encoding="utf-8")), encoding="utf-8")
    env = {**guarded_env, **lab.env(), "COLUMNS": "250", **(extra_env or {})}
    env.pop("SHODAN_API_KEY", None) if not extra_env or "SHODAN_API_KEY" not in extra_env else None
    return subprocess.run([sys.executable, "-m", "osint", "--config", str(cfg), "sources", "--check"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_every_lab_source_is_reachable_and_nothing_is_stored(guarded_env, tmp_path):
    lab = start_lab()
    try:
        proc = _check(lab, tmp_path, guarded_env)
    finally:
        stop_lab(lab)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("dns", "whois", "rdap", "asn", "pdns", "shodan", "ct", "web"):
        assert "reachable" in _row(proc.stdout, name), name
    assert "offline" in _row(proc.stdout, "cn-registry")
    assert "api-info" in _row(proc.stdout, "shodan")  # the key's own account call
    assert not (tmp_path / "e.sqlite").exists()  # a check is not evidence


def test_a_wrong_key_and_a_dead_server_are_named_and_exit_1(guarded_env, tmp_path):
    dead = _dead_port()
    lab = start_lab()
    try:
        proc = _check(lab, tmp_path, guarded_env, {"SHODAN_API_KEY": "WrongKey-planted-0123456789"},
                      lambda text: re.sub(r'(\[sources\.rdap\]\nendpoint = )"[^"]+"',
                                          rf'\1"http://127.0.0.1:{dead}/rdap/"', text))
        requests_seen = lab.total_requests()
    finally:
        stop_lab(lab)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    shodan, rdap = _row(proc.stdout, "shodan"), _row(proc.stdout, "rdap")
    assert "key rejected" in shodan and "SHODAN_API_KEY" in shodan
    assert "refused" in rdap and str(dead) in rdap
    assert "reachable" in _row(proc.stdout, "dns") and "reachable" in _row(proc.stdout, "whois")
    assert re.search(r"2 enabled source\(s\) cannot work: rdap, shodan", proc.stdout)
    assert "WrongKey" not in proc.stdout + proc.stderr
    assert requests_seen <= 12  # one cheap question per source, no retries


def test_a_missing_key_is_said_before_any_question(guarded_env, tmp_path):
    lab = start_lab()
    try:
        proc = _check(lab, tmp_path, guarded_env,
                      edit=lambda text: re.sub(r'api_key = "[^"]+"\n', "", text))
    finally:
        stop_lab(lab)
    assert proc.returncode == 1
    shodan = _row(proc.stdout, "shodan")
    assert "no key" in shodan and "SHODAN_API_KEY" in shodan


def test_a_rate_limit_is_said_but_a_silent_resolver_fails(guarded_env, tmp_path):
    from lab.faults import Fault

    lab = start_lab()
    try:
        lab.http.faults.set(Fault.STATUS_429, "/crtsh/")
        lab.dns.faults.set(Fault.SILENCE)  # every DNS question: the resolver never answers
        proc = _check(lab, tmp_path, guarded_env)
    finally:
        stop_lab(lab)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "rate-limited" in _row(proc.stdout, "ct")
    assert "timed out" in _row(proc.stdout, "dns") and "timed out" in _row(proc.stdout, "asn")
    assert re.search(r"2 enabled source\(s\) cannot work: dns, asn", proc.stdout)  # ct works, slowly
