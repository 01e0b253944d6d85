"""Credentials never leak: planted keys and passwords are searched for, in every form a library could
give them, in every file and every line of output a whole investigation produced against the lab."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import zipfile
from contextlib import closing
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from typer.testing import CliRunner

from apk_build import build_apk
from lab import SITECUSTOMIZE_DIR, socket_guard
from lab.world import CASE, start_lab, stop_lab, to_toml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(400)  # a whole investigation: every source, twice, and hundreds of `evidence show`

# Recognisable, and full of characters a URL or a Basic-auth header must encode. Each carries a core
# (the hex-ish word) that survives any encoding and any line folding, so a partial leak is found too.
SHODAN_KEY = "PLANTED+shodan/key=7c0ffee5ecret&x y"
WRONG_KEY = "WRONG+shodan/key=bad0c0ffee&x y"
CIRCL_USER = "planted-circl-user"
CIRCL_PASSWORD = "PLANTED/circl+p@ss w0rd&=?%d3adb33f:"
WRONG_PASSWORD = "WRONG/circl+p@ss=bad5eed"
MNEMONIC_KEY = "PLANTEDmnemonicKey+/=5ca1ab1e"
# The PostgreSQL store's password (in the store URL), and a wrong one for the "cannot open" error.
STORE_PASSWORD = "PLANTED/store+p@ss w0rd&=?%c0ffeeb0x:"
WRONG_STORE_PASSWORD = "WRONG/store+p@ss=deadf00d"
CORES = ("7c0ffee5ecret", "bad0c0ffee", "d3adb33f", "bad5eed", "5ca1ab1e", "c0ffeeb0x", "deadf00d")


def _forms(secret: str) -> set[str]:
    """The secret as written, as a URL carries it, and base64'd."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    b64 = base64.b64encode(secret.encode()).decode()
    forms |= {b64, b64.rstrip("=")}
    return forms


def _needles() -> list[str]:
    needles = set(CORES)
    for secret in (SHODAN_KEY, WRONG_KEY, CIRCL_PASSWORD, WRONG_PASSWORD, MNEMONIC_KEY, STORE_PASSWORD,
                   WRONG_STORE_PASSWORD):
        needles |= _forms(secret)
    for password in (CIRCL_PASSWORD, WRONG_PASSWORD):  # what a Basic-auth header carries
        basic = base64.b64encode(f"{CIRCL_USER}:{password}".encode()).decode()
        needles |= {basic, basic.rstrip("=")}
    return sorted(needles)


NEEDLES = _needles()


def leaks(data: bytes) -> list[str]:
    """Every planted secret (in any of its forms) found in data; also after removing the white
    space and table borders a terminal table may have folded a long value across."""
    text = data.decode("utf-8", "replace")
    flat = re.sub(r"[\s│┃|]", "", text)
    return [n for n in NEEDLES if n in text or n in flat]


