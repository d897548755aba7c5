"""trainaction jobs …"""

from __future__ import annotations

import json
import sys

import typer

from ..errors import (
    TrainActionError,
)
from ..events import EVENT_TYPES
from ..terminal import printable
from .common import JsonOption, backend, err, fail, out, print_json, stream, table

jobs_app = typer.Typer(no_args_is_help=True, help="Inspect jobs: status, logs, events.")


@jobs_app.command("list")
def jobs_list(as_json: bool = JsonOption) -> None:
    """List jobs."""
    try:
        records = backend().list_jobs()
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table(
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
        record = backend().get_job(job_id)
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json(record.to_dict())
        return
    out.print_json(json.dumps(record.to_dict(), default=str))


@jobs_app.command("logs")
def jobs_logs(job_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Print a job's log: the plugin's output, tracebacks, and trainaction's own lines (streamed)."""
    from ..export import write_log

    try:
        chunks = backend().iter_log(job_id)
    except TrainActionError as exc:
        fail(exc)
    with stream():
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
    from ..export import write_events

    if type is not None and type not in EVENT_TYPES:
        err.print(f"error: --type must be one of {', '.join(EVENT_TYPES)}, got '{printable(type)}'", markup=False)
        raise typer.Exit(2)
    if as_json and json_lines:
        err.print("error: --json and --json-lines are two output formats; give one", markup=False)
        raise typer.Exit(2)
    try:
        events = backend().iter_events(job_id, type, after=after, limit=limit)
    except TrainActionError as exc:
        fail(exc)
    with stream():
        write_events(events, "json" if as_json else "json-lines" if json_lines else "table", sys.stdout)
