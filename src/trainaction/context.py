"""The state one running job's phases share, in one value instead of a row of arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .backend import Backend
from .progress import ProgressKeeper
from .pump import JobObserver

__all__ = ["JobContext"]


@dataclass(frozen=True)
class JobContext:
    """One job while it runs: its record, its scratch folder and where its progress and log go."""

    job_id: int
    run_dir: Path  # the job's scratch folder: spools, outputs, Ray's trial folders
    backend: Backend
    progress: ProgressKeeper
    observer: JobObserver
    # Writes one line, as given, to the job log and the observer (the caller adds any prefix).
    log: Callable[[str], None]
