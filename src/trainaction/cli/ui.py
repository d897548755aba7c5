"""`trainaction ui`: the dashboard over $TRAINACTION_HOME, on this machine only, read-only, no token."""

from __future__ import annotations

import ipaddress
import threading
import webbrowser

import typer

from ..errors import TrainActionError
from .common import err, fail
from .listen import listen

__all__ = ["is_loopback", "ui"]


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ui(
    host: str = typer.Option("127.0.0.1", "--host", help="A loopback address to listen on (127.0.0.1, ::1)."),
    port: int = typer.Option(8766, "--port", min=0, max=65535, help="The port to listen on (0: any free port)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the address; do not open a browser."),
) -> None:
    """Open the dashboard for this machine's jobs ($TRAINACTION_HOME), read-only.

    It needs no token: it listens on a loopback address only, so only this machine reaches it, and
    every request reads (writes are refused with 403). To serve a team, use `trainaction server`."""
    if not is_loopback(host):
        err.print(
            f"error: --host {host!r} is not a loopback address; `trainaction ui` serves this home without a "
            "token, so it listens on 127.0.0.1 or ::1 only. To share jobs with others, run `trainaction server` "
            "(it asks for tokens) and open its address instead.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)
    import uvicorn

    from ..backend import LocalBackend, default_home
    from ..server import ServerSettings, create_app
    from ..server.auth import TokenStore

    try:
        storage = LocalBackend(default_home(), create=False)
    except TrainActionError as exc:
        fail(exc)
    sock, base = listen(host, port)
    url = f"{base}/"
    settings = ServerSettings(host=host, port=sock.getsockname()[1], artifacts=storage.home)
    app = create_app(storage, TokenStore(storage.engine), settings, open_read=True)
    print(f"dashboard: {url}", flush=True)
    print("read-only, on this machine only; Ctrl-C stops it", flush=True)
    if not no_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
