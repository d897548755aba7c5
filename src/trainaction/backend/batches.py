"""What storing a batch of events adds beside the events: its delivery record and its metric points."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy.engine import Connection

from ..events import Event
from ..wire import METRIC
from . import store
from .blocks import count_points, group_points, series_of, store_counts

__all__ = [
    "Rows",
    "delivered_for",
    "encode_data",
    "event_rows",
    "first_delivery",
    "insert_rows",
    "metric_point",
    "number",
]


def first_delivery(conn: Connection, batch_id: str | None, job_id: int) -> bool:
    """Record ``batch_id`` as stored, in the caller's transaction; False when it was stored before.

    A sender retries a batch whose answer it never got with the same id; this makes that retry a no-op.
    Without an id every call stores."""
    if batch_id is None:
        return True
    if delivered_for(conn, batch_id) is not None:
        return False
    conn.execute(store.batches.insert().values(id=batch_id, job_id=job_id, created_at=time.time()))
    return True


def delivered_for(conn: Connection, batch_id: str) -> int | None:
    """The job a batch (or a job's creation request) ``batch_id`` was stored for; None when it never was."""
    job_id: int | None = conn.execute(sa.select(store.batches.c.job_id).where(store.batches.c.id == batch_id)).scalar()
    return job_id


_EVENT_COLUMNS = "job_id, type, trial_id, data, time"
_POINT_COLUMNS = "series_id, point_index, step, epoch, value"
# PostgreSQL's types of the columns, for a binary COPY: floats go as their 8 bytes, not as text
# that the server parses again. The data column's JSON text goes as text, which is also json's binary
# form (psycopg's json dumper would encode the text again, as a JSON string).
_EVENT_TYPES = ("int4", "varchar", "varchar", "text", "float8")
_POINT_TYPES = ("int4", "int4", "float8", "float8", "float8")

Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def event_rows(job_id: int, events: Sequence[Event]) -> Rows:
    """The rows of ``events`` and of ``metric_points`` for ``events``, as :func:`insert_rows` takes them.

    Made before the write transaction starts: encoding 10,000 events takes longer than storing them,
    and other writers need not wait for it. (The server's events route makes the same rows straight
    from the request's JSON, see :mod:`trainaction.server.events_body`.)"""
    rows = []
    points = []
    for event in events:
        data = event.data
        trial = data.get("trial_id")
        rows.append((job_id, event.type, trial, encode_data(data), event.time))
        if event.type == METRIC:
            points.append(metric_point(job_id, trial, data))
    return rows, points


def metric_point(job_id: int, trial: Any, data: dict[str, Any]) -> tuple[Any, ...]:
    """A metric event's point: its series (job, trial, category, key), then its numbers (step, epoch,
    value; None where not a finite number). :func:`.blocks.add_blocks` makes its ``metric_points`` row."""
    metrics = data.get("metrics", {})
    return (
        job_id,
        trial,
        str(data.get("category", "")),
        str(data.get("key", "")),
        number(metrics.get("step")),
        number(metrics.get("epoch")),
        number(data.get("value")),
    )


def encode_data(data: dict[str, Any]) -> str:
    """An event's ``data`` as JSON text, by pydantic-core's encoder (a dependency of FastAPI), about six
    times as fast as ``json.dumps``; what it writes (NaN and ±Infinity as Python's json writes them)
    reads back through ``json.loads`` as the same values."""
    try:
        return to_json(data, inf_nan_mode="constants").decode()
    except ValueError:  # what it cannot encode (a lone surrogate, say): json escapes it, or says what is wrong
        return json.dumps(data)


def insert_rows(conn: Connection, rows: Rows) -> None:
    """Store the rows of :func:`event_rows` in the caller's transaction, in bulk.

    Plain tuples go to the DB-API (PostgreSQL: ``COPY``): SQLAlchemy's per-row parameter processing
    was two thirds of the time of a 10,000-event batch, which kept the server's events route at
    ~15,000 events/s."""
    events, points = rows
    grouped = group_points(points)
    known = series_of(conn, grouped)
    if conn.dialect.name == "postgresql":
        # The points are counted while PostgreSQL is still storing the events the COPY sent it (the
        # other process: its part of a batch took longer than ours), instead of after.
        with _copy(conn, "events", _EVENT_COLUMNS, _EVENT_TYPES) as copy:
            for event in events:
                copy.write_row(event)
            counted = count_points(grouped, known)
        store_counts(conn, counted)
        if counted.rows:
            with _copy(conn, "metric_points", _POINT_COLUMNS, _POINT_TYPES) as copy:
                for row in counted.rows:
                    copy.write_row(row)
        return
    if events:
        conn.exec_driver_sql(f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?)", events)
    counted = count_points(grouped, known)  # the series' ids and indexes of the points' rows
    store_counts(conn, counted)
    if counted.rows:
        conn.exec_driver_sql(f"INSERT INTO metric_points ({_POINT_COLUMNS}) VALUES (?, ?, ?, ?, ?)", counted.rows)


@contextlib.contextmanager
def _copy(conn: Connection, table: str, columns: str, types: tuple[str, ...]) -> Iterator[Any]:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        yield copy


def number(value: Any) -> float | None:
    """A point's column: a finite int or float as a float; None for anything else (NaN, ±inf, text, bool)."""
    kind = type(value)
    if kind is float:
        return value if value - value == 0 else None  # NaN and ±inf give NaN
    if kind is int:
        return float(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
