"""Metric points in columns (backfilled from the stored metric events) with their series' counts and
min/max blocks (backfilled from the points), delivered batches, API tokens.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_PAGE = 5000


def tables(metadata: sa.MetaData) -> list[Table]:
    # The jobs table only as far as the foreign keys need it; it is not created here.
    Table("jobs", metadata, Column("id", Integer, primary_key=True))
    return [
        Table(
            "metric_points",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False),
            Column("trial_id", String(255)),
            Column("category", String(255), nullable=False),
            Column("key", String(255), nullable=False),
            Column("step", Float),
            Column("epoch", Float),
            Column("value", Float),
            Column("time", Float, nullable=False),
            Index("ix_metric_points_series", "job_id", "key", "trial_id", "category", "step", "epoch", "value"),
        ),
        Table(
            "metric_series_counts",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False),
            Column("trial_id", String(255)),
            Column("category", String(255), nullable=False),
            Column("key", String(255), nullable=False),
            Column("count", Integer, nullable=False),
            Column("with_step", Integer, nullable=False),
            Column("with_epoch", Integer, nullable=False),
            Column("with_value", Integer, nullable=False),
            Index("ix_metric_series_counts_job", "job_id", "key", "trial_id", "category"),
        ),
        Table(
            "metric_blocks",
            metadata,
            Column("series_id", Integer, ForeignKey("metric_series_counts.id"), primary_key=True, autoincrement=False),
            Column("block", Integer, primary_key=True, autoincrement=False),
            Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False, index=True),
            Column("count", Integer, nullable=False),
            *(
                Column(f"{side}_{name}", Integer if name == "index" else Float)
                for side in ("min", "max")
                for name in ("value", "step", "epoch", "index")
            ),
            sqlite_with_rowid=False,
        ),
        Table(
            "batches",
            metadata,
            Column("id", String(64), primary_key=True),
            Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False, index=True),
            Column("created_at", Float, nullable=False),
        ),
        Table(
            "tokens",
            metadata,
            Column("name", String(255), primary_key=True),
            Column("role", String(16), nullable=False),
            Column("hash", String(64), nullable=False, unique=True),
            Column("created_at", Float, nullable=False),
            Column("last_used_at", Float),
        ),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    # A database made before migrations by a build that already had these tables keeps them (and
    # the points that build stored); only missing tables are created and backfilled.
    missing = not sa.inspect(bind).has_table("metric_points")
    no_blocks = not sa.inspect(bind).has_table("metric_blocks")
    metadata = sa.MetaData()
    new = tables(metadata)
    metadata.create_all(bind, tables=new)
    if missing:
        _backfill(bind, new[0])
    if no_blocks:
        _backfill_blocks(bind, new[0])


def _backfill(bind: sa.engine.Connection, points: Table) -> None:
    """One point per stored ``metric`` event, as storing the event now adds it (charts read points)."""
    events = sa.table(
        "events",
        sa.column("id", Integer),
        sa.column("job_id", Integer),
        sa.column("type", String),
        sa.column("trial_id", String),
        sa.column("data", JSON),
        sa.column("time", Float),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.type == "metric", events.c.id > last).order_by(events.c.id).limit(_PAGE)
        ).all()
        if not rows:
            return
        bind.execute(points.insert(), [_point(row) for row in rows])
        last = rows[-1].id


def _backfill_blocks(bind: sa.engine.Connection, points: Table) -> None:
    """The series' counts and min/max blocks of the stored points, as storing them now keeps them."""
    from trainaction.backend.blocks import add_blocks

    c = points.c
    columns = (c.job_id, c.trial_id, c.category, c.key, c.step, c.epoch, c.value, c.time)
    last = 0
    while True:
        rows = bind.execute(sa.select(c.id, *columns).where(c.id > last).order_by(c.id).limit(_PAGE)).all()
        if not rows:
            return
        add_blocks(bind, [tuple(row[1:]) for row in rows])
        last = rows[-1].id


def _point(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = row.data if isinstance(row.data, dict) else {}
    metrics = data.get("metrics")
    if not isinstance(metrics, dict):
        metrics = {}
    return {
        "job_id": row.job_id,
        "trial_id": row.trial_id,
        "category": str(data.get("category", "")),
        "key": str(data.get("key", "")),
        "step": _number(metrics.get("step")),
        "epoch": _number(metrics.get("epoch")),
        "value": _number(data.get("value")),
        "time": row.time,
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def downgrade() -> None:
    metadata = sa.MetaData()
    metadata.drop_all(op.get_bind(), tables=tables(metadata))
