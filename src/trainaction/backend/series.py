"""A job's metric series for charts, downsampled so that a chart of a million points stays small.

One series per (trial_id, category, key). Its x is chosen per series: ``step`` when every point has a
step, else ``epoch`` when every point has an epoch, else ``index`` (the point's position in the
series, from 1, in the order the points were stored). A series whose x is only partly filled falls
back to a kind every point has, rather than dropping the points without one. ``x`` asks for a kind
(a chart's switch between step and epoch): it is taken for each series where every point has it.

A series with more numeric values than ``points`` is cut into ``points // 2`` buckets of points
consecutive in the order stored, and each bucket keeps its point of minimum value and its point of
maximum value (the first stored on ties): a spike survives, which an average or an every-nth-point
sample would lose. The kept points are answered in x order. Points without a value (None, NaN, ±inf:
stored as NULL) are never chosen, but they count in ``count`` and in ``index``; a series of only such
points is still listed, with its count and no points.

What is read: the series' counts (``metric_series_counts``), then, when its buckets are no more than
its blocks of 64 points, only its min/max blocks (``metric_blocks``, kept as points are stored, see
:mod:`trainaction.backend.blocks`): each bucket is whole blocks (bucket of block b = b * buckets //
blocks). Otherwise the series has fewer than 64 x points/2 points, and its points are read and
bucketed by valued point (bucket of the r-th = r * buckets // valued). A chart's cost follows its
answer, not the points stored: 1,000,000 points of one series at points=500 read 15,625 blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.engine import Engine

from ..errors import FieldError, ValidationError
from .blocks import BLOCK

__all__ = ["bucket_extremes", "metric_series"]

_SERIES = (
    "SELECT id, key, trial_id, category, count, with_step, with_epoch, with_value FROM metric_series_counts "
    "WHERE {where}"
)
_BLOCKS = (
    "SELECT series_id, min_value, min_step, min_epoch, min_index, max_value, max_step, max_epoch, max_index "
    "FROM metric_blocks WHERE job_id = {job} AND series_id IN (SELECT id FROM metric_series_counts WHERE {where}) "
    "ORDER BY series_id, block"
)
# Per series, only the numbers a chart needs, in the order stored.
_POINTS = "SELECT step, epoch, value FROM metric_points WHERE series_id = {series} ORDER BY point_index"

# A kept point: (x, value, index).
Kept = tuple[Any, float, int]


def metric_series(
    engine: Engine,
    job_id: int,
    *,
    key: str | None,
    trial: str | None,
    category: str | None,
    points: int,
    x: str | None = None,
) -> list[dict[str, Any]]:
    """The job's series, each ``{"trial_id", "category", "key", "x", "count", "points": [[x, value], …]}``.

    ``key``/``trial``/``category`` keep only the series with that value (None: all). At most
    ``points`` points per series (with ``points=1``, each series' maximum alone). Series are
    ordered by trial (None first), category, key; points by x. Whether the job exists is the caller's
    check: a job without metric points has no series."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValidationError([FieldError("points", f"must be a whole number of at least 1, got {points!r}")])
    # The DB-API cursor, not SQLAlchemy's Row objects: they would add about a third to many rows.
    pyformat = engine.dialect.paramstyle.endswith("format")

    def mark(name: str) -> str:
        return f"%({name})s" if pyformat else f":{name}"

    buckets = points // 2
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        where, params = _where(mark, job_id, key, trial, category)
        cursor.execute(_SERIES.format(where=where), params)
        found = cursor.fetchall()
        by_blocks = {
            row[0]
            for row in found
            if row[7] > points and buckets <= -(-row[4] // BLOCK)  # buckets no more than blocks
        }
        blocks: dict[int, list[tuple[Any, ...]]] = {}
        if by_blocks:
            cursor.execute(_BLOCKS.format(job=mark("job_id"), where=where), params)
            for row in cursor.fetchall():
                if row[0] in by_blocks:
                    blocks.setdefault(row[0], []).append(row[1:])
        series = []
        for series_id, name, trial_id, cat, n, n_step, n_epoch, n_value in found:
            kind = _kind(x, n, n_step, n_epoch)
            kept: list[Kept] = []
            if series_id in by_blocks:
                kept = _merge_blocks(blocks[series_id], kind, buckets)
            elif n_value:
                cursor.execute(_POINTS.format(series=mark("series")), {"series": series_id})
                kept = bucket_extremes(_valued(cursor.fetchall(), kind), points)
            kept.sort(key=lambda p: (p[0], p[2]))
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


def _kind(wanted: str | None, n: int, n_step: int, n_epoch: int) -> str:
    full = {"step": n_step == n, "epoch": n_epoch == n, "index": True}
    if wanted is not None and full.get(wanted):
        return wanted
    return "step" if full["step"] else "epoch" if full["epoch"] else "index"


def _valued(rows: Iterable[tuple[Any, Any, Any]], kind: str) -> list[Kept]:
    """The points with a value, each (x, value, index), in the order stored."""
    column = {"step": 0, "epoch": 1}.get(kind)
    return [
        (index + 1 if column is None else row[column], row[2], index)
        for index, row in enumerate(rows)
        if row[2] is not None
    ]


def _merge_blocks(blocks: list[tuple[Any, ...]], kind: str, buckets: int) -> list[Kept]:
    """Whole blocks merged into ``buckets`` buckets (all into one maximum when ``buckets`` is 0).

    A block row is (min value, step, epoch, index, max value, step, epoch, index)."""
    lows = [block[0] for block in blocks]
    highs = [block[4] for block in blocks]
    gaps = None in lows  # blocks without any value

    def point(block: tuple[Any, ...], at: int) -> Kept:
        x = block[at + 3] + 1 if kind == "index" else block[at + (1 if kind == "step" else 2)]
        return (x, block[at], block[at + 3])

    def first(values: list[Any], start: int, pick: Callable[..., Any]) -> int | None:
        # min/max and index() in C; index() finds the first block of equal values, the one stored first.
        valued = [v for v in values if v is not None] if gaps else values
        return start + values.index(pick(valued)) if valued else None

    if buckets == 0:
        return [point(blocks[first(highs, 0, max) or 0], 4)]
    kept: list[Kept] = []
    start = 0
    for bucket in range(buckets):
        end = -(-(bucket + 1) * len(blocks) // buckets)  # the first block b with b * buckets // blocks > bucket
        low, high = first(lows[start:end], start, min), first(highs[start:end], start, max)
        start = end
        if low is None or high is None:  # a bucket of blocks without values keeps nothing
            continue
        a, b = point(blocks[low], 0), point(blocks[high], 4)
        kept.extend((a,) if a[2] == b[2] else (a, b))
    return kept


def _where(
    mark: Callable[[str], str], job_id: int, key: str | None, trial: str | None, category: str | None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of metric_series_counts for the filters given (None: any)."""
    clauses, params = [f"job_id = {mark('job_id')}"], dict[str, Any](job_id=job_id)
    for column, value in (("key", key), ("trial_id", trial), ("category", category)):
        if value is not None:
            clauses.append(f"{column} = {mark(column)}")
            params[column] = value
    return " AND ".join(clauses), params


def bucket_extremes(valued: list[Kept], points: int) -> list[Kept]:
    """``valued`` (in the order stored) itself when it has at most ``points`` points; else, of each of
    ``points // 2`` buckets of consecutive points (bucket of point r = r * buckets // n), the point of
    minimum and the point of maximum value, the first on ties; with ``points=1``, the maximum."""
    n = len(valued)
    if n <= points:
        return valued
    values = [value for _, value, _ in valued]
    if points == 1:  # no room for a bucket's two extremes: the series' maximum, the first on ties
        return [valued[values.index(max(values))]]
    buckets = points // 2
    kept: list[Kept] = []
    start = 0
    for bucket in range(buckets):
        end = -(-(bucket + 1) * n // buckets)  # the first r with r * buckets // n > bucket
        part = values[start:end]
        # min/max and index() in C; index() finds the first of equal values.
        low, high = start + part.index(min(part)), start + part.index(max(part))
        kept.extend((valued[low],) if low == high else (valued[low], valued[high]))
        start = end
    return kept


def _as_lists(kept: list[Kept], kind: str) -> list[list[Any]]:
    """JSON-ready pairs; a step or epoch stored as 3.0 reads back as 3 when whole, as it was logged."""
    if kind == "index":
        return [[x, value] for x, value, _ in kept]
    return [[int(x) if x.is_integer() else x, value] for x, value, _ in kept]
