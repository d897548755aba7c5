"""Live servers for tests (a stand-in with the agreed ``live_app``; the server's own helpers replace it)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from trainaction.backend import LocalBackend
from trainaction.server.app import create_app
from trainaction.server.auth import TokenStore
from trainaction.server.settings import ServerSettings


@contextlib.contextmanager
def live_app(storage: LocalBackend, settings: ServerSettings | None = None) -> Iterator[tuple[str, str]]:
    """The app over ``storage`` served by uvicorn in a thread; yields (url, admin token)."""
    tokens = TokenStore(storage.engine)
    admin = tokens.ensure_admin() or tokens.create(f"admin-{time.monotonic_ns()}", "admin")[1]
    app = create_app(storage, tokens, settings or ServerSettings(artifacts=storage.home))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the in-thread server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", admin
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
