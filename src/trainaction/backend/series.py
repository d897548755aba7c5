"""Metric series for charts (stand-in with the agreed interface; the full module replaces it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import store

__all__ = ["metric_series"]


def metric_series(
    engine: Engine, job_id: int, *, key: str | None, trial: str | None, category: str | None, points: int
) -> list[dict[str, Any]]:
    table = store.metric_points
    query = sa.select(table).where(table.c.job_id == job_id)
    for column, value in ((table.c.key, key), (table.c.trial_id, trial), (table.c.category, category)):
        if value is not None:
            query = query.where(column == value)
    groups: dict[tuple[Any, ...], list[Any]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(table.c.id)).mappings():
            groups.setdefault((row["trial_id"], row["category"], row["key"]), []).append(row)
    series = []
    for (trial_id, cat, name), rows in groups.items():
        x = "step" if all(r["step"] is not None for r in rows) else "index"
        values = [[r["step"] if x == "step" else n, r["value"]] for n, r in enumerate(rows)]
        step = max(1, -(-len(values) // points))
        series.append(
            {
                "trial_id": trial_id,
                "category": cat,
                "key": name,
                "x": x,
                "count": len(values),
                "points": values[::step][:points],
            }
        )
    return series
