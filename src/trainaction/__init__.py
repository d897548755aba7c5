"""trainaction: train models and tune their hyperparameters from plugins, from one JSON job document.

Public names are imported on first use, so that the plugin's process (``trainaction.worker``)
starts without loading the backend, the CLI or their dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Checkpoint": "resources",
    "DatabaseLockedError": "errors",
    "Dataset": "resources",
    "FieldError": "errors",
    "Job": "job",
    "JobOutcome": "action",
    "JobStopped": "errors",
    "NotFoundError": "errors",
    "PathError": "errors",
    "Plugin": "plugin",
    "PluginError": "errors",
    "StoreError": "errors",
    "TrainAction": "action",
    "TrainActionError": "errors",
    "TrainRun": "run",
    "ValidationError": "errors",
    "decode_name": "job",
    "encode_name": "job",
    "load_job_file": "validation",
    "load_plugin": "plugin",
    "parse_job": "validation",
    "run_job": "api",
    "validate_job": "validation",
}

__all__ = [
    "Checkpoint",
    "DatabaseLockedError",
    "Dataset",
    "FieldError",
    "Job",
    "JobOutcome",
    "JobStopped",
    "NotFoundError",
    "PathError",
    "Plugin",
    "PluginError",
    "StoreError",
    "TrainAction",
    "TrainActionError",
    "TrainRun",
    "ValidationError",
    "decode_name",
    "encode_name",
    "load_job_file",
    "load_plugin",
    "parse_job",
    "run_job",
    "validate_job",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'trainaction' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


if TYPE_CHECKING:
    from .action import JobOutcome, TrainAction
    from .api import run_job
    from .errors import (
        DatabaseLockedError,
        FieldError,
        JobStopped,
        NotFoundError,
        PathError,
        PluginError,
        StoreError,
        TrainActionError,
        ValidationError,
    )
    from .job import Job, decode_name, encode_name
    from .plugin import Plugin, load_plugin
    from .resources import Checkpoint, Dataset
    from .run import TrainRun
    from .validation import load_job_file, parse_job, validate_job
