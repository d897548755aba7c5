"""Stopping a job, however it runs: a submitted job through its executor, a `trainaction run` job by
its runner's pid on this host; a QUEUED job is STOPPED at once."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from .backend import Backend, JobRecord
from .backend.base import FINISHED_STATUSES
from .errors import InUseError, NotFoundError, TrainActionError
from .liveness import process_start

__all__ = ["StopOutcome", "stop_job"]

_POLL_S = 0.5


@dataclass(frozen=True)
class StopOutcome:
    job: JobRecord  # as it is at the end: STOPPED, or another end it reached first, or still running
    how: str  # "already finished", "queued", "executor", "ray", "signal"

    @property
    def stopped(self) -> bool:
        return self.job.status in FINISHED_STATUSES


def stop_job(
    backend: Backend,
    job_id: int,
    *,
    wait_s: float = 120.0,
    stop_ray_job: Callable[[str, str], None] | None = None,
) -> StopOutcome:
    """Ask job ``job_id`` to stop and wait up to ``wait_s`` for its end (0: do not wait).

    A finished job is left as it is. Raises InUseError for a `trainaction run` job on another host
    (its runner can only be stopped there)."""
    record = backend.get_job(job_id)
    if record.status in FINISHED_STATUSES:
        return StopOutcome(record, "already finished")
    try:
        submission = backend.get_submission(job_id)
    except NotFoundError:
        submission = None
    if submission is None:
        how = _signal_runner(record)
    else:
        was_queued = record.status == "QUEUED"
        record = backend.request_stop(job_id)
        how = "queued" if was_queued and record.status == "STOPPED" else "executor"
        if submission.executor == "ray" and submission.ray_job_id and record.status not in FINISHED_STATUSES:
            if stop_ray_job is None:
                from .cluster import rayjobs

                stop_ray_job = rayjobs.stop_ray_job
            stop_ray_job(submission.ray_address or "", submission.ray_job_id)
            how = "ray"
    deadline = time.monotonic() + wait_s
    while record.status not in FINISHED_STATUSES and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        record = backend.get_job(job_id)
    return StopOutcome(record, how)


def _signal_runner(record: JobRecord) -> str:
    """SIGINT to the `trainaction run` process of the job, as Ctrl-C in its terminal would send."""
    if record.runner_pid is None or record.runner_host is None:
        raise TrainActionError(f"job {record.id} is {record.status} with no runner recorded yet; try again shortly")
    if record.runner_host != socket.gethostname():
        raise InUseError(
            f"job {record.id} runs on host {record.runner_host} (pid {record.runner_pid}), started with "
            "`trainaction run`; stop it there (Ctrl-C, or kill -INT the pid)"
        )
    if record.runner_start is not None and process_start(record.runner_pid) != record.runner_start:
        raise TrainActionError(f"job {record.id}'s runner (pid {record.runner_pid}) is gone; its job ends FAILED")
    try:
        os.kill(record.runner_pid, signal.SIGINT)
    except ProcessLookupError:
        raise TrainActionError(f"job {record.id}'s runner (pid {record.runner_pid}) is gone") from None
    return "signal"
