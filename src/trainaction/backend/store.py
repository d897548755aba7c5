"""The SQL schema, shared by the embedded backend and the team server (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# AUTOINCREMENT on the tables whose ids name things outside the database (models/<id>, runs/<id>,
# ids in users' scripts): SQLite then never gives a deleted row's id again. (A database made before
# this keeps its tables as they were; the model store also skips any folder an id already has.)
# Every change here needs a revision in migrations/versions/ (tests/backend/test_migrations.py compares them).
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("location", Text, nullable=False),
    Column("files", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

jobs = Table(
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
    # Who runs a RUNNING job and when it last said so (see trainaction.liveness); added after the
    # first release, so nullable; a database from before them gets them in migrate.upgrade().
    Column("runner_host", String(255)),
    Column("runner_pid", Integer),
    Column("runner_start", String(64)),
    Column("heartbeat_at", Float),
    sqlite_autoincrement=True,
)

# Logs are appended in chunks: rewriting one growing text column would cost O(n²).
job_logs = Table(
    "job_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
)

# events and metric_points: no foreign key (revision 0004). They take a row per event, and
# PostgreSQL checks a key by a trigger per row; the job is checked once per batch in the write's
# transaction (LocalBackend.add_event_rows), and deleting a job deletes its rows first.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, nullable=False),
    Column("type", String(16), nullable=False),
    Column("trial_id", String(255)),
    Column("data", JSON, nullable=False),
    Column("time", Float, nullable=False),
    Index("ix_events_job_type", "job_id", "type"),
)

# One row per metric point, its numbers in columns: charts read and downsample series in SQL instead
# of decoding a million JSON documents. Keyed by its series (metric_series_counts.id) and its index
# in the series (the order stored, from 0): a series' points are read in order by the key alone, and
# a batch's points append at the end of their series' key range, with no index beside the table to
# keep (revision 0005). Filled in the transaction that stores the events.
metric_points = Table(
    "metric_points",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=False),
    Column("point_index", Integer, primary_key=True, autoincrement=False),
    Column("step", Float),
    Column("epoch", Float),
    Column("value", Float),
    sqlite_with_rowid=False,
)

# Per series of metric points (a job's trial_id, category, key): its count, and how many of its
# points have a step, an epoch, a value. Kept with the points (see backend/blocks.py).
metric_series_counts = Table(
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
)

# Per block of 64 points of a series (in the order stored): its count and its points of minimum and
# maximum value. A chart of a million points merges blocks instead of reading the points.
metric_blocks = Table(
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
    # On SQLite, rows kept in primary key order: a chart reads a series' blocks side by side.
    sqlite_with_rowid=False,
)

# Batches already stored, by the id their sender gave them: a batch sent again (its answer was
# lost on the way back) is recognised and not stored twice.
batches = Table(
    "batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
)

# The team server's API tokens: only a hash of each is kept.
tokens = Table(
    "tokens",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
)

# Jobs recorded by `trainaction submit`: one row per job, beside its jobs row. A worker of the
# server claims a QUEUED "server" job; a "ray" job runs through the Ray Jobs API (ray_job_id).
submissions = Table(
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

models = Table(
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
)


def insert_job(
    conn: Connection, action: str, params: dict[str, Any], name: str, display_name: str, status: str, created_at: float
) -> int:
    """A new job row with no progress yet; its id."""
    result = conn.execute(
        jobs.insert().values(
            action=action,
            params=params,
            name=name,
            display_name=display_name,
            status=status,
            progress={},
            progress_percent=0.0,
            created_at=created_at,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]
