"""`trainaction server`: the team server (REST API under /api/v1, docs at /docs)."""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from ..errors import TrainActionError
from .common import err, fail
from .listen import listen

__all__ = ["server"]


def server(
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="The port to listen on (0: any free port)."),
    db: str | None = typer.Option(
        None, "--db", help="SQLAlchemy database URL, e.g. postgresql://user@host/db; default: SQLite in --artifacts."
    ),
    artifacts: Path | None = typer.Option(
        None, "--artifacts", help="Folder for datasets, models and files; default: $TRAINACTION_HOME."
    ),
    max_body_mb: float = typer.Option(16, "--max-body-mb", min=0.001, help="Largest JSON request body, in MiB."),
    max_upload_gb: float = typer.Option(10, "--max-upload-gb", min=0.000001, help="Largest uploaded file, in GiB."),
    workers: int = typer.Option(
        0,
        "--workers",
        min=0,
        max=64,
        help="Run submitted jobs (`trainaction submit`) here, N at a time, each worker keeping Ray warm between "
        "tuning jobs; 0: no executor.",
    ),
) -> None:
    """Serve the jobs, events, datasets and models of one database to a team, over HTTP.

    On a database without tokens it creates an admin token and prints it, once."""
    import sqlalchemy as sa
    import uvicorn

    from ..backend import default_home
    from ..backend.storage import open_storage
    from ..server import ServerSettings, create_app
    from ..server.auth import TokenStore

    sock, base = listen(host, port)
    settings = ServerSettings(
        host=host,
        port=sock.getsockname()[1],
        db=db,
        artifacts=(artifacts or default_home()).expanduser().resolve(),
        max_body_mb=max_body_mb,
        max_upload_gb=max_upload_gb,
    )
    try:
        storage = open_storage(settings.db, settings.artifacts)
        tokens = TokenStore(storage.engine)
        secret = tokens.ensure_admin()
    except TrainActionError as exc:
        fail(exc)
    except (sa.exc.ArgumentError, sa.exc.OperationalError, ImportError) as exc:
        err.print(f"error: --db {db!r} cannot be opened: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    shown = storage.engine.url.render_as_string(hide_password=True)
    print(f"storage: {shown} (artifacts in {settings.artifacts})")
    if secret is not None:
        print(f"admin token (shown once, store it now): {secret}")
    print(f"trainaction server listening on {base} (API docs: {base}/docs)", flush=True)
    app = create_app(storage, tokens, settings)
    executor = None
    if workers:
        from ..executor import Executor

        executor = Executor(workers, storage, settings.artifacts, db)
        executor.start()
        print(f"executor: {workers} worker(s) run submitted jobs", flush=True)
    # A batch of events parses into tens of thousands of small objects, which with the default
    # thresholds set off full collections over everything the server holds: parsing a 10,000-event
    # body took 75 ms instead of 18. Objects made at start-up are frozen out of collections too.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        _server_class()(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
    finally:
        if executor is not None:
            executor.stop()  # running jobs end STOPPED; queued ones wait for the next start
    sys.stdout.flush()


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """Ctrl-C or SIGTERM: requests in flight finish, then the command exits 0.

        uvicorn raises the signal again once it has stopped, which would end the process by the
        signal (status -15); a stop someone asked for is a clean end here."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            saved = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in saved.items():
                    signal.signal(sig, handler)

    return Server
