"""Live servers for tests: a real `trainaction server` subprocess, or uvicorn in a thread (fast)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from trainaction.backend import LocalBackend
from trainaction.server import ServerSettings, create_app
from trainaction.server.auth import TokenStore

__all__ = ["ServerProcess", "free_port", "live_app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, deadline: float, alive: Any = None) -> None:
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the server at {url} exited before it answered")
        try:
            httpx.get(f"{url}/openapi.json", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"the server at {url} did not answer in time")


class ServerProcess:
    """``python -m trainaction server --port P --db URL --artifacts DIR`` in a subprocess.

    ``start()`` waits until it answers and reads the admin token it prints (None when the database
    had tokens already); ``restart()`` starts it again on the same port and database."""

    def __init__(
        self,
        artifacts: Path,
        db: str | None = None,
        *,
        port: int | None = None,
        args: tuple[str, ...] = (),
        pass_artifacts: bool = True,
    ) -> None:
        """``pass_artifacts=False``: no ``--artifacts``, the server takes $TRAINACTION_HOME (``artifacts`` should be it)."""
        self.artifacts = Path(artifacts)
        self.db = db
        self.port = port or free_port()
        self.args = args
        self.pass_artifacts = pass_artifacts
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token: str | None = None
        self.stdout: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self.log = self.artifacts.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 60) -> ServerProcess:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "trainaction", "server", "--port", str(self.port)]
        command += ["--artifacts", str(self.artifacts)] if self.pass_artifacts else []
        command += [*(["--db", self.db] if self.db else []), *self.args]
        self.stdout = []
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        self._reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self._reader.start()
        process = self.process
        _wait_until_up(self.url, time.monotonic() + timeout, lambda: process.poll() is None)
        for line in self.stdout:
            if line.startswith("admin token (shown once, store it now): "):
                self.admin_token = line.rsplit(" ", 1)[1]
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.stdout.append(line.rstrip("\n"))

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait; returns the exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout)
        self._close()
        return status

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self._close()

    def _close(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self._reader.join(10)
            self.process.stdout.close()

    def restart(self, timeout: float = 60) -> ServerProcess:
        token = self.admin_token
        self.stop()
        self.start(timeout)
        self.admin_token = self.admin_token or token
        return self

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.kill()


@contextlib.contextmanager
def live_app(
    storage: LocalBackend, *, settings: ServerSettings | None = None, **options: Any
) -> Iterator[tuple[str, str]]:
    """The app over ``storage``, served by uvicorn in a thread; yields (url, admin token).

    ``options``: ServerSettings fields (e.g. ``max_body_mb``); the artifacts are the storage's home."""
    settings = settings or ServerSettings(artifacts=storage.home, **options)
    tokens = TokenStore(storage.engine)
    token = tokens.ensure_admin() or tokens.create(f"admin-{uuid.uuid4().hex[:8]}", "admin")[1]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(create_app(storage, tokens, settings), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.01)
        yield url, token
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
