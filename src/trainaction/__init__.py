"""trainaction: train models and tune their hyperparameters from plugins, from one JSON job document."""

from __future__ import annotations

from .action import JobOutcome, JobStopped, TrainAction
from .api import run_job
from .errors import FieldError, JobFailedError, NotFoundError, PluginError, TrainActionError, ValidationError
from .job import Job, decode_name, encode_name
from .plugin import Plugin, load_plugin
from .resources import Checkpoint, Dataset
from .run import TrainRun
from .validation import load_job_file, parse_job

__all__ = [
    "Checkpoint",
    "Dataset",
    "FieldError",
    "Job",
    "JobFailedError",
    "JobOutcome",
    "JobStopped",
    "NotFoundError",
    "Plugin",
    "PluginError",
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
]