class Investigation:
    """One lab, one store, every command an investigator would run, and everything they produced."""

    def __init__(self, tmp: Path, lab, store_url: str | None = None) -> None:
        self.tmp, self.lab = tmp, lab
        self.store_url = store_url  # a PostgreSQL store (its URL holds STORE_PASSWORD), else SQLite
        self.outputs: list[tuple[str, bytes]] = []  # (what was run, its stdout and stderr)
        self.wrong_run: subprocess.CompletedProcess | None = None  # enrich with the wrong key and password
        self.shown = 0  # observations shown one by one
        sources = lab.source_settings()
        for conf in sources.values():
            conf.update(rate=1000, burst=100)  # a fast lab run; limits are tested elsewhere
        # Credentials come from the environment only: nothing in this directory holds them at the start.
        sources["shodan"].pop("api_key")
        sources["pdns"].pop("circl_user")
        sources["pdns"].pop("circl_password")
        self.store = tmp / ".osint" / "evidence.sqlite"
        self.config = tmp / "osint.toml"
        store = {"url": store_url} if store_url else {"path": str(self.store)}
        self.config.write_text(to_toml({"store": store, "enrich": {"allow_private": False},
                                        "sources": sources}), encoding="utf-8")
        self.config.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if k not in (
            "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "SHODAN_API_KEY",
            "CIRCL_PDNS_USER", "CIRCL_PDNS_PASSWORD", "MNEMONIC_API_KEY", "OSINT_CONFIG", "OSINT_STORE")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITECUSTOMIZE_DIR), str(REPO), env.get("PYTHONPATH")) if p)
        env[socket_guard.ENV_SWITCH] = "1"
        env.update(lab.env(), COLUMNS="300")
        self.base_env = env
        self.right = {"SHODAN_API_KEY": SHODAN_KEY, "CIRCL_PDNS_USER": CIRCL_USER,
                      "CIRCL_PDNS_PASSWORD": CIRCL_PASSWORD, "MNEMONIC_API_KEY": MNEMONIC_KEY}
        self.wrong = dict(self.right, SHODAN_API_KEY=WRONG_KEY, CIRCL_PDNS_PASSWORD=WRONG_PASSWORD)

    def osint(self, *args: str, creds: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = dict(self.base_env, **(creds if creds is not None else self.right))
        result = subprocess.run([sys.executable, "-m", "osint", "--config", str(self.config), *args], env=env,
                                cwd=self.tmp, capture_output=True, timeout=90)
        self.outputs.append((" ".join(args), result.stdout + result.stderr))
        return result

    def show_every_observation(self) -> int:
        """`osint evidence show` for every observation, in this process (hundreds of them)."""
        from osint.cli import app

        runner = CliRunner()
        env = dict(self.right, COLUMNS="300", OSINT_CONFIG=str(self.config))
        with closing(self.open()) as store:
            ids = [o.id for o in store.list()]
        for i in ids:
            result = runner.invoke(app, ["--config", str(self.config), "evidence", "show", f"ev{i}"], env=env,
                                   catch_exceptions=False)
            assert result.exit_code == 0, result.output
            self.outputs.append((f"evidence show ev{i}", result.stdout_bytes + (result.stderr_bytes or b"")))
        return len(ids)

    def open(self):
        from osint.store import open_store

        return open_store(self.store_url or str(self.store), create=False)

    def tables(self) -> bytes:
        """Every row of every table of a PostgreSQL store, raw bytes as they are, the rest as text."""
        import psycopg

        out = []
        with psycopg.connect(self.store_url) as db:
            names = [n for (n,) in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            for name in names:
                for row in db.execute(f'SELECT * FROM "{name}"'):
                    out += [v if isinstance(v, bytes) else str(v).encode() for v in row]
        assert {"observations", "parses", "runs"} <= set(names)
        return b"\n".join(out)

    def files(self) -> list[tuple[str, bytes]]:
        """Every file under the working directory, and every member of every zip in it."""
        found = []
        for path in sorted(p for p in self.tmp.rglob("*") if p.is_file()):
            data = path.read_bytes()
            found.append((str(path.relative_to(self.tmp)), data))
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as zf:
                    found += [(f"{path.name}!{name}", zf.read(name)) for name in zf.namelist()]
        return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def investigation(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("secrets")
    store_url = wrong_url = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_server")
        role = "investigator_" + tmp.name[-8:].replace("-", "_").lower()
        pg.new_role(role, STORE_PASSWORD)
        db = pg.new_database(owner=role)
        store_url = pg.url(db, user=role, password=quote(STORE_PASSWORD, safe=""))
        wrong_url = pg.url(db, user=role, password=quote(WRONG_STORE_PASSWORD, safe=""))
    with pytest.MonkeyPatch.context() as mp:
        # The lab's Shodan and CIRCL accept only the planted credentials.
        import lab.world.pdns as lab_pdns
        import lab.world.shodan as lab_shodan

        mp.setattr(lab_shodan, "API_KEY", SHODAN_KEY)
        mp.setattr(lab_pdns, "CIRCL_USER", CIRCL_USER)
        mp.setattr(lab_pdns, "CIRCL_PASSWORD", CIRCL_PASSWORD)
        lab = start_lab()
        try:
            inv = Investigation(tmp, lab, store_url)
            if store_url:
                assert inv.osint("store", "init").returncode == 0
                # A wrong store password: the "cannot open" error must not show either password.
                refused = inv.osint("--store", wrong_url, "evidence", "list")
                assert refused.returncode == 2 and b"cannot open the evidence store" in refused.stderr
            # The wrong key and password first (the 401 paths), then the right ones: the failures are asked again.
            inv.wrong_run = inv.osint("-v", "enrich", "--case", str(CASE), creds=inv.wrong)
            # The store URL on the command line too: runs.command must not keep its password.
            inv.osint("-v", *(["--store", store_url] if store_url else []), "enrich", "--case", str(CASE))
            # The set-up check sends the same credentials (Shodan's api-info, CIRCL's basic auth).
            inv.osint("-v", "sources", "--check", creds=inv.wrong)
            inv.osint("-v", "sources", "--check")
        finally:
            stop_lab(lab)
    apk = tmp / "labbot.apk"  # an APK import too: its evidence and output are searched like the rest
    apk.write_bytes(build_apk()[0])
    assert inv.osint("import", "apk", str(apk), "--case", str(CASE)).returncode == 0
    inv.osint("sources")
    inv.osint("evidence", "list")
    inv.osint("evidence", "verify")
    inv.shown = inv.show_every_observation()
    for fmt in ("gexf", "graphml", "json", "csv", "stix", "misp"):
        out = tmp / "graphs" / ("" if fmt == "csv" else f"lab-case.{fmt}")
        assert inv.osint("graph", "--case", str(CASE), "--export", fmt, "--out", str(out)).returncode == 0
    assert inv.osint("attribute", "--case", str(CASE), "--format", "json").returncode == 0
    bundled = inv.osint("evidence", "bundle", "--case", str(CASE), "--out", str(tmp / "bundle.zip"))
    assert bundled.returncode == 0, bundled.stderr
    return inv


def _newest(store) -> dict[tuple[str, str], str]:
    from osint.store import open_store

    with closing(store if hasattr(store, "newest_per_query") else open_store(str(store), create=False)) as s:
        return {(o.source, o.query_key): str(o.outcome) for o in s.newest_per_query()}


def test_the_planted_credentials_were_really_used(investigation):
    # Otherwise finding no secret would prove nothing: the right key got answers, the wrong one a 401.
    newest = _newest(investigation.open())
    assert any(s == "shodan" and o == "answered" for (s, _), o in newest.items())
    # Shodan's search pivots carry the key too (favicon and certificate found at depth 0, searched at depth 1),
    # and the keyless pivots ran in the same investigation, so their evidence and output were searched as well.
    assert any(s == "shodan" and k.startswith("search ") and o == "answered" for (s, k), o in newest.items())
    for keyless in ("icp", "internetdb", "otx"):
        assert any(s == keyless and o == "answered" for (s, _), o in newest.items()), keyless
    assert any(s == "pdns" and k.startswith("circl ") and o == "answered" for (s, k), o in newest.items())
    with closing(investigation.open()) as store:
        refused = sum(len(store.list(source=s, outcome="refused")) for s in ("shodan", "pdns"))
    assert refused >= 2
    assert investigation.shown > 100


def test_the_platform_sources_and_the_apk_import_took_part(investigation):
    # Telegram, Google Play and YouTube need no key; they are here so that their answers, the APK and
    # every line they print are searched for the planted secrets like everything else.
    newest = _newest(investigation.open())
    for source in ("telegram", "google-play", "youtube", "apk"):
        assert any(s == source and o == "answered" for (s, _), o in newest.items()), source


def test_a_rejected_key_is_reported_in_one_line_without_the_key(investigation):
    err = investigation.wrong_run.stderr.decode()
    shodan = [line for line in err.splitlines() if "rejected the API key" in line]
    assert shodan, err[-3000:]
    assert all("SHODAN_API_KEY" in line and not leaks(line.encode()) for line in shodan)
    circl = [line for line in err.splitlines() if "circl" in line and "(401)" in line]
    assert circl and all("check the credentials" in line for line in circl), err[-3000:]


def test_no_file_holds_a_secret(investigation):
    files = investigation.files()
    names = {name for name, _ in files}
    assert {"bundle.zip", "bundle.zip!manifest.json", "graphs/lab-case.gexf", "graphs/nodes.csv",
            "graphs/lab-case.stix", "graphs/lab-case.misp", "bundle.zip!graphs/lab-case.stix.json",
            "bundle.zip!graphs/lab-case.misp.json"} <= names
    if investigation.store_url:
        files = [(n, d) for n, d in files if n != "osint.toml"]  # the one place the store URL is written down
        assert ".osint/evidence.sqlite" not in names
    else:
        assert {".osint/evidence.sqlite", "osint.toml"} <= names
    found = {name: hits for name, data in files if (hits := leaks(data))}
    assert found == {}


def test_no_database_row_holds_a_secret(investigation):
    if not investigation.store_url:
        pytest.skip("the SQLite store is a file, searched by test_no_file_holds_a_secret")
    rows = investigation.tables()
    assert b"--store postgresql://" in rows  # runs.command kept the command line, password hidden
    assert leaks(rows) == []


def test_no_output_holds_a_secret(investigation):
    assert len(investigation.outputs) > 100
    found = {what: hits for what, data in investigation.outputs if (hits := leaks(data))}
    assert found == {}


# -- a hostile Shodan: where the libraries, not our code, would write the key ------------------


def hostile_shodan(http_server) -> None:
    """Malformed headers (urllib3 then logs the whole URL as a WARNING), and a redirect loop that
    echoes the key in Location until the chain is cut off; every other IP is unknown."""

    def answer(request):
        from lab.http_server import Response

        ip = request.path.rsplit("/", 1)[1]
        if ip == "192.0.2.10":
            # The headers after the broken line are lost (Content-Length too): the body ends at close.
            broken = {"Connection": "close", "X-Broken": "1\r\nthis line has no colon"}
            return Response(200, b'{"ip_str": "192.0.2.10", "data": []}', broken, "application/json")
        if ip == "198.51.100.20":
            return Response(302, b"", {"Location": f"{http_server.url}{request.path}?{request.raw_query}&again=1"})
        return Response(404, {"error": "No information available for that IP."})

    http_server.add_route("GET", "/shodan/host/", answer, prefix=True)


def test_a_hostile_server_cannot_make_the_libraries_leak_the_key(http_server, guarded_env, tmp_path):
    hostile_shodan(http_server)
    store = tmp_path / "evidence.sqlite"
    config = tmp_path / "osint.toml"
    # allow_private: the redirect loop stays on loopback, and must be followed to its limit.
    config.write_text(to_toml({"store": {"path": str(store)}, "enrich": {"allow_private": True},
                               "sources": {"shodan": {"url": http_server.url, "rate": 1000, "burst": 100,
                                                     "timeout": 5}}}))
    env = dict(guarded_env, SHODAN_API_KEY=SHODAN_KEY, COLUMNS="300")
    for k in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        env.pop(k, None)
    outputs = []
    for verbose in ([], ["-v"]):
        run = subprocess.run([sys.executable, "-m", "osint", "--config", str(config), *verbose, "enrich", "--case",
                              str(CASE), "--sources", "shodan", "--depth", "0", "--refresh"],
                             env=env, cwd=tmp_path, capture_output=True, timeout=90)
        outputs.append(run.stdout + run.stderr)
    assert http_server.count() > 10
    assert b"Failed to parse headers" in outputs[0]  # urllib3's warning is shown, without the key
    newest = _newest(store)
    assert newest[("shodan", "host 192.0.2.10")] == "answered"
    assert newest[("shodan", "host 198.51.100.20")] == "blocked"
    assert [leaks(out) for out in outputs] == [[], []]
    assert leaks(store.read_bytes()) == []


def test_urllib3_debug_logs_never_carry_the_key(http_server, caplog):
    from osint.transport.base import Query
    from osint.transport.http import fetch_http
    from osint.transport.policy import AddressPolicy

    hostile_shodan(http_server)
    caplog.set_level("DEBUG")
    for ip in ("192.0.2.10", "198.51.100.20", "203.0.113.30"):
        query = Query("shodan", f"host {ip}", f"ip:{ip}", "http", {"url": f"{http_server.url}/shodan/host/{ip}"},
                      http_server.url, ("param", "key", "api_key"))
        fetched = fetch_http(query, 10, None, AddressPolicy(allow_private=True), {"api_key": SHODAN_KEY})
        assert not leaks(repr(fetched).encode())
    assert "/shodan/host/203.0.113.30?key=***" in caplog.text  # urllib3 logged the request line, scrubbed
    assert leaks(caplog.text.encode()) == []
