"""The ``trainaction`` command. Thin: parse arguments, call the library, render the answer.

Exit statuses: 0 success, 1 the job failed, 2 invalid input (job document, plugin, unknown id,
a path that cannot be used, a damaged or foreign database), 130 interrupted.

One module per group of commands; ``common`` holds what they share.
"""

from __future__ import annotations

from importlib.metadata import version

import typer

from .common import EXIT_STATUS, exit_status, out
from .datasets import dataset_app
from .jobs import jobs_app
from .metrics import metrics
from .models import models_app
from .running import init, run, trials, validate
from .server import server
from .tokens import token_app
from .ui import ui

__all__ = ["EXIT_STATUS", "app", "exit_status", "main"]

# add_completion: `--install-completion` / `--show-completion` for bash, zsh, fish and PowerShell.
app = typer.Typer(no_args_is_help=True, add_completion=True, help="Train and tune models from plugins.")


def _print_version(value: bool) -> None:
    if value:
        out.print(f"trainaction {version('trainaction')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Train and tune models from plugins."""


for command in (validate, run, trials, metrics, init, server, ui):
    app.command()(command)
app.add_typer(dataset_app, name="dataset")
app.add_typer(jobs_app, name="jobs")
app.add_typer(models_app, name="models")
app.add_typer(token_app, name="token")


def main() -> None:
    # One name in help and completion scripts, however it was started (`python -m trainaction` too).
    app(prog_name="trainaction")
