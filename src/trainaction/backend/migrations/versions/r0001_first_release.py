"""The schema of the first release: datasets, jobs, job_logs, events, models.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table, Text

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def tables(metadata: sa.MetaData) -> list[Table]:
    """The tables as this revision made them (frozen here: store.py moves on, this stays)."""
    return [
        Table(
            "datasets",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("name", String(255), nullable=False),
            Column("location", Text, nullable=False),
            Column("files", JSON, nullable=False),
            Column("metadata", JSON, nullable=False),
            Column("created_at", Float, nullable=False),
            sqlite_autoincrement=True,
        ),
        Table(
            "jobs",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("action", String(32), nullable=False),
            Column("params", JSON, nullable=False),
            Column("name", String(512), nullable=False),
            Column("display_name", String(512), nullable=False),
            Column("status", String(16), nullable=False),
            Column("progress", JSON, nullable=False),
            Column("progress_percent", Float, nullable=False),
            Column("result", JSON),
            Column("error", Text),
            Column("best_trial", String(255)),
            Column("created_at", Float, nullable=False),
            Column("started_at", Float),
            Column("finished_at", Float),
            Column("runner_host", String(255)),
            Column("runner_pid", Integer),
            Column("runner_start", String(64)),
            Column("heartbeat_at", Float),
            sqlite_autoincrement=True,
        ),
        Table(
            "job_logs",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False, index=True),
            Column("text", Text, nullable=False),
        ),
        Table(
            "events",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False),
            Column("type", String(16), nullable=False),
            Column("trial_id", String(255)),
            Column("data", JSON, nullable=False),
            Column("time", Float, nullable=False),
            Index("ix_events_job_type", "job_id", "type"),
        ),
        Table(
            "models",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("name", String(512), nullable=False),
            Column("job_id", Integer, ForeignKey("jobs.id")),
            Column("trial_id", String(255)),
            Column("config", JSON, nullable=False),
            Column("metrics", JSON, nullable=False),
            Column("files", JSON, nullable=False),
            Column("size", Integer, nullable=False),
            Column("sha256", String(64), nullable=False),
            Column("created_at", Float, nullable=False),
            sqlite_autoincrement=True,
        ),
    ]


def upgrade() -> None:
    metadata = sa.MetaData()
    tables(metadata)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata = sa.MetaData()
    tables(metadata)
    metadata.drop_all(op.get_bind())
