"""The library's entry points; the CLI is a thin layer over these."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .action import JobOutcome, TrainAction
from .backend import Backend, open_backend
from .job import Job
from .plugin import Plugin, load_plugin
from .pump import JobObserver
from .validation import load_job_file, parse_job

__all__ = ["run_job"]


def run_job(
    job: Job | dict[str, Any] | str | Path,
    plugin: Plugin | str | Path,
    *,
    backend: Backend | None = None,
    observer: JobObserver | None = None,
) -> JobOutcome:
    """Validate ``job`` (a Job, a document, or a JSON file path), run it with ``plugin``, return the outcome.

    Raises ValidationError, PluginError or NotFoundError before anything runs; once the job is
    recorded, a failing plugin gives a FAILED outcome rather than an exception.
    """
    if isinstance(job, (str, Path)):
        job = load_job_file(job).job
    elif isinstance(job, dict):
        job = parse_job(job).job
    if not isinstance(plugin, Plugin):
        plugin = load_plugin(plugin)
    return TrainAction(backend or open_backend(), plugin, observer=observer).execute(job)
