"""``events`` and ``metric_points`` without their foreign key to ``jobs``.

On PostgreSQL the key is checked by a trigger per row, which took about half the time of storing a
batch of events (10,000 rows into each table: ~80 ms of ~150 ms). The job is checked once per batch
instead, in the batch's write transaction (``LocalBackend.add_event_rows``), and a job's delete
removes its rows first, as it did; these two tables are the only ones written a row per event.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

_TABLES = ("events", "metric_points")
# SQLite's keys have no names: batch mode names them by this convention to drop them.
_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in _TABLES:
        keys = [key for key in inspector.get_foreign_keys(table) if key["referred_table"] == "jobs"]
        if not keys:
            continue
        if bind.dialect.name == "sqlite":
            # SQLite cannot drop a key: the table is copied without it (once, on the first open).
            with op.batch_alter_table(table, naming_convention=_NAMES) as batch:
                batch.drop_constraint(f"fk_{table}_job_id_jobs", type_="foreignkey")
        else:
            for key in keys:
                op.drop_constraint(str(key["name"]), table, type_="foreignkey")


def downgrade() -> None:
    for table in _TABLES:
        name = f"fk_{table}_job_id_jobs"
        if op.get_bind().dialect.name == "sqlite":
            with op.batch_alter_table(table, naming_convention=_NAMES) as batch:
                batch.create_foreign_key(name, "jobs", ["job_id"], ["id"])
        else:
            op.create_foreign_key(name, table, "jobs", ["job_id"], ["id"])
