"""What every command shares: the consoles, the exit-status table, error and JSON output."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import typer
from rich.console import Console

from ..backend import Backend, open_backend
from ..errors import (
    DatabaseLockedError,
    InUseError,
    JobStopped,
    NoHomeError,
    NotFoundError,
    NotResumableError,
    PathError,
    PluginError,
    StoreError,
    TrainActionError,
    ValidationError,
)
from ..terminal import printable

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

# One table from error class to exit status (the tree in trainaction.errors draws it). A class
# without an entry takes its nearest ancestor's, so the most specific class wins.
EXIT_STATUS: dict[type[BaseException], int] = {
    TrainActionError: 1,
    ValidationError: 2,
    PluginError: 2,
    NotFoundError: 2,
    NotResumableError: 2,
    InUseError: 2,
    NoHomeError: 2,
    PathError: 2,
    StoreError: 2,
    DatabaseLockedError: 1,
    JobStopped: 130,
    KeyboardInterrupt: 130,
}


def exit_status(exc: BaseException) -> int:
    """The exit status for an exception: the entry of the nearest class along its MRO, else 1."""
    return next((EXIT_STATUS[cls] for cls in type(exc).__mro__ if cls in EXIT_STATUS), 1)


JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
# The team server to use instead of the embedded home; each overrides its environment variable.
BackendOption = typer.Option(
    None,
    "--backend",
    envvar="TRAINACTION_BACKEND",
    metavar="URL",
    help="The team server (http://host:port) instead of the embedded home.",
)
TokenOption = typer.Option(
    None, "--token", envvar="TRAINACTION_TOKEN", metavar="TOKEN", help="The team server's token (--backend)."
)


def fail(exc: TrainActionError) -> NoReturn:
    status = exit_status(exc)
    if isinstance(exc, ValidationError):
        err.print(f"[red]invalid job document[/red] ({len(exc.errors)} error(s)):", highlight=False)
        for error in exc.errors:
            err.print(f"  {printable(error)}", markup=False, highlight=False)
    else:
        err.print(f"error: {printable(exc)}", markup=False, highlight=False)
    raise typer.Exit(status)


def lines(text: str) -> str:
    """A multi-line notice (the migrated document) keeps its lines; each is escaped."""
    return "\n".join(printable(line) for line in text.split("\n"))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def backend(*, create: bool = False, url: str | None = None, token: str | None = None) -> Backend:
    """The backend: the team server at ``url`` (``--backend``) with ``token``, else the environment's.
    A command that only reads (the default) creates no home and says when there is none."""
    return open_backend(create=create, url=url, token=token)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def stream() -> Iterator[None]:
    """A reader that stops early (``| head``) ends the command quietly, not with a traceback."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def table(columns: list[str], rows: list[list[Any]], *, ids: tuple[str, ...] = ("id", "name")) -> None:
    """A table fitted to the terminal (see trainaction.tablefit): the ``ids`` columns whole, the
    rightmost others hidden first when it is too narrow; whole on a pipe."""
    from ..tablefit import ID, Column, print_table

    fitted = [Column(name, ID if name in ids else 1 + n) for n, name in enumerate(columns)]
    print_table(out, fitted, [[printable(cell) for cell in row] for row in rows])
