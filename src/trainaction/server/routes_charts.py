"""The dashboard's chart index: a job's metric keys, how many series each has, and the x axes they can take.

The metrics route answers points; a page that draws one chart per key needs the keys first, and
the number of lines each chart will have (to choose its points per line), without reading points
or blocks: this reads the per-series counts alone (``metric_series_counts``).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query

from ..backend import store
from .deps import ERRORS, JobId, Reader, Storage
from .schemas import Short

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["jobs"])

_KINDS = ("step", "epoch", "index")


@router.get("/jobs/{job_id}/metrics/keys")
def metric_keys(
    job_id: JobId, _: Reader, storage: Storage, trial: Annotated[Short | None, Query()] = None
) -> dict[str, Any]:
    """``{"job_id", "keys": [{"category", "key", "series", "count", "x": [...]}]}``: ``series`` is the
    number of series (lines: one per trial), ``count`` their points, ``x`` the axes every point of every
    series has (``GET …/metrics?x=`` takes any of them), in the order step, epoch, index."""
    storage.get_job(job_id)
    table = store.metric_series_counts
    full = {
        kind: sa.func.sum(sa.case((column == table.c.count, 0), else_=1))
        for kind, column in (("step", table.c.with_step), ("epoch", table.c.with_epoch))
    }
    query = (
        sa.select(
            table.c.category,
            table.c.key,
            sa.func.count().label("n_series"),
            sa.func.sum(table.c.count).label("n_points"),
            full["step"].label("partial_step"),
            full["epoch"].label("partial_epoch"),
        )
        .where(table.c.job_id == job_id)
        .group_by(table.c.category, table.c.key)
        .order_by(table.c.category, table.c.key)
    )
    if trial is not None:
        query = query.where(table.c.trial_id == trial)
    with storage.engine.connect() as conn:
        rows = conn.execute(query).all()
    keys = [
        {
            "category": row.category,
            "key": row.key,
            "series": int(row.n_series),
            "count": int(row.n_points),
            "x": [kind for kind in _KINDS if kind == "index" or not getattr(row, f"partial_{kind}")],
        }
        for row in rows
    ]
    return {"job_id": job_id, "keys": keys}
