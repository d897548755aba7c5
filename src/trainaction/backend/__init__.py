"""Backends: where jobs, events and models are stored."""

from __future__ import annotations

import os
from pathlib import Path

from .base import JOB_STATUSES, Backend, DatasetRecord, Deletion, JobRecord, ModelRecord
from .local import LocalBackend

__all__ = [
    "JOB_STATUSES",
    "Backend",
    "DatasetRecord",
    "Deletion",
    "JobRecord",
    "LocalBackend",
    "ModelRecord",
    "default_home",
    "open_backend",
]


def default_home() -> Path:
    """``$TRAINACTION_HOME``, else ``~/.trainaction``."""
    return Path(os.environ.get("TRAINACTION_HOME") or Path.home() / ".trainaction").expanduser()


def open_backend(*, create: bool = True) -> Backend:
    """The backend the environment selects: the embedded one under :func:`default_home`.

    ``create=False`` for commands that only read: a missing home raises NoHomeError, nothing is made."""
    return LocalBackend(default_home(), create=create)
