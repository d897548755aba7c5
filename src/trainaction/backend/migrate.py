"""The schema's revisions applied to a database: the embedded one on open, the server's on start.

Alembic is configured here, in code (no alembic.ini): the package ships ``migrations/env.py`` and
``migrations/versions/``. Every upgrade runs in one transaction of the caller's engine, under a lock
that several processes opening one new database at once all wait on: PostgreSQL's advisory lock
here; for SQLite the caller holds :func:`.database.schema_lock` (SQLite's own write lock is taken
too late, at the first write, to stop two processes both reading "no tables yet").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["BASE", "HEAD", "REVISIONS", "current_revision", "describe", "schema_gaps", "upgrade"]

BASE = "0001"
HEAD = "0005"
REVISIONS = ("0001", "0002", "0003", "0004", "0005")
# Any fixed number, the same in every process: pg_advisory_xact_lock's key for "upgrading the schema".
_LOCK_KEY = 0x54724163
_OUR_TABLES = ("datasets", "jobs", "models")
_SCRIPTS = Path(__file__).with_name("migrations")


def describe(engine: Engine) -> str:
    """The database for messages: its file, or its URL without the password."""
    if engine.dialect.name == "sqlite":
        return f"'{engine.url.database}'"
    return f"'{engine.url.render_as_string(hide_password=True)}'"


def upgrade(engine: Engine, revision: str = HEAD) -> str | None:
    """Bring the database to ``revision``; returns the revision it was at (None: new, or made before migrations).

    A database with our tables but no ``alembic_version`` was made before migrations: it gets the
    nullable columns the first release added later, is stamped ``0001``, then upgraded."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        found = current_revision(conn)
        if found == revision:
            return found
        if found is not None and found not in REVISIONS:
            raise StoreError(
                f"the database {describe(engine)} is at schema revision {found}, made by a newer trainaction "
                f"(this one knows revisions up to {HEAD}); upgrade trainaction to use it"
            )
        # Alembic is imported only here: every command opens the database, few upgrade it.
        from alembic import command

        if found is None and _has_our_tables(conn):
            _add_missing_columns(conn)
            command.stamp(_config(conn), BASE)
        command.upgrade(_config(conn), revision)
        return found


def current_revision(conn: Connection | Engine) -> str | None:
    """The revision stamped in the database, or None when it has no ``alembic_version`` table."""
    if isinstance(conn, Engine):
        with conn.connect() as connection:
            return current_revision(connection)
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


def schema_gaps(engine: Engine) -> list[str]:
    """The first release's tables and columns this database lacks (``table`` or ``table.column``).

    For a database that cannot be upgraded (a read-only home): without gaps it is read as it is."""
    inspector = sa.inspect(engine)
    gaps = []
    for table in _first_release_tables():
        if not inspector.has_table(table.name):
            gaps.append(table.name)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        gaps += [f"{table.name}.{column.name}" for column in table.columns if column.name not in present]
    return gaps


def _has_our_tables(conn: Connection) -> bool:
    inspector = sa.inspect(conn)
    return all(inspector.has_table(name) for name in _OUR_TABLES)


def _add_missing_columns(conn: Connection) -> None:
    """The nullable columns added to the first release's tables before there were migrations (the
    runner columns of ``jobs``): a database made before them lacks them; ``0001`` assumes them."""
    inspector = sa.inspect(conn)
    for table in _first_release_tables():
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))


def _first_release_tables() -> list[sa.Table]:
    from .migrations.versions import r0001_first_release

    return r0001_first_release.tables(sa.MetaData())


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = conn  # read by migrations/env.py
    return config
