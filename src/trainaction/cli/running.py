"""Commands that check and run job documents, and write a starter plugin."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import typer

from ..action import TrainAction
from ..backend import server_url
from ..errors import (
    JobStopped,
    TrainActionError,
)
from ..plugin import load_plugin
from ..progress import TRAINING_WEIGHTS, TUNING_WEIGHTS
from ..scaffold import write_starter_plugin
from ..terminal import printable
from ..validation import load_job_file, validate_job
from .common import (
    BackendOption,
    JsonOption,
    TokenOption,
    backend,
    err,
    exit_status,
    fail,
    lines,
    out,
    print_json,
    stdout_to_stderr,
)


def validate(
    job_file: Path = typer.Argument(..., metavar="JOB.json"),
    plugin: str | None = typer.Option(None, "--plugin", help="Also check hyperparameter against the plugin's schema."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Check a job document and print it normalised; every error at once, with its JSON path."""
    try:
        # The ids are checked on the team server when one is chosen; else in the embedded home, if any.
        store = backend(url=server, token=token) if server_url(server) else None
    except TrainActionError as exc:
        fail(exc)
    check = validate_job(job_file, plugin, backend=store)
    valid, errors, document, preview = check["valid"], check["errors"], check["job"], check["preview"]
    if as_json:
        print_json({key: check[key] for key in ("valid", "errors", "job", "notices")})
    else:
        for notice in check["notices"]:
            err.print(f"notice: {lines(notice)}", markup=False, highlight=False)
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


def run(
    job_file: Path = typer.Argument(..., metavar="JOB.json"),
    plugin: str = typer.Option(..., "--plugin", help="Plugin directory (with plugin.py) or dotted module path."),
    ray_address: str | None = typer.Option(
        None,
        "--ray-address",
        help="Tuning: connect to this Ray cluster instead of starting Ray here (or set RAY_ADDRESS).",
    ),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Run a job. Exit status: 0 succeeded, 1 failed, 2 invalid input, 130 stopped."""
    # SIGTERM and SIGHUP (the terminal closed) stop the job like Ctrl-C does: STOPPED, never left RUNNING.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.default_int_handler)
    try:
        parsed = load_job_file(job_file)
        for notice in parsed.notices:
            err.print(f"notice: {lines(notice)}", markup=False, highlight=False)
        action = TrainAction(
            backend(create=True, url=server, token=token), load_plugin(plugin), ray_address=ray_address
        )
        prepared = action.prepare(parsed.job)  # input errors are reported before any display starts
        params = parsed.job.params
        for notice in prepared.notices:
            err.print(f"notice: {lines(notice)}", markup=False, highlight=False)
        if params.is_tune:
            err.print(f"tuning job: {params.total_trials} trial(s)", highlight=False)
        if as_json:
            with stdout_to_stderr():  # libraries (Ray) must not write into the JSON answer
                outcome = action.execute(prepared)
        else:
            from ..display import LiveJobView
            from ..tablefit import output_console

            view = LiveJobView(
                output_console(out),
                list(TUNING_WEIGHTS if params.is_tune else TRAINING_WEIGHTS),
                name=params.name,
                total_trials=params.total_trials if params.is_tune else None,
                mode=params.tune_config.mode if params.tune_config is not None else None,
            )
            with view:
                action.observer = view
                outcome = action.execute(prepared)
    except JobStopped as exc:
        if as_json:
            print_json(
                {"job_id": exc.job_id, "status": "STOPPED", "result": exc.result, "error": "stopped by the user"}
            )
        err.print(f"job {exc.job_id} STOPPED; its log: trainaction jobs logs {exc.job_id}", highlight=False)
        raise typer.Exit(exit_status(exc)) from None
    except TrainActionError as exc:
        if as_json:
            print_json({"job_id": None, "status": "INVALID", "result": None, "error": str(exc)})
        fail(exc)
    if as_json:
        print_json(outcome.to_dict())
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


def trials(
    job_id: int = typer.Argument(..., metavar="JOB_ID"),
    best_job: bool = typer.Option(
        False, "--best-job", help="Print a training-mode job with the best trial's hyperparameters."
    ),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the terminal's width."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Print a tuning job's latest trials table (the best trial marked *)."""
    from ..tables import best_training_job, latest_table

    try:
        store = backend(url=server, token=token)
        table = latest_table(store, job_id)
        if best_job:
            print_json(best_training_job(store.get_job(job_id), table))
            return
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json(table)
        return

    from ..tablefit import output_console
    from ..trialtable import trials_table

    console = output_console(out, wide)
    view = trials_table(table, width=console.width if console.is_terminal and not wide else None)
    console.print(view, soft_wrap=False)


def init(directory: Path = typer.Argument(..., metavar="DIR"), as_json: bool = JsonOption) -> None:
    """Write a working starter plugin (plugin.py with train() and tune(), plugin.yaml, job.json, tune_job.json)."""
    try:
        written = write_starter_plugin(directory)
    except FileExistsError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    steps = [
        "trainaction dataset add SOME_FOLDER",
        f"trainaction run {directory / 'job.json'} --plugin {directory}",
        f"trainaction run {directory / 'tune_job.json'} --plugin {directory}",
    ]
    if as_json:
        print_json({"directory": str(directory.resolve()), "files": [str(p.resolve()) for p in written], "next": steps})
        return
    for path in written:
        out.print(f"wrote {printable(path)}", markup=False, highlight=False)
    out.print("try it:", highlight=False)
    for step in steps:
        out.print(f"  {printable(step)}", markup=False, highlight=False)
