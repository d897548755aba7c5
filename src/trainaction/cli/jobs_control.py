"""trainaction jobs stop / resume: change how a job runs, not just read it."""

from __future__ import annotations

import typer

from ..errors import TrainActionError
from .common import BackendOption, JsonOption, TokenOption, backend, fail, out, print_json

__all__ = ["jobs_resume", "jobs_stop"]


def jobs_stop(
    job_id: int = typer.Argument(..., metavar="ID"),
    wait: float = typer.Option(
        120.0, "--wait", min=0, metavar="SECONDS", help="How long to wait for the job's end (0: ask and return)."
    ),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Stop a job: trials terminated, status STOPPED, its metrics, logs and models so far kept.

    A QUEUED job is STOPPED at once; a job of `trainaction server --workers` is stopped by its worker,
    one on a Ray cluster through the Ray Jobs API, a `trainaction run` job on this host by SIGINT to it
    (as Ctrl-C). A job that already finished is left as it is: the command says so and exits 0.
    Exit 1 when the job has not ended within --wait seconds."""
    from ..control import stop_job

    try:
        outcome = stop_job(backend(url=server, token=token), job_id, wait_s=wait)
    except TrainActionError as exc:
        fail(exc)
    record = outcome.job
    if as_json:
        print_json({"job_id": job_id, "status": record.status, "how": outcome.how, "stopped": outcome.stopped})
    elif outcome.how == "already finished":
        out.print(f"job {job_id} is already {record.status}; nothing to stop", highlight=False)
    elif outcome.stopped:
        out.print(f"job {job_id} {record.status}", highlight=False)
    elif wait:
        out.print(f"job {job_id}: stop asked, still {record.status} after {wait:g} s", highlight=False)
    else:
        out.print(f"job {job_id}: stop asked ({record.status})", highlight=False)
    if wait and not outcome.stopped:
        raise typer.Exit(1)


def jobs_resume(
    job_id: int = typer.Argument(..., metavar="ID"),
    plugin: str | None = typer.Option(
        None, "--plugin", help="The plugin folder; needed for a `trainaction run` job (a submitted job has its own)."
    ),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Resume a tuning job whose driver died or that was stopped, here, from its Ray Tune state.

    Finished trials are not run again and their models are not stored twice; the searcher goes on
    from its saved state; the job is RUNNING again and ends with a result over all its trials.
    Exit 2 (nothing changed) for a job that cannot resume: a training job, a SUCCEEDED or running
    one, or one whose Ray Tune state is gone."""
    import signal

    from ..errors import JobStopped
    from ..resume import resume_job
    from .common import exit_status, stdout_to_stderr

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # as `run`: a stop ends it STOPPED
    try:
        with stdout_to_stderr():  # Ray's output must not mix into the answer
            outcome = resume_job(backend(create=True, url=server, token=token), job_id, plugin)
    except JobStopped as exc:
        if as_json:
            print_json(
                {"job_id": exc.job_id, "status": "STOPPED", "result": exc.result, "error": "stopped by the user"}
            )
        raise typer.Exit(exit_status(exc)) from None
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json(outcome.to_dict())
    else:
        out.print(f"job {job_id} {outcome.status}" + (f": {outcome.error}" if outcome.error else ""), highlight=False)
    if outcome.status != "SUCCEEDED":
        raise typer.Exit(1)
