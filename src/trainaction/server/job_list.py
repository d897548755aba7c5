"""The jobs list's query: filters by status and name, newest or oldest first, a page, and the total."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..backend import LocalBackend, store
from ..backend.base import JobRecord
from ..errors import NotFoundError

__all__ = ["jobs_page"]


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, its own ``%``, ``_`` and ``\\`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def jobs_page(
    storage: LocalBackend,
    *,
    status: str | None,
    q: str | None,
    order: str,
    offset: int | None,
    limit: int | None,
) -> tuple[list[JobRecord], int]:
    """One page of jobs and how many match in all.

    ``order="newest"``: newest first, ``offset`` skips that many. ``order="oldest"``: oldest first,
    ``offset`` skips that many oldest; without an offset, ``limit`` keeps the newest ``limit`` jobs
    (still oldest first), as ``Backend.list_jobs`` does, which the HTTP backend relies on.

    With a status filter, the RUNNING jobs are read first (a dead runner's job turns FAILED then),
    so the filter and the count see each job's status as a reader would."""
    if status is not None:
        storage.list_jobs(status="RUNNING")
    jobs = store.jobs
    where: list[Any] = []
    if status is not None:
        where.append(jobs.c.status == status)
    if q:
        where.append(sa.func.lower(jobs.c.display_name).like(_like(q), escape="\\"))
    from_newest = order == "newest" or offset is None
    query = sa.select(jobs.c.id).where(*where).order_by(jobs.c.id.desc() if from_newest else jobs.c.id.asc())
    query = query.offset(offset or 0)
    if limit is not None:
        query = query.limit(limit)
    with storage.engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
        total = conn.execute(sa.select(sa.func.count()).select_from(jobs).where(*where)).scalar_one()
    if order != "newest" and from_newest:
        ids.reverse()
    records = []
    for job_id in ids:
        # Through get_job, the one reading of a job that applies the liveness rule.
        try:
            records.append(storage.get_job(job_id))
        except NotFoundError:
            continue  # deleted between the two reads
    return records, int(total)
