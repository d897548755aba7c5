"""trainaction jobs …"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import TextIO

import typer

from ..backend import JOB_STATUSES, Backend
from ..backend.base import FINISHED_STATUSES
from ..errors import TrainActionError
from ..events import EVENT_TYPES
from ..terminal import printable
from .common import BackendOption, JsonOption, TokenOption, backend, err, fail, print_json, stream, table
from .shown import duration, local_time, report_deletion

jobs_app = typer.Typer(no_args_is_help=True, help="Inspect, stop, resume and delete jobs: status, logs, events.")

# How often `jobs logs --follow` looks for new text, and how long it reads on after the job's end
# (the runner writes its last lines just after it records the end).
_FOLLOW_POLL_S = 0.5
_FOLLOW_TAIL_S = 1.0


@jobs_app.command("list")
def jobs_list(
    status: str | None = typer.Option(None, "--status", help=f"Only jobs in this status: {', '.join(JOB_STATUSES)}."),
    limit: int | None = typer.Option(None, "--limit", min=1, max=2**63 - 1, help="Only the N most recent jobs."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """List jobs, oldest first."""
    if status is not None and status.upper() not in JOB_STATUSES:
        err.print(
            f"error: --status must be one of {', '.join(JOB_STATUSES)}, got '{printable(status)}'",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)
    try:
        records = backend(url=server, token=token).list_jobs(status=status.upper() if status else None, limit=limit)
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table(
        ["id", "name", "status", "progress", "mode", "started", "duration"],
        [
            [
                r.id,
                r.display_name,
                r.status,
                f"{r.progress_percent:.0f}%",
                "tune" if r.params.get("is_tune") else "train",
                local_time(r.started_at),
                duration(r.started_at, r.finished_at),
            ]
            for r in records
        ],
    )


@jobs_app.command("show")
def jobs_show(
    job_id: int = typer.Argument(..., metavar="ID"),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Show one job: status, times, progress per phase, result, error."""
    from .job_view import job_lines

    try:
        record = backend(url=server, token=token).get_job(job_id)
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json(record.to_dict())
        return
    with stream():
        for line in job_lines(record):
            sys.stdout.write(printable(line) + "\n")


@jobs_app.command("logs")
def jobs_logs(
    job_id: int = typer.Argument(..., metavar="ID"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new text until the job ends."),
    as_json: bool = typer.Option(False, "--json", help='One JSON object per log line (NDJSON): {"job_id", "line"}.'),
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Print a job's log: the plugin's output, tracebacks, and trainaction's own lines (streamed)."""
    try:
        store = backend(url=server, token=token)
        chunks = store.log_since(job_id)
    except TrainActionError as exc:
        fail(exc)
    writer = _NdjsonLines(job_id, sys.stdout) if as_json else None
    try:
        with stream():
            last = _write(chunks, writer)
            if follow:
                _follow(store, job_id, last, writer)
            if writer is not None:
                writer.close()
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except TrainActionError as exc:
        fail(exc)


def _write(chunks: Iterable[tuple[int, str]], writer: _NdjsonLines | None, last: int = 0) -> int:
    for position, text in chunks:
        last = position
        if writer is None:
            sys.stdout.write(text)
        else:
            writer.write(text)
    sys.stdout.flush()
    return last


def _follow(store: Backend, job_id: int, last: int, writer: _NdjsonLines | None) -> None:
    """Print what the job logs until it ends; a dead runner shows as the end (the read marks it FAILED)."""
    while True:
        finished = store.get_job(job_id).status in FINISHED_STATUSES
        if finished:
            time.sleep(_FOLLOW_TAIL_S)
        last = _write(store.log_since(job_id, last), writer, last)
        if finished:
            return
        time.sleep(_FOLLOW_POLL_S)


class _NdjsonLines:
    """Log text as NDJSON, one object per line; a chunk may end mid-line, so the rest waits for the next."""

    def __init__(self, job_id: int, out: TextIO) -> None:
        self.job_id, self.out, self.pending = job_id, out, ""

    def write(self, text: str) -> None:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.out.write(json.dumps({"job_id": self.job_id, "line": line}) + "\n")

    def close(self) -> None:
        if self.pending:
            self.out.write(json.dumps({"job_id": self.job_id, "line": self.pending}) + "\n")
            self.pending = ""


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
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """List a job's events (metric, visualization, message, trials, progress), oldest first, with their ids."""
    from ..export import write_events

    if type is not None and type not in EVENT_TYPES:
        err.print(f"error: --type must be one of {', '.join(EVENT_TYPES)}, got '{printable(type)}'", markup=False)
        raise typer.Exit(2)
    if as_json and json_lines:
        err.print("error: --json and --json-lines are two output formats; give one", markup=False)
        raise typer.Exit(2)
    try:
        events = backend(url=server, token=token).iter_events(job_id, type, after=after, limit=limit)
    except TrainActionError as exc:
        fail(exc)
    with stream():
        write_events(events, "json" if as_json else "json-lines" if json_lines else "table", sys.stdout)


@jobs_app.command("delete")
def jobs_delete(
    job_id: int = typer.Argument(..., metavar="ID"),
    yes: bool = typer.Option(False, "--yes", help="Delete; without it, only say what would be deleted."),
    force: bool = typer.Option(False, "--force", help="Delete even when other jobs refer to the job's models."),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Delete a job that is not running: its log, events, files and models."""
    try:
        deletion = backend(url=server, token=token).delete_job(job_id, force=force, dry_run=not yes)
    except TrainActionError as exc:
        fail(exc)
    report_deletion(deletion, as_json)


from .jobs_control import jobs_resume, jobs_stop  # noqa: E402  (the commands that change a job live beside)

jobs_app.command("stop")(jobs_stop)
jobs_app.command("resume")(jobs_resume)
