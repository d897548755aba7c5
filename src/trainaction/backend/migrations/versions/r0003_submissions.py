"""Submitted jobs: their executor, plugin zip, Ray submission id, worker and stop request.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def tables(metadata: sa.MetaData) -> list[Table]:
    # The jobs table only as far as the foreign key needs it; it is not created here.
    Table("jobs", metadata, Column("id", Integer, primary_key=True))
    return [
        Table(
            "submissions",
            metadata,
            Column("job_id", Integer, ForeignKey("jobs.id"), primary_key=True, autoincrement=False),
            Column("executor", String(16), nullable=False),
            Column("ray_address", Text),
            Column("ray_job_id", String(255)),
            Column("plugin_key", Text, nullable=False),
            Column("stop_requested", Boolean, nullable=False),
            Column("submitted_at", Float, nullable=False),
            Column("worker", String(255)),
            Index("ix_submissions_executor", "executor", "job_id"),
        )
    ]


def upgrade() -> None:
    metadata = sa.MetaData()
    metadata.create_all(op.get_bind(), tables=tables(metadata))


def downgrade() -> None:
    metadata = sa.MetaData()
    metadata.drop_all(op.get_bind(), tables=tables(metadata))
