"""A throwaway PostgreSQL cluster for the tests: the machine's initdb/pg_ctl, a temporary folder, a free port.

initdb refuses to run as root: as root the cluster runs as the ``postgres`` user (runuser), in a
folder that user owns. Without PostgreSQL the fixture fails with what to install: tests that need
it must run, never skip (CI installs Debian's ``postgresql`` package).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

__all__ = ["PostgresCluster", "find_bindir"]

_NOT_INSTALLED = (
    "PostgreSQL is not installed: no initdb/pg_ctl on PATH, through `pg_config --bindir`, or in "
    "/usr/lib/postgresql/*/bin; install it (Debian: apt-get install postgresql) — .ci/run does"
)


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl, or AssertionError saying how to install them."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(bindir) / "initdb").exists():
            return Path(bindir)
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(found).parent
    raise AssertionError(_NOT_INSTALLED)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """``start()`` a cluster on 127.0.0.1 and a unix socket in its folder; ``stop()`` removes it all."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="trainaction-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._user: str | None = None
        self._names = itertools.count(1)
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, cwd=self.root, timeout=120)

    def start(self) -> None:
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        if done.returncode:
            raise AssertionError(f"initdb failed: {done.stderr or done.stdout}")
        for _ in range(5):  # another process may take the free port first
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=300 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
            if done.returncode == 0:
                return
        log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
        raise AssertionError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"t_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {sa.engine.make_url(url).database} WITH (FORCE)")

    def admin(self, statement: str) -> None:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[PostgresCluster]:
        cluster = cls()
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
