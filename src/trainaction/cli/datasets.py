"""trainaction dataset …"""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import (
    PathError,
    TrainActionError,
)
from ..terminal import printable
from .common import BackendOption, JsonOption, TokenOption, backend, fail, out, print_json, table
from .shown import report_deletion

dataset_app = typer.Typer(no_args_is_help=True, help="Register, list and remove datasets.")


@dataset_app.command("add")
def dataset_add(
    path: str = typer.Argument(..., metavar="PATH"),
    name: str | None = typer.Option(None, "--name", help="Defaults to the folder's name."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Register a folder of files as a dataset."""
    try:
        if not path:  # Path('') would quietly mean the current folder
            raise PathError("PATH is empty; give the dataset's folder")
        record = backend(create=True, url=server, token=token).add_dataset(Path(path), name or "")
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json(record.to_dict())
    else:
        out.print(
            f"dataset {record.id} '{printable(record.name)}': {len(record.files)} file(s) at {printable(record.location)}",
            markup=False,
            highlight=False,
        )


@dataset_app.command("list")
def dataset_list(
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """List registered datasets."""
    try:
        records = backend(url=server, token=token).list_datasets()
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table(["id", "name", "files", "location"], [[r.id, r.name, len(r.files), r.location] for r in records])


@dataset_app.command("remove")
def dataset_remove(
    dataset_id: int = typer.Argument(..., metavar="ID"),
    yes: bool = typer.Option(False, "--yes", help="Remove; without it, only say what would be removed."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Forget a dataset. Its folder was registered in place: it is yours and stays where it is."""
    try:
        deletion = backend(url=server, token=token).remove_dataset(dataset_id, dry_run=not yes)
    except TrainActionError as exc:
        fail(exc)
    report_deletion(deletion, as_json)
