"""``metric_points`` keyed by series and index: (series_id, point_index, step, epoch, value).

The points carried their series' four columns (job, trial, category, key), a time nothing read, and
an index over seven columns to find a series' points; storing a 10,000-event batch spent more time
on that index than on the events. A point is now its series' id (``metric_series_counts.id``), its
index in the series (the order stored, from 0, as ``metric_blocks`` counts it) and its numbers; the
primary key is the order a chart reads a series in, and new points append at the end of their
series' range. The stored points are moved over with their order kept.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Column, Float, Index, Integer, String, Table

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

_OLD = "metric_points_0004"


def points_table(metadata: sa.MetaData) -> Table:
    return Table(
        "metric_points",
        metadata,
        Column("series_id", Integer, primary_key=True, autoincrement=False),
        Column("point_index", Integer, primary_key=True, autoincrement=False),
        Column("step", Float),
        Column("epoch", Float),
        Column("value", Float),
        sqlite_with_rowid=False,
    )


def _same_trial(dialect: str) -> str:
    # Two trial ids are the same series when equal or both NULL (a training job's).
    return "s.trial_id IS p.trial_id" if dialect == "sqlite" else "s.trial_id IS NOT DISTINCT FROM p.trial_id"


def upgrade() -> None:
    bind = op.get_bind()
    if "series_id" in {column["name"] for column in sa.inspect(bind).get_columns("metric_points")}:
        return  # made with this shape already (a database stamped at 0001, its tables from store.py)
    op.rename_table("metric_points", _OLD)
    if bind.dialect.name == "postgresql":  # the new table's primary key takes this name
        op.execute(f"ALTER INDEX metric_points_pkey RENAME TO {_OLD}_pkey")
    points_table(sa.MetaData()).create(bind)
    # Every point's series exists: revision 0002 counted the points into their series, and storing
    # a point has counted it since. Its index is its rank among its series' points by id.
    op.execute(
        "INSERT INTO metric_points (series_id, point_index, step, epoch, value) "
        "SELECT s.id, ROW_NUMBER() OVER (PARTITION BY s.id ORDER BY p.id) - 1, p.step, p.epoch, p.value "
        f"FROM {_OLD} p JOIN metric_series_counts s ON s.job_id = p.job_id AND s.category = p.category "
        f"AND s.key = p.key AND {_same_trial(bind.dialect.name)}"
    )
    op.drop_table(_OLD)


def downgrade() -> None:
    bind = op.get_bind()
    op.rename_table("metric_points", _OLD)
    if bind.dialect.name == "postgresql":
        op.execute(f"ALTER INDEX metric_points_pkey RENAME TO {_OLD}_pkey")
    Table(
        "metric_points",
        sa.MetaData(),
        Column("id", Integer, primary_key=True),
        Column("job_id", Integer, nullable=False),
        Column("trial_id", String(255)),
        Column("category", String(255), nullable=False),
        Column("key", String(255), nullable=False),
        *(Column(name, Float) for name in ("step", "epoch", "value")),
        Column("time", Float, nullable=False),
        Index("ix_metric_points_series", "job_id", "key", "trial_id", "category", "step", "epoch", "value"),
    ).create(bind)
    # The points' time was not kept: 0. Series follow each other instead of interleaving as stored.
    op.execute(
        "INSERT INTO metric_points (job_id, trial_id, category, key, step, epoch, value, time) "
        "SELECT s.job_id, s.trial_id, s.category, s.key, p.step, p.epoch, p.value, 0 "
        f"FROM {_OLD} p JOIN metric_series_counts s ON s.id = p.series_id ORDER BY p.series_id, p.point_index"
    )
    op.drop_table(_OLD)
