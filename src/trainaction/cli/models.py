"""trainaction models …"""

from __future__ import annotations

from pathlib import Path

import typer

from ..backend import default_home
from ..errors import (
    TrainActionError,
)
from ..terminal import printable
from .common import BackendOption, JsonOption, TokenOption, backend, fail, out, print_json, table
from .shown import report_deletion

models_app = typer.Typer(no_args_is_help=True, help="List, download and delete models.")


@models_app.command("list")
def models_list(
    job: int | None = typer.Option(None, "--job", help="Only this job's models."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """List models."""
    try:
        records = backend(url=server, token=token).list_models(job)
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table(
        ["id", "name", "job", "trial", "size", "sha256"],
        [[r.id, r.name, r.job_id, r.trial_id or "", r.size, r.sha256[:12]] for r in records],
    )


@models_app.command("download")
def models_download(
    model_id: int = typer.Argument(..., metavar="ID"),
    dest: str = typer.Argument(..., metavar="DEST"),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty DEST (or one inside the home folder)."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Copy a model's files, checked against their stored sha256, into DEST (a new or empty folder)."""
    from ..download import download_model

    try:
        files = download_model(backend(url=server, token=token), model_id, Path(dest), home=default_home(), force=force)
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json({"model_id": model_id, "dest": str(Path(dest).resolve()), "files": [str(f) for f in files]})
        return
    out.print(f"model {model_id} downloaded to {printable(dest)} ({len(files)} file(s))", markup=False, highlight=False)


@models_app.command("delete")
def models_delete(
    model_id: int = typer.Argument(..., metavar="ID"),
    yes: bool = typer.Option(False, "--yes", help="Delete; without it, only say what would be deleted."),
    force: bool = typer.Option(False, "--force", help="Delete even when other jobs refer to the model."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Delete a model and its files."""
    try:
        deletion = backend(url=server, token=token).delete_model(model_id, force=force, dry_run=not yes)
    except TrainActionError as exc:
        fail(exc)
    report_deletion(deletion, as_json)
