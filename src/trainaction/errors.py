"""The exceptions trainaction raises.

Every error a caller can act on derives from :class:`TrainActionError`::

    TrainActionError
    ├── ValidationError        the job document is invalid (exit status 2)
    ├── PluginError            the plugin cannot be found, imported or called (exit status 2)
    ├── NotFoundError          a dataset, checkpoint, job or model id does not exist (exit status 2)
    ├── PathError              a folder or destination given to a command cannot be used as it is: a symlink
    │                          loop, the home folder, a non-empty download folder (exit status 2)
    ├── StoreError             the home folder holds something trainaction did not leave there: a damaged or
    │                          foreign database, a stored model whose files changed (exit status 2)
    ├── DatabaseLockedError    another process kept the database locked past every retry (exit status 1)
    └── JobFailedError         the plugin ran and failed; the job is FAILED (exit status 1)
"""

from __future__ import annotations

from dataclasses import dataclass


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


class PathError(TrainActionError):
    """A folder or destination cannot be used as asked; the message names it and says what would work."""


class StoreError(TrainActionError):
    """The database or a stored file is not as trainaction left it; nothing was changed."""


class DatabaseLockedError(TrainActionError):
    """A write still found the database locked after waiting and retrying."""


class JobFailedError(TrainActionError):
    """The job ran and failed. ``job_id`` names the job whose log holds the traceback."""

    def __init__(self, job_id: int, message: str) -> None:
        self.job_id = job_id
        super().__init__(message)
