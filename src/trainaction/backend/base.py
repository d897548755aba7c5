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
from ..times import iso_utc

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "EXECUTORS",
    "JOB_STATUSES",
    "Backend",
    "DatasetRecord",
    "Deletion",
    "JobRecord",
    "ModelRecord",
    "SubmissionRecord",
]

# QUEUED: submitted (`trainaction submit`), waiting for an executor; neither running nor finished.
JOB_STATUSES = ("QUEUED", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED")
FINISHED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


def log_text(text: str) -> str:
    """Log text as every backend stores it: a NUL (which PostgreSQL's text cannot hold; plugins that
    print binary data write them) becomes U+FFFD, so the log is the same on every backend."""
    return text.replace("\x00", "\ufffd")


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values; times (``*_at``) as ISO-8601 UTC text, the one place they change."""
        # Every record is a dataclass; this base class is not one itself.
        return {
            key: iso_utc(value) if key.endswith("_at") else value
            for key, value in asdict(cast("DataclassInstance", self)).items()
        }


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


# Who runs a submitted job: the team server's (or embedded home's) worker queue, or a Ray cluster's Jobs API.
EXECUTORS = ("server", "ray")


@dataclass(frozen=True)
class SubmissionRecord(_Record):
    """How a submitted job runs: its executor, its plugin (job file ``plugin.zip``), who claimed it."""

    job_id: int
    executor: str  # "server" or "ray"
    ray_address: str | None
    ray_job_id: str | None  # the Ray Jobs API's submission id
    plugin_key: str  # the key of the plugin's zip for read_file
    stop_requested: bool
    submitted_at: float
    worker: str | None = None  # the server worker that claimed it


@dataclass(frozen=True)
class Deletion(_Record):
    """What a delete removed or, asked with ``dry_run``, would remove."""

    kind: str  # "job", "model" or "dataset"
    id: int
    records: list[str]  # what leaves the registry, e.g. "job 3", "120 event(s)", "model 4"
    folders: list[str]  # folders freed
    size: int  # bytes freed
    deleted: bool  # False for a dry run


class Backend(Protocol):
    """Reads of jobs (``get_job``, ``list_jobs``) show a RUNNING job whose runner is gone as FAILED."""

    # datasets
    def add_dataset(self, source: Path, name: str, metadata: dict[str, Any] | None = None) -> DatasetRecord: ...
    def get_dataset(self, dataset_id: int) -> DatasetRecord: ...
    def list_datasets(self) -> list[DatasetRecord]: ...
    def remove_dataset(self, dataset_id: int, *, dry_run: bool = False) -> Deletion:
        """Forget a dataset; its folder, registered in place, is the user's and stays. InUseError while
        a RUNNING job uses it."""
        ...

    def dataset_path(self, dataset_id: int) -> Path:
        """A local folder holding the dataset's files (downloaded first where they are remote)."""
        ...

    # jobs
    def create_job(self, action: str, params: dict[str, Any], name: str, display_name: str) -> JobRecord: ...
    def get_job(self, job_id: int) -> JobRecord: ...
    def list_jobs(self, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        """Jobs oldest first; with ``status`` only those in it (as read now); with ``limit`` the most recent."""
        ...

    def delete_job(self, job_id: int, *, force: bool = False, dry_run: bool = False) -> Deletion:
        """Delete a job that is not RUNNING: its log, events, files and models. InUseError when it runs,
        or when other jobs refer to one of its models (unless ``force``)."""
        ...

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

    def append_log(self, job_id: int, text: str, *, batch_id: str | None = None) -> None:
        """Append ``text``; a ``batch_id`` stored before makes the call a no-op (a retried delivery)."""
        ...

    def read_log(self, job_id: int) -> str: ...
    def iter_log(self, job_id: int) -> Iterator[str]:
        """The log in chunks, for logs too large to hold; raises NotFoundError at the call."""
        ...

    def log_since(self, job_id: int, after: int = 0) -> Iterator[tuple[int, str]]:
        """The chunks written after the chunk ``after`` (0: all), each with its position; to follow a log."""
        ...

    def add_events(self, job_id: int, events: Sequence[Event], *, batch_id: str | None = None) -> None:
        """Store ``events`` in one transaction; a ``batch_id`` stored before makes the call a no-op."""
        ...

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

    # submissions
    def submit_job(
        self,
        action: str,
        params: dict[str, Any],
        name: str,
        display_name: str,
        *,
        plugin: bytes,
        executor: str,
        ray_address: str | None = None,
    ) -> JobRecord:
        """Record a job QUEUED for ``executor`` ("server" or "ray"), its plugin zip stored as job file
        ``plugin.zip``."""
        ...

    def get_submission(self, job_id: int) -> SubmissionRecord:
        """NotFoundError for a job that was not submitted (a `trainaction run` job)."""
        ...

    def update_submission(self, job_id: int, *, ray_job_id: str | None = None, worker: str | None = None) -> None: ...
    def request_stop(self, job_id: int) -> JobRecord:
        """Ask a submitted job to stop: a QUEUED one is STOPPED at once; a claimed one is flagged for its
        executor, which stops its trials (see ``SubmissionRecord.stop_requested``)."""
        ...

    def claim_submission(self, worker: str) -> SubmissionRecord | None:
        """Atomically the oldest QUEUED server-executor job, now PENDING and claimed by ``worker``; None
        when none waits. Two workers never claim one job."""
        ...

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
    def delete_model(self, model_id: int, *, force: bool = False, dry_run: bool = False) -> Deletion:
        """Delete a model and its files. InUseError when jobs other than its own refer to it (as their
        checkpoint or in their result) unless ``force``; always while a RUNNING job does."""
        ...

    def model_path(self, model_id: int) -> Path:
        """A local folder holding the model's files (downloaded first where they are remote), each checked
        against the sha256 it was stored with. Read only: a job gets a private copy to write into."""
        ...
