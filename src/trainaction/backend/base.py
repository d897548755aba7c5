"""The Backend protocol: where datasets, jobs, events, logs and models live.

The embedded backend (:mod:`.local`) and the HTTP client of the team server implement it and
pass the same contract tests. Reads return snapshots (plain frozen records); writes are atomic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..events import Event
from ..liveness import Runner

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["JOB_STATUSES", "Backend", "DatasetRecord", "JobRecord", "ModelRecord"]

JOB_STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED")
FINISHED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


class _Record:
    def to_dict(self) -> dict[str, Any]:
        # Every record is a dataclass; this base class is not one itself.
        return asdict(cast("DataclassInstance", self))


@dataclass(frozen=True)
class DatasetRecord(_Record):
    id: int
    name: str
    location: str
    files: list[dict[str, Any]]
    metadata: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class JobRecord(_Record):
    id: int
    action: str
    params: dict[str, Any]
    name: str
    display_name: str
    status: str
    progress: dict[str, Any]
    progress_percent: float
    result: dict[str, Any] | None
    error: str | None
    best_trial: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    # The runner of a RUNNING job (see trainaction.liveness); None on jobs made before it was recorded.
    runner_host: str | None = None
    runner_pid: int | None = None
    runner_start: str | None = None
    heartbeat_at: float | None = None


@dataclass(frozen=True)
class ModelRecord(_Record):
    id: int
    name: str
    job_id: int | None
    trial_id: str | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    sha256: str = ""
    created_at: float = 0.0


class Backend(Protocol):
    """Reads of jobs (``get_job``, ``list_jobs``) show a RUNNING job whose runner is gone as FAILED."""

    # datasets
    def add_dataset(self, source: Path, name: str, metadata: dict[str, Any] | None = None) -> DatasetRecord: ...
    def get_dataset(self, dataset_id: int) -> DatasetRecord: ...
    def list_datasets(self) -> list[DatasetRecord]: ...
    def dataset_path(self, dataset_id: int) -> Path:
        """A local folder holding the dataset's files (downloaded first where they are remote)."""
        ...

    # jobs
    def create_job(self, action: str, params: dict[str, Any], name: str, display_name: str) -> JobRecord: ...
    def get_job(self, job_id: int) -> JobRecord: ...
    def list_jobs(self) -> list[JobRecord]: ...
    def update_job(
        self,
        job_id: int,
        *,
        status: str | None = None,
        progress: dict[str, Any] | None = None,
        progress_percent: float | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        best_trial: str | None = None,
    ) -> JobRecord: ...
    def heartbeat(self, job_id: int, runner: Runner | None = None) -> None:
        """Record that the job's runner is alive now; with ``runner``, first record who it is."""
        ...

    def append_log(self, job_id: int, text: str) -> None: ...
    def read_log(self, job_id: int) -> str: ...
    def iter_log(self, job_id: int) -> Iterator[str]:
        """The log in chunks, for logs too large to hold; raises NotFoundError at the call."""
        ...

    def add_events(self, job_id: int, events: Sequence[Event]) -> None: ...
    def list_events(self, job_id: int, type: str | None = None) -> list[Event]: ...
    def iter_events(
        self, job_id: int, type: str | None = None, after: int | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        """Events in order, each with its id, after event ``after``, at most ``limit``; streamed in pages."""
        ...

    def put_file(self, job_id: int, name: str, content: bytes) -> str:
        """Store a job's file (e.g. a visualization); returns its key for :meth:`read_file`."""
        ...

    def read_file(self, key: str) -> bytes: ...

    # models
    def add_model(
        self,
        name: str,
        source: Path,
        *,
        job_id: int | None = None,
        trial_id: str | None = None,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> ModelRecord: ...
    def get_model(self, model_id: int) -> ModelRecord: ...
    def list_models(self, job_id: int | None = None) -> list[ModelRecord]: ...
    def model_path(self, model_id: int) -> Path:
        """A local folder holding the model's files (downloaded first where they are remote), each checked
        against the sha256 it was stored with. Read only: a job gets a private copy to write into."""
        ...
