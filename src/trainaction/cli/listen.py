"""The listening socket of `trainaction server` and `trainaction ui`: bound before either prints where
it listens, so the address printed is the one taken (``--port 0``: the free port the system gave)."""

from __future__ import annotations

import socket

import typer

from .common import err

__all__ = ["listen"]


def listen(host: str, port: int) -> tuple[socket.socket, str]:
    """A socket bound to ``host``:``port`` and its base URL (``http://host:port``); a port that cannot
    be used ends the command with status 2, saying why."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family)
    # A restart on the same port must not wait for the last connections' TIME_WAIT (as uvicorn binds).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
        # Listening from here: a client that reads the printed address may connect at once, and waits
        # in the backlog until the server answers (uvicorn's own listen() later only sets the backlog).
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        err.print(
            f"error: --port {port} cannot be used on {host}: {exc.strerror or exc}; choose another port (0: any)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2) from None
    shown = f"[{address}]" if family == socket.AF_INET6 else address
    return sock, f"http://{shown}:{sock.getsockname()[1]}"
