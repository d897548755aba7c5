"""Alembic's environment: configured by :func:`trainaction.backend.migrate.upgrade`, never by an alembic.ini.

The caller hands over an open connection (in ``config.attributes["connection"]``), already inside
the transaction that holds the upgrade's lock, so every revision runs in that transaction.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
# render_as_batch: SQLite alters a table by copying it; Alembic's batch mode does that when a
# revision needs it, and is a no-op elsewhere.
context.configure(connection=connection, render_as_batch=True, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
