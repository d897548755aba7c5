"""The team server's storage: the embedded backend's code over the database ``--db`` names.

``None`` is the embedded SQLite database in the artifacts folder; ``sqlite:///PATH`` another
SQLite file; ``postgresql://…`` (or ``postgresql+psycopg://…``) PostgreSQL through psycopg 3.
The schema is upgraded on open, as for the embedded backend.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import StoreError
from .database import DB_NAME, open_sqlite, schema_lock
from .local import LocalBackend
from .migrate import describe

__all__ = ["SCHEMES", "database_engine", "open_storage"]

SCHEMES = ("sqlite:///PATH", "postgresql://USER@HOST[:PORT]/DATABASE", "postgresql+psycopg://…")
_POSTGRES = ("postgresql", "postgresql+psycopg")


def open_storage(db_url: str | None, artifacts: Path) -> LocalBackend:
    """The server's storage: records in the database ``db_url`` names, files under ``artifacts``."""
    artifacts = Path(artifacts).expanduser()
    if db_url is None:
        return LocalBackend(artifacts)
    engine = database_engine(db_url)
    if engine.dialect.name == "sqlite" and Path(str(engine.url.database)).resolve() == (artifacts / DB_NAME).resolve():
        engine.dispose()
        return LocalBackend(artifacts)
    try:
        return LocalBackend(artifacts, engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(_unreachable(engine, exc)) from None


def database_engine(db_url: str) -> Engine:
    """An engine for ``db_url``: a SQLite file (made, like the embedded one, when missing) or PostgreSQL."""
    scheme = db_url.split("://", 1)[0].lower() if "://" in db_url else ""
    if scheme not in ("sqlite", *_POSTGRES):
        shown = f"the scheme '{scheme}'" if scheme else "a value without a scheme"
        raise StoreError(f"--db: {shown} is not a database URL trainaction can use; use one of {', '.join(SCHEMES)}")
    try:
        url = sa.engine.make_url(db_url)
    except sa.exc.ArgumentError:
        raise StoreError(f"--db: not a valid {scheme} URL; use one of {', '.join(SCHEMES)}") from None
    if scheme == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StoreError("--db: sqlite:/// needs a file path, e.g. sqlite:////srv/trainaction/records.db")
        path = Path(url.database).expanduser().absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        with schema_lock(path.parent, path.name):
            return open_sqlite(path)
    # psycopg 3 for both spellings; pre-ping: a server restarted under us costs one reconnect, not an error.
    # Big event batches go out as multi-row INSERTs (SQLAlchemy's "insertmanyvalues", on for psycopg).
    return sa.create_engine(
        url.set(drivername="postgresql+psycopg"),
        pool_pre_ping=True,
        pool_size=8,
        max_overflow=16,
        use_insertmanyvalues=True,
    )


def _unreachable(engine: Engine, exc: sa.exc.OperationalError) -> str:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "no answer"
    return (
        f"--db: cannot open the database {describe(engine)}: {reason}; check that PostgreSQL runs there "
        "and the database exists (createdb NAME)"
    )
