"""Submitted jobs in the embedded backend (and so on the team server): queued, claimed, asked to stop.

A submission is a jobs row (status QUEUED) and a ``submissions`` row beside it, written in one
transaction with the plugin's zip stored as the job's file ``plugin.zip``. Claiming is one
conditional UPDATE (``QUEUED`` → ``PENDING`` only while still QUEUED), so two workers — threads or
processes, SQLite or PostgreSQL — never both get one job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import FieldError, NotFoundError, ValidationError
from . import store
from .base import EXECUTORS, FINISHED_STATUSES, JobRecord, SubmissionRecord
from .registry import Registry, in_range

__all__ = ["PLUGIN_FILE", "SubmissionMethods", "SubmissionStore"]

PLUGIN_FILE = "plugin.zip"
# How many QUEUED jobs one claim looks at before it gives up for this round: another worker took
# each of them between the read and the update.
_CLAIM_TRIES = 8


class SubmissionStore:
    """The submissions of one database; ``files`` is the home's ``files`` folder (job files)."""

    def __init__(self, registry: Registry, files: Path, get_job: Callable[[int], JobRecord]) -> None:
        self._registry, self._files, self._get_job = registry, files, get_job

    def submit(
        self,
        action: str,
        params: dict[str, Any],
        name: str,
        display_name: str,
        *,
        plugin: bytes,
        executor: str,
        ray_address: str | None,
    ) -> JobRecord:
        if executor not in EXECUTORS:
            raise ValidationError([FieldError("executor", f"must be one of {', '.join(EXECUTORS)}, got '{executor}'")])
        if executor == "ray" and not ray_address:
            raise ValidationError(
                [FieldError("ray_address", "a job for the 'ray' executor needs the Ray cluster's address")]
            )
        written: list[Path] = []

        def work(conn: Connection) -> int:
            now = time.time()
            job_id = store.insert_job(conn, action, params, name, display_name, "QUEUED", now)
            key = f"jobs/{job_id}/{PLUGIN_FILE}"
            path = self._files / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(plugin)
            written.append(path)
            conn.execute(
                store.submissions.insert().values(
                    job_id=job_id,
                    executor=executor,
                    ray_address=ray_address,
                    plugin_key=key,
                    stop_requested=False,
                    submitted_at=now,
                )
            )
            return job_id

        def undo() -> None:  # a transaction not committed leaves no zip behind
            for path in written:
                path.unlink(missing_ok=True)
            written.clear()

        return self._get_job(self._registry.write(work, undo))

    def get(self, job_id: int) -> SubmissionRecord:
        table = store.submissions
        rows = self._registry.all(table.select().where(table.c.job_id == job_id)) if in_range(job_id) else []
        if not rows:
            self._get_job(job_id)  # an unknown job says so first
            raise NotFoundError(
                f"job {job_id} was not submitted (it was started with `trainaction run`); it has no submission"
            )
        return _record(rows[0])

    def update(self, job_id: int, *, ray_job_id: str | None = None, worker: str | None = None) -> None:
        values = {k: v for k, v in {"ray_job_id": ray_job_id, "worker": worker}.items() if v is not None}
        self.get(job_id)
        if values:
            table = store.submissions
            self._registry.write(
                lambda conn: conn.execute(table.update().where(table.c.job_id == job_id).values(**values))
            )

    def request_stop(self, job_id: int) -> JobRecord:
        """A QUEUED job is STOPPED here; a claimed one is flagged for its executor; a finished one is left as it is."""
        self.get(job_id)
        jobs, table = store.jobs, store.submissions

        def work(conn: Connection) -> None:
            conn.execute(table.update().where(table.c.job_id == job_id).values(stop_requested=True))
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status == "QUEUED")
                .values(status="STOPPED", error="stopped before it started", finished_at=time.time())
            )

        if self._get_job(job_id).status not in FINISHED_STATUSES:
            self._registry.write(work)
        return self._get_job(job_id)

    def claim(self, worker: str) -> SubmissionRecord | None:
        jobs, table = store.jobs, store.submissions
        waiting = (
            sa.select(table.c.job_id)
            .join(jobs, jobs.c.id == table.c.job_id)
            .where(table.c.executor == "server", jobs.c.status == "QUEUED", table.c.stop_requested.is_(False))
            .order_by(table.c.job_id)
            .limit(_CLAIM_TRIES)
        )

        def work(conn: Connection) -> int | None:
            for job_id in conn.execute(waiting).scalars().all():
                # Only while still QUEUED: of two workers that read the same row, one update wins.
                taken = conn.execute(
                    jobs.update().where(jobs.c.id == job_id, jobs.c.status == "QUEUED").values(status="PENDING")
                ).rowcount
                if taken:
                    conn.execute(table.update().where(table.c.job_id == job_id).values(worker=worker))
                    return int(job_id)
            return None

        claimed = self._registry.write(work)
        return None if claimed is None else self.get(claimed)


class SubmissionMethods:
    """The Backend protocol's submission methods, for a backend that keeps a :class:`SubmissionStore`."""

    _submissions: SubmissionStore

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
        return self._submissions.submit(
            action, params, name, display_name, plugin=plugin, executor=executor, ray_address=ray_address
        )

    def get_submission(self, job_id: int) -> SubmissionRecord:
        return self._submissions.get(job_id)

    def update_submission(self, job_id: int, *, ray_job_id: str | None = None, worker: str | None = None) -> None:
        self._submissions.update(job_id, ray_job_id=ray_job_id, worker=worker)

    def request_stop(self, job_id: int) -> JobRecord:
        return self._submissions.request_stop(job_id)

    def claim_submission(self, worker: str) -> SubmissionRecord | None:
        return self._submissions.claim(worker)


def _record(row: dict[str, Any]) -> SubmissionRecord:
    return SubmissionRecord(**{**row, "stop_requested": bool(row["stop_requested"])})
