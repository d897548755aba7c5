"""Deleting a finished job from the embedded backend: its rows, its models, and every folder they own.

The rows go first, in one transaction that also moves the folders into the trash (see :mod:`.trash`);
the folders are removed once it is committed.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import NotFoundError
from . import store
from .base import Deletion, JobRecord, ModelRecord
from .registry import Registry
from .trash import Trash

__all__ = ["delete_job"]


def delete_job(
    registry: Registry, trash: Trash, record: JobRecord, models: list[ModelRecord], *, dry_run: bool
) -> Deletion:
    """Delete ``record`` (checked by the caller: not running, its models not needed elsewhere)."""
    job_id = record.id
    with registry.engine.connect() as conn:
        events = _count(conn, store.events, job_id)
        chunks = _count(conn, store.job_logs, job_id)
    folders = [trash.origin("job-files", job_id), trash.origin("job-run", job_id)]
    folders += [trash.origin("model", m.id) for m in models]
    present = [f for f in folders if f.exists()]
    records = [f"job {job_id} '{record.display_name}'", f"{events} event(s)", f"its log ({chunks} chunk(s))"]
    records += [f"model {m.id} '{m.name}'" for m in models]
    plan = Deletion("job", job_id, records, [str(f) for f in present], sum(map(_size, present)), False)
    if dry_run:
        return plan
    placed: list[tuple[Path, Path]] = []
    registry.write(trash.reclaim)

    def work(conn: Connection) -> None:
        # Children before the job: the foreign keys are enforced.
        conn.execute(store.events.delete().where(store.events.c.job_id == job_id))
        series = sa.select(store.metric_series_counts.c.id).where(store.metric_series_counts.c.job_id == job_id)
        conn.execute(store.metric_points.delete().where(store.metric_points.c.series_id.in_(series)))
        conn.execute(store.metric_blocks.delete().where(store.metric_blocks.c.job_id == job_id))
        conn.execute(store.metric_series_counts.delete().where(store.metric_series_counts.c.job_id == job_id))
        conn.execute(store.batches.delete().where(store.batches.c.job_id == job_id))
        conn.execute(store.submissions.delete().where(store.submissions.c.job_id == job_id))
        conn.execute(store.job_logs.delete().where(store.job_logs.c.job_id == job_id))
        conn.execute(store.models.delete().where(store.models.c.job_id == job_id))
        if not conn.execute(store.jobs.delete().where(store.jobs.c.id == job_id)).rowcount:
            raise NotFoundError(f"job {job_id} does not exist; see `trainaction jobs list`")
        for model in models:
            trash.put("model", model.id, placed)
        trash.put("job-files", job_id, placed)
        trash.put("job-run", job_id, placed)

    registry.write(work, lambda: Trash.undo(placed))
    Trash.empty(placed)
    return Deletion(**{**plan.__dict__, "deleted": True})


def _count(conn: Connection, table: sa.Table, job_id: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).where(table.c.job_id == job_id)).scalar() or 0)


def _size(folder: Path) -> int:
    """Bytes under ``folder``, links not followed (a link's target is not freed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total
