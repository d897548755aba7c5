"""A job's metric series for charts, downsampled so that a chart of a million points stays small.

One series per (trial_id, category, key), read from ``metric_points`` (filled when events are stored,
see :mod:`trainaction.backend.batches`). Its x is chosen per series: ``step`` when every point has a
step, else ``epoch`` when every point has an epoch, else ``index`` (the point's position in the
series, from 1, in the order the points were stored). A series whose x is only partly filled falls
back to a kind every point has, rather than dropping the points without one.

A series with more numeric values than ``points`` is cut into ``points // 2`` buckets of equal
row counts along x, and each bucket keeps its point of minimum value and its point of maximum value
(one point when they are the same; the first in x order on ties), in x order: a spike between two
kept points survives, which an average or an every-nth-point sample would lose. Points without a
value (None, NaN, ±inf: stored as NULL) are never chosen, but they count in ``count`` and in
``index``; a series of only such points is still listed, with its count and no points.

Where the work is done: SQL counts each series (one GROUP BY read of the covering index
``ix_metric_points_series``: job_id, key, trial_id, category, step, epoch, value) and then hands
over each series' (x, value) pairs in x order from the same index; the bucketing is a pass in
Python using C-level min/max per bucket. Bucketing in SQL with window functions (row_number per
series, then min/max per bucket) made SQLite sort the million rows three times: ~10 s for
1,000,000 points, against ~1.4 s this way (benchmarks/chart_query.py, 2-core machine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy.engine import Engine

from ..errors import FieldError, ValidationError

__all__ = ["bucket_extremes", "metric_series"]

_COUNTS = (
    "SELECT key, trial_id, category, count(*), count(step), count(epoch), count(value) FROM metric_points "
    "WHERE {where} GROUP BY key, trial_id, category"
)
# Per series, only the two numbers a chart needs: a million rows that also carried the series' three
# names cost about twice as much to hand over to Python.
_POINTS = {
    "step": "SELECT step, value FROM metric_points WHERE {where} AND value IS NOT NULL ORDER BY step, id",
    "epoch": "SELECT epoch, value FROM metric_points WHERE {where} AND value IS NOT NULL ORDER BY epoch, id",
    "index": "SELECT value FROM metric_points WHERE {where} ORDER BY id",
}


def metric_series(
    engine: Engine,
    job_id: int,
    *,
    key: str | None,
    trial: str | None,
    category: str | None,
    points: int,
) -> list[dict[str, Any]]:
    """The job's series, each ``{"trial_id", "category", "key", "x", "count", "points": [[x, value], …]}``.

    ``key``/``trial``/``category`` keep only the series with that value (None: all). At most
    ``points`` points per series (with ``points=1``, each series' maximum alone). Series are
    ordered by trial (None first), category, key; points by x. Whether the job exists is the caller's
    check: a job without metric points has no series."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValidationError([FieldError("points", f"must be a whole number of at least 1, got {points!r}")])
    # The DB-API cursor, not SQLAlchemy's Row objects: they would add about a third to a million rows.
    mark = (lambda name: f"%({name})s") if engine.dialect.paramstyle.endswith("format") else (lambda n: f":{n}")
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        where, params = _where(mark, job_id, key, trial, category)
        cursor.execute(_COUNTS.format(where=where), params)
        series = []
        for name, trial_id, cat, n, n_step, n_epoch, n_value in cursor.fetchall():
            kind = "step" if n_step == n else "epoch" if n_epoch == n else "index"
            found: list[tuple[Any, float]] = []
            if n_value:
                where, params = _where(mark, job_id, name, trial_id, cat, one_series=True)
                cursor.execute(_POINTS[kind].format(where=where), params)
                if kind == "index":
                    found = [(i, v) for i, (v,) in enumerate(cursor.fetchall(), start=1) if v is not None]
                else:
                    found = cast(list[tuple[Any, float]], cursor.fetchall())  # (x, value) rows
            kept = bucket_extremes(found, points)
            series.append(
                {
                    "trial_id": trial_id,
                    "category": cat,
                    "key": name,
                    "x": kind,
                    "count": n,
                    "points": _as_lists(kept, kind),
                }
            )
        cursor.close()
    finally:
        connection.close()
    return sorted(series, key=lambda s: (s["trial_id"] is not None, s["trial_id"] or "", s["category"], s["key"]))


def _where(
    mark: Callable[[str], str],
    job_id: int,
    key: str | None,
    trial: str | None,
    category: str | None,
    *,
    one_series: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause for the filters given (None: any); for ``one_series``, a None ``trial`` is
    the series without a trial (a training job's)."""
    clauses, params = [f"job_id = {mark('job_id')}"], dict[str, Any](job_id=job_id)
    for column, value in (("key", key), ("trial_id", trial), ("category", category)):
        if value is None and one_series and column == "trial_id":
            clauses.append("trial_id IS NULL")
        elif value is not None:
            clauses.append(f"{column} = {mark(column)}")
            params[column] = value
    return " AND ".join(clauses), params


def bucket_extremes(valued: list[tuple[Any, float]], points: int) -> list[tuple[Any, float]]:
    """``valued`` (in x order) itself when it has at most ``points`` points; else, of each of
    ``points // 2`` buckets of consecutive points (bucket of point r = r * buckets // n), the point of
    minimum and the point of maximum value, the first on ties, in x order; with ``points=1``, the maximum."""
    n = len(valued)
    if n <= points:
        return valued
    if points == 1:  # no room for a bucket's two extremes: the series' maximum, the first on ties
        values = [value for _, value in valued]
        return [valued[values.index(max(values))]]
    buckets = points // 2
    values = [value for _, value in valued]
    kept: list[tuple[Any, float]] = []
    start = 0
    for bucket in range(buckets):
        end = -(-(bucket + 1) * n // buckets)  # the first r with r * buckets // n > bucket
        part = values[start:end]
        # min/max and index() in C; index() finds the first of equal values.
        low, high = start + part.index(min(part)), start + part.index(max(part))
        kept.extend(
            (valued[low], valued[high]) if low < high else (valued[high], valued[low]) if high < low else (valued[low],)
        )
        start = end
    return kept


def _as_lists(kept: list[tuple[Any, float]], kind: str) -> list[list[Any]]:
    """JSON-ready pairs; a step or epoch stored as 3.0 reads back as 3 when whole, as it was logged."""
    if kind == "index":
        return [[x, value] for x, value in kept]
    return [[int(x) if x.is_integer() else x, value] for x, value in kept]
