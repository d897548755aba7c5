"""The ``trainaction`` command. Thin: parse arguments, call the library, render the answer.

Exit statuses: 0 success, 1 the job failed, 2 invalid input (job document, plugin, unknown id,
a path that cannot be used, a damaged or foreign database), 130 interrupted.

One module per group of commands; ``common`` holds what they share.
"""

from __future__ import annotations

import typer

from .common import EXIT_STATUS, exit_status
from .datasets import dataset_app
from .jobs import jobs_app
from .metrics import metrics
from .models import models_app
from .running import init, run, trials, validate

__all__ = ["EXIT_STATUS", "app", "exit_status", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Train and tune models from plugins.")
for command in (validate, run, trials, metrics, init):
    app.command()(command)
app.add_typer(dataset_app, name="dataset")
app.add_typer(jobs_app, name="jobs")
app.add_typer(models_app, name="models")


def main() -> None:
    app()
