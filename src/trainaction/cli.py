"""The ``trainaction`` command. Thin: parse arguments, call the library, render the answer.

Exit statuses: 0 success, 1 the job failed, 2 invalid input (job document, plugin, unknown id,
a path that cannot be used, a damaged or foreign database), 130 interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .action import TrainAction
from .backend import Backend, default_home, open_backend
from .errors import (
    DatabaseLockedError,
    JobStopped,
    NotFoundError,
    PathError,
    PluginError,
    StoreError,
    TrainActionError,
    ValidationError,
)
from .events import EVENT_TYPES
from .plugin import load_plugin
from .progress import TRAINING_WEIGHTS, TUNING_WEIGHTS
from .scaffold import write_starter_plugin
from .terminal import printable
from .validation import load_job_file, validate_job

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Train and tune models from plugins.")
dataset_app = typer.Typer(no_args_is_help=True, help="Register and list datasets.")
jobs_app = typer.Typer(no_args_is_help=True, help="Inspect jobs: status, logs, events.")
models_app = typer.Typer(no_args_is_help=True, help="List and download models.")
app.add_typer(dataset_app, name="dataset")
app.add_typer(jobs_app, name="jobs")
app.add_typer(models_app, name="models")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

# One table from error class to exit status (the tree in trainaction.errors draws it). A class
# without an entry takes its nearest ancestor's, so the most specific class wins.
EXIT_STATUS: dict[type[BaseException], int] = {
    TrainActionError: 1,
    ValidationError: 2,
    PluginError: 2,
    NotFoundError: 2,
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


def _fail(exc: TrainActionError) -> NoReturn:
    status = exit_status(exc)
    if isinstance(exc, ValidationError):
        err.print(f"[red]invalid job document[/red] ({len(exc.errors)} error(s)):", highlight=False)
        for error in exc.errors:
            err.print(f"  {printable(error)}", markup=False, highlight=False)
    else:
        err.print(f"error: {printable(exc)}", markup=False, highlight=False)
    raise typer.Exit(status)


def _lines(text: str) -> str:
    """A multi-line notice (the migrated document) keeps its lines; each is escaped."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _backend() -> Backend:
    return open_backend()


@app.command()
def validate(
    job_file: Path = typer.Argument(..., metavar="JOB.json"),
    plugin: str | None = typer.Option(None, "--plugin", help="Also check hyperparameter against the plugin's schema."),
    as_json: bool = JsonOption,
) -> None:
    """Check a job document and print it normalised; every error at once, with its JSON path."""
    check = validate_job(job_file, plugin)
    valid, errors, document, preview = check["valid"], check["errors"], check["job"], check["preview"]
    if as_json:
        _print_json({key: check[key] for key in ("valid", "errors", "job", "notices")})
    else:
        for notice in check["notices"]:
            err.print(f"notice: {_lines(notice)}", markup=False, highlight=False)
        if valid:
            out.print_json(json.dumps(document))
            if preview is not None:
                out.print(
                    f"valid tuning job: {preview['total_trials']} trial(s), up to {preview['trials_at_once']} at once"
                )
            else:
                out.print("valid training job")
        else:
            err.print(f"[red]invalid job document[/red] ({len(errors)} error(s)):", highlight=False)
            for error in errors:
                err.print(f"  {printable(error['path'])}: {printable(error['message'])}", markup=False, highlight=False)
    if not valid:
        raise typer.Exit(2)


