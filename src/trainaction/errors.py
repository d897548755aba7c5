"""The exceptions trainaction raises, every one of them, with the exit status the CLI gives each.

The CLI looks a status up along the exception's class hierarchy (``type(exc).__mro__``) in one table,
:data:`trainaction.cli.EXIT_STATUS`, so a subclass without an entry of its own takes its parent's::

    TrainActionError           a job that raised it is FAILED (exit status 1)
    ├── ValidationError        the job document is invalid (exit status 2)
    ├── PluginError            the plugin cannot be found, imported or called (exit status 2)
    ├── NotFoundError          a dataset, checkpoint, job or model id does not exist (exit status 2)
    ├── NoHomeError            a command that only reads found no trainaction home, and created none (exit status 2)
    ├── InUseError             a delete refused: the job is running, or other jobs refer to the model (exit status 2)
    ├── PathError              a folder or destination given to a command cannot be used as it is: a symlink
    │                          loop, the home folder, a non-empty download folder (exit status 2)
    ├── StoreError             the home folder holds something trainaction did not leave there: a damaged or
    │                          foreign database, a stored model whose files changed (exit status 2)
    ├── NotResumableError      `jobs resume` of a job that cannot continue: a training job, one that
    │                          succeeded or still runs, one whose Ray Tune state is gone (exit status 2)
    ├── DatabaseLockedError    another process kept the database locked past every retry (exit status 1)
    ├── JobStopped             the job was interrupted and marked STOPPED (exit status 130)
    ├── MetricNotReported      raised inside a trial that never reported the job's metric: Ray marks the
    │                          trial ERROR and the search goes on (exit status 1)
    └── TrialRestartLoop       raised inside a trial restarted again and again without progress: Ray marks
                               the trial ERROR and the search goes on (exit status 1)
    KeyboardInterrupt
    └── Interrupted            a signal let the running phase wind down first; TrainAction marks the job
                               STOPPED and raises JobStopped instead (exit status 130)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DatabaseLockedError",
    "FieldError",
    "InUseError",
    "Interrupted",
    "JobStopped",
    "MetricNotReported",
    "NoHomeError",
    "NotFoundError",
    "NotResumableError",
    "PathError",
    "PluginError",
    "StoreError",
    "TrainActionError",
    "TrialRestartLoop",
    "ValidationError",
]


class TrainActionError(Exception):
    """Root of every error raised on purpose by trainaction."""


@dataclass(frozen=True)
class FieldError:
    """One problem in a job document: where it is (a JSON path) and how to fix it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class ValidationError(TrainActionError):
    """The job document is invalid. ``errors`` lists every problem found, not just the first."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f"the job document has {len(errors)} error(s):\n{lines}")


class PluginError(TrainActionError):
    """The plugin cannot be located, imported, or does not have the expected functions."""


class NotFoundError(TrainActionError):
    """A dataset, checkpoint, job or model id that does not exist."""


class NoHomeError(TrainActionError):
    """A command that only reads found no home folder (or no database in it); it created nothing."""


class InUseError(TrainActionError):
    """A delete was refused: the job is running, or jobs refer to the model; the message names them."""


class NotResumableError(TrainActionError):
    """``jobs resume`` refused: the message says why the job cannot continue and what to do instead."""


class PathError(TrainActionError):
    """A folder or destination cannot be used as asked; the message names it and says what would work."""


class StoreError(TrainActionError):
    """The database or a stored file is not as trainaction left it; nothing was changed."""


class DatabaseLockedError(TrainActionError):
    """A write still found the database locked after waiting and retrying."""


class JobStopped(TrainActionError):
    """The job was interrupted (Ctrl-C, SIGTERM or SIGHUP) and marked STOPPED.
    ``result``: what the job had done by then (tuning: the trials that finished, their models), if known."""

    def __init__(self, job_id: int, result: dict[str, Any] | None = None) -> None:
        self.job_id = job_id
        self.result = result
        super().__init__(f"job {job_id} was stopped")


class MetricNotReported(TrainActionError):
    """A trial ended without reporting the metric the job optimises."""


class TrialRestartLoop(TrainActionError):
    """A trial was restarted again and again without its training iteration advancing."""


class Interrupted(KeyboardInterrupt):
    """An interrupt that let the running phase wind down first; carries the job's partial result.

    A KeyboardInterrupt, not a TrainActionError, so that every ``except KeyboardInterrupt`` on the
    way up treats it as the interrupt it is."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__()
        self.result = result
