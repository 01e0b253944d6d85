"""A private PostgreSQL server for tests: its own cluster in a temporary directory, on 127.0.0.1.

Nothing system-wide is used or changed: no service, no /etc. initdb and postgres refuse to run as
root, so when the tests run as root the cluster belongs to an unprivileged account (postgres, else
nobody) and its programs run as that account; otherwise they run as ourselves. Missing PostgreSQL
programs are an error that says what to install, never a silent skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ADMIN = "lab_admin"


class PostgresMissing(RuntimeError):
    pass


def find_bindir() -> Path:
    """Where initdb and postgres are: $OSINT_PG_BINDIR, pg_config, Debian's layout, then PATH."""
    candidates = []
    if os.environ.get("OSINT_PG_BINDIR"):
        candidates.append(os.environ["OSINT_PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                             check=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]),
                         reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).parent))
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "postgres").is_file():
            return Path(c)
    raise PostgresMissing(
        "PostgreSQL server programs (initdb, postgres) not found: install Debian's `postgresql` package "
        "(bash tools/setup-system.sh does) or set OSINT_PG_BINDIR")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[int, int] | None:
    """The (uid, gid) to run PostgreSQL as when we are root; None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return pw.pw_uid, pw.pw_gid
    raise PostgresMissing("running as root, and no unprivileged account (postgres, nobody) to run PostgreSQL as")


class LabPostgres:
    """One cluster. `url(db)` gives a SQLAlchemy URL; `new_database()` a fresh, empty database."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.owner = _run_as()
        self.password = "lab-" + secrets.token_hex(8)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="osint-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"

    # -- life ----------------------------------------------------------------------------

    def _as_owner(self) -> dict[str, Any]:
        if self.owner is None:
            return {}
        uid, gid = self.owner
        return {"user": uid, "group": gid, "extra_groups": []}

    def start(self) -> "LabPostgres":
        if self.owner is not None:
            os.chown(self.dir, *self.owner)
        os.chmod(self.dir, 0o700)
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        if self.owner is not None:
            os.chown(pwfile, *self.owner)
        res = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", ADMIN, f"--pwfile={pwfile}",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, cwd=self.dir, **self._as_owner())
        pwfile.unlink()
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        self.port = _free_port()
        self._spawn()
        return self

    def _spawn(self) -> None:
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.dir),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB"],
            stdout=logf, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True, **self._as_owner())
        logf.close()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            try:
                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not accept connections: {self.log.read_text()[-2000:]}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Fast shutdown: every session is cut, as when a server restarts under a client."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self._spawn()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- addresses -----------------------------------------------------------------------

    def dsn(self, db: str, user: str = ADMIN, password: str | None = None) -> str:
        return (f"host=127.0.0.1 port={self.port} dbname={db} user={user} "
                f"password={password or self.password}")

    def url(self, db: str, user: str = ADMIN, password: str | None = None) -> str:
        return f"postgresql://{user}:{password or self.password}@127.0.0.1:{self.port}/{db}"

    def admin(self, db: str = "postgres"):
        import psycopg

        return psycopg.connect(self.dsn(db), autocommit=True)

    def new_database(self, owner: str | None = None) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0' + (f' OWNER "{owner}"' if owner else ""))
        return name

    def new_role(self, name: str, password: str) -> None:
        from psycopg import sql

        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                           sql.Literal(password)))