@app.command()
def run(
    job_file: Path = typer.Argument(..., metavar="JOB.json"),
    plugin: str = typer.Option(..., "--plugin", help="Plugin directory (with plugin.py) or dotted module path."),
    ray_address: str | None = typer.Option(
        None,
        "--ray-address",
        help="Tuning: connect to this Ray cluster instead of starting Ray here (or set RAY_ADDRESS).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Run a job. Exit status: 0 succeeded, 1 failed, 2 invalid input, 130 stopped."""
    # SIGTERM and SIGHUP (the terminal closed) stop the job like Ctrl-C does: STOPPED, never left RUNNING.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.default_int_handler)
    try:
        parsed = load_job_file(job_file)
        for notice in parsed.notices:
            err.print(f"notice: {_lines(notice)}", markup=False, highlight=False)
        action = TrainAction(_backend(), load_plugin(plugin), ray_address=ray_address)
        action.preflight(parsed.job)  # input errors are reported before any display starts
        params = parsed.job.params
        if params.is_tune:
            from .tuning.checks import tuning_notices

            for notice in tuning_notices(params):
                err.print(f"notice: {_lines(notice)}", markup=False, highlight=False)
            err.print(f"tuning job: {params.total_trials} trial(s)", highlight=False)
        if as_json:
            with _stdout_to_stderr():  # libraries (Ray) must not write into the JSON answer
                outcome = action.execute(parsed.job, checked=True)
        else:
            from .display import LiveJobView

            with LiveJobView(out, list(TUNING_WEIGHTS if params.is_tune else TRAINING_WEIGHTS)) as view:
                action.observer = view
                outcome = action.execute(parsed.job, checked=True)
    except JobStopped as exc:
        if as_json:
            _print_json(
                {"job_id": exc.job_id, "status": "STOPPED", "result": exc.result, "error": "stopped by the user"}
            )
        err.print(f"job {exc.job_id} STOPPED; its log: trainaction jobs logs {exc.job_id}", highlight=False)
        raise typer.Exit(exit_status(exc)) from None
    except TrainActionError as exc:
        if as_json:
            _print_json({"job_id": None, "status": "INVALID", "result": None, "error": str(exc)})
        _fail(exc)
    if as_json:
        _print_json(outcome.to_dict())
    elif outcome.status == "SUCCEEDED":
        result = outcome.result or {}
        where = (
            f"model {result.get('model_id')} ('{result.get('model_name')}')" if result.get("model_id") else "no model"
        )
        if params.is_tune and result.get("best_trial"):
            where = f"best trial {result['best_trial']['trial_id']}, model {result.get('model_id')}; trials: trainaction trials {outcome.job_id}"
        out.print(
            f"job {outcome.job_id} SUCCEEDED: {printable(where)}; events: trainaction jobs events {outcome.job_id}",
            markup=False,
            highlight=False,
        )
    if outcome.status != "SUCCEEDED":
        err.print(
            f"job {outcome.job_id} FAILED: {printable(outcome.error)} — see the log: trainaction jobs logs {outcome.job_id}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@app.command()
def trials(
    job_id: int = typer.Argument(..., metavar="JOB_ID"),
    best_job: bool = typer.Option(
        False, "--best-job", help="Print a training-mode job with the best trial's hyperparameters."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Print a tuning job's latest trials table."""
    from .tables import best_training_job, latest_table

    try:
        backend = _backend()
        table = latest_table(backend, job_id)
        if best_job:
            _print_json(best_training_job(backend.get_job(job_id), table))
            return
    except TrainActionError as exc:
        _fail(exc)
    if as_json:
        _print_json(table)
        return
    from .display import trials_table

    out.print(trials_table(table))


@app.command()
def init(directory: Path = typer.Argument(..., metavar="DIR")) -> None:
    """Write a working starter plugin (plugin.py, plugin.yaml, job.json) into DIR."""
    try:
        written = write_starter_plugin(directory)
    except FileExistsError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    for path in written:
        out.print(f"wrote {path}", highlight=False)
    out.print(
        f"try it: trainaction dataset add SOME_FOLDER, then trainaction run {directory / 'job.json'} --plugin {directory}"
    )


@dataset_app.command("add")
def dataset_add(
    path: str = typer.Argument(..., metavar="PATH"),
    name: str | None = typer.Option(None, "--name", help="Defaults to the folder's name."),
    as_json: bool = JsonOption,
) -> None:
    """Register a folder of files as a dataset."""
    try:
        if not path:  # Path('') would quietly mean the current folder
            raise PathError("PATH is empty; give the dataset's folder")
        record = _backend().add_dataset(Path(path), name or "")
    except TrainActionError as exc:
        _fail(exc)
    if as_json:
        _print_json(record.to_dict())
    else:
        out.print(
            f"dataset {record.id} '{printable(record.name)}': {len(record.files)} file(s) at {printable(record.location)}",
            markup=False,
            highlight=False,
        )


@dataset_app.command("list")
def dataset_list(as_json: bool = JsonOption) -> None:
    """List registered datasets."""
    try:
        records = _backend().list_datasets()
    except TrainActionError as exc:
        _fail(exc)
    if as_json:
        _print_json([r.to_dict() for r in records])
        return
    _table(["id", "name", "files", "location"], [[r.id, r.name, len(r.files), r.location] for r in records])


@jobs_app.command("list")
def jobs_list(as_json: bool = JsonOption) -> None:
    """List jobs."""
    try:
        records = _backend().list_jobs()
    except TrainActionError as exc:
        _fail(exc)
    if as_json:
        _print_json([r.to_dict() for r in records])
        return
    _table(
        ["id", "name", "status", "progress", "mode"],
        [
            [
                r.id,
                r.display_name,
                r.status,
                f"{r.progress_percent:.0f}%",
                "tune" if r.params.get("is_tune") else "train",
            ]
            for r in records
        ],
    )


@jobs_app.command("show")
def jobs_show(job_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JsonOption) -> None:
    """Show one job: status, progress, result, error."""
    try:
        record = _backend().get_job(job_id)
    except TrainActionError as exc:
        _fail(exc)
    if as_json:
        _print_json(record.to_dict())
        return
    out.print_json(json.dumps(record.to_dict(), default=str))


@jobs_app.command("logs")
def jobs_logs(job_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Print a job's log: the plugin's output, tracebacks, and trainaction's own lines (streamed)."""
    from .export import write_log

    try:
        chunks = _backend().iter_log(job_id)
    except TrainActionError as exc:
        _fail(exc)
    with _stream():
        write_log(chunks, sys.stdout)


@jobs_app.command("events")
def jobs_events(
    job_id: int = typer.Argument(..., metavar="ID"),
    type: str | None = typer.Option(None, "--type", help=f"One of: {', '.join(EVENT_TYPES)}."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout (streamed)."),
    json_lines: bool = typer.Option(False, "--json-lines", help="One JSON event per line (NDJSON)."),
    limit: int | None = typer.Option(None, "--limit", min=1, max=2**63 - 1, help="At most this many events."),
    after: int | None = typer.Option(
        None, "--after", min=0, max=2**63 - 1, metavar="EVENT_ID", help="Only events after this event id (to page)."
    ),
) -> None:
    """List a job's events (metric, visualization, message, trials, progress), oldest first, with their ids."""
    from .export import write_events

    if type is not None and type not in EVENT_TYPES:
        err.print(f"error: --type must be one of {', '.join(EVENT_TYPES)}, got '{printable(type)}'", markup=False)
        raise typer.Exit(2)
    if as_json and json_lines:
        err.print("error: --json and --json-lines are two output formats; give one", markup=False)
        raise typer.Exit(2)
    try:
        events = _backend().iter_events(job_id, type, after=after, limit=limit)
    except TrainActionError as exc:
        _fail(exc)
    with _stream():
        write_events(events, "json" if as_json else "json-lines" if json_lines else "table", sys.stdout)


@contextlib.contextmanager
def _stream() -> Iterator[None]:
    """A reader that stops early (``| head``) ends the command quietly, not with a traceback."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


@models_app.command("list")
def models_list(
    job: int | None = typer.Option(None, "--job", help="Only this job's models."), as_json: bool = JsonOption
) -> None:
    """List models."""
    try:
        records = _backend().list_models(job)
    except TrainActionError as exc:
        _fail(exc)
    if as_json:
        _print_json([r.to_dict() for r in records])
        return
    _table(
        ["id", "name", "job", "trial", "size", "sha256"],
        [[r.id, r.name, r.job_id, r.trial_id or "", r.size, r.sha256[:12]] for r in records],
    )


@models_app.command("download")
def models_download(
    model_id: int = typer.Argument(..., metavar="ID"),
    dest: str = typer.Argument(..., metavar="DEST"),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty DEST (or one inside the home folder)."),
) -> None:
    """Copy a model's files, checked against their stored sha256, into DEST (a new or empty folder)."""
    from .download import download_model

    try:
        files = download_model(_backend(), model_id, Path(dest), home=default_home(), force=force)
    except TrainActionError as exc:
        _fail(exc)
    out.print(f"model {model_id} downloaded to {printable(dest)} ({len(files)} file(s))", markup=False, highlight=False)


def _table(columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*(Text(printable(cell)) for cell in row))  # Text: "[...]" in a name is not markup
    out.print(table)


def main() -> None:
    app()
