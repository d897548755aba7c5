"""Min/max blocks of metric series, kept as points are stored, so that a chart reads blocks, not points.

A series is a job's (trial_id, category, key); its points are numbered in the order they are stored
(``index``, from 0), and block ``b`` holds points ``64 b`` to ``64 b + 63``. Per block,
``metric_blocks`` keeps its count and its point of minimum and of maximum value (value, step, epoch,
index; the first on ties). ``metric_series_counts`` keeps each series' count, how many of its points
have a step, an epoch and a value: the chart reads its x kind from there instead of counting rows.

Both are written in the transaction that stores the points; writers are one at a time (SQLite's
write lock, PostgreSQL's advisory lock, see :mod:`trainaction.backend.registry`), so the counts read
at the start of a batch are the ones its points continue from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy.engine import Connection

__all__ = ["BLOCK", "Counted", "add_blocks", "count_points", "group_points", "series_of", "store_counts"]

BLOCK = 64

# A point as batches.event_rows makes it: (job_id, trial_id, category, key, step, epoch, value).
Point = tuple[Any, ...]
SeriesKey = tuple[int, str | None, str, str]

_SERIES = "SELECT id, trial_id, category, key, count, with_step, with_epoch, with_value FROM metric_series_counts"
_NEW_SERIES = (
    "INSERT INTO metric_series_counts (job_id, trial_id, category, key, count, with_step, with_epoch, with_value) "
    "VALUES (?, ?, ?, ?, 0, 0, 0, 0)"
)
_COUNTS = "UPDATE metric_series_counts SET count = ?, with_step = ?, with_epoch = ?, with_value = ? WHERE id = ?"


def _keep(side: str, column: str) -> str:
    """The block's ``side`` extreme's ``column``: the stored one unless the new points beat it
    (strictly: on ties the stored point came first)."""
    beats = ">" if side == "max" else "<"
    return (
        f"{side}_{column} = CASE WHEN metric_blocks.{side}_value IS NULL OR excluded.{side}_value {beats} "
        f"metric_blocks.{side}_value THEN excluded.{side}_{column} ELSE metric_blocks.{side}_{column} END"
    )


_EXTREMES = ("value", "step", "epoch", "index")
_COLUMNS = ", ".join(f"{side}_{c}" for side in ("min", "max") for c in _EXTREMES)
# Every SET expression reads the row as it was before the update (SQLite and PostgreSQL alike).
_UPSERT = (
    f"INSERT INTO metric_blocks (series_id, job_id, block, count, {_COLUMNS}) VALUES ({', '.join('?' * 12)}) "
    "ON CONFLICT (series_id, block) DO UPDATE SET count = metric_blocks.count + excluded.count, "
    + ", ".join(_keep(side, c) for side in ("min", "max") for c in _EXTREMES)
)


def add_blocks(conn: Connection, points: Sequence[Point]) -> list[tuple[Any, ...]]:
    """Count ``points`` (in the order they are stored) into their series and blocks, in ``conn``'s
    transaction; returns their rows of ``metric_points``: (series_id, point_index, step, epoch, value)."""
    grouped = group_points(points)
    counted = count_points(grouped, series_of(conn, grouped))
    store_counts(conn, counted)
    return counted.rows


Known = dict[SeriesKey, tuple[int, int, int, int, int]]
Grouped = dict[SeriesKey, list[Point]]


def group_points(points: Sequence[Point]) -> Grouped:
    """``points`` by series (job, trial, category, key), in the order stored."""
    grouped: Grouped = {}
    for point in points:
        series = point[:4]
        found = grouped.get(series)
        if found is None:
            grouped[series] = found = []
        found.append(point)
    return grouped


class Counted:
    """A batch's points counted into their series: the series' new counts, the blocks to merge, and
    the points' rows of ``metric_points``."""

    def __init__(self) -> None:
        self.counts: list[tuple[Any, ...]] = []
        self.blocks: list[tuple[Any, ...]] = []
        self.rows: list[tuple[Any, ...]] = []


def series_of(conn: Connection, grouped: Grouped) -> Known:
    """The series of :func:`group_points` as stored (id, count, with_step, with_epoch, with_value);
    those not stored yet are created, empty."""
    if not grouped:
        return {}
    known = _known(conn, {job for job, *_ in grouped})
    new = [series for series in grouped if series not in known]
    if new:
        conn.exec_driver_sql(_sql(conn)(_NEW_SERIES), new)
        known = _known(conn, {job for job, *_ in new})
    return known


def count_points(grouped: Grouped, known: Known) -> Counted:
    """Count the points of :func:`group_points` into ``known`` (from :func:`series_of`); no database work."""
    counted = Counted()
    for series, members in grouped.items():
        series_id, count, with_step, with_epoch, with_value = known[series]
        steps = [p[4] for p in members]
        epochs = [p[5] for p in members]
        values = [p[6] for p in members]
        size = len(members)
        counted.counts.append(
            (
                count + size,
                with_step + size - steps.count(None),
                with_epoch + size - epochs.count(None),
                with_value + size - values.count(None),
                series_id,
            )
        )
        counted.rows.extend(zip(repeat(series_id), range(count, count + size), steps, epochs, values))
        start = 0
        while start < size:
            index = count + start
            end = min(size, start + BLOCK - index % BLOCK)
            counted.blocks.append(
                (series_id, series[0], index // BLOCK, end - start, *_extremes(members, values, start, end, index))
            )
            start = end
    return counted


def store_counts(conn: Connection, counted: Counted) -> None:
    """Write the series' counts and merge the blocks of :func:`count_points`, in ``conn``'s transaction."""
    if counted.counts:
        sql = _sql(conn)
        conn.exec_driver_sql(sql(_COUNTS), counted.counts)
        conn.exec_driver_sql(sql(_UPSERT), counted.blocks)


def _extremes(members: list[Point], values: list[Any], start: int, end: int, first: int) -> tuple[Any, ...]:
    """(value, step, epoch, index) of the minimum, then of the maximum, of ``values[start:end]``;
    Nones when none has a value. ``first`` is the index of ``members[start]``."""
    part = values[start:end]
    if None in part:
        valued = [v for v in part if v is not None]
        if not valued:
            return (None,) * 8
        low, high = min(valued), max(valued)
    else:
        low, high = min(part), max(part)
    # index() finds the first of equal values: the one stored first.
    i, j = start + part.index(low), start + part.index(high)
    lo, hi = members[i], members[j]
    return (low, lo[4], lo[5], first + i - start, high, hi[4], hi[5], first + j - start)


def _known(conn: Connection, jobs: Iterable[int]) -> Known:
    """The jobs' series: id, count, with_step, with_epoch, with_value."""
    known = {}
    for job in jobs:
        for row in conn.exec_driver_sql(_sql(conn)(f"{_SERIES} WHERE job_id = ?"), (job,)):
            known[(job, row[1], row[2], row[3])] = (row[0], row[4], row[5], row[6], row[7])
    return known


def _sql(conn: Connection) -> Any:
    """Statements are written with ``?``; psycopg takes ``%s``."""
    if conn.dialect.paramstyle in ("qmark",):
        return lambda text: text
    return lambda text: text.replace("?", "%s")
