"""The server's storage from a database URL (stand-in with the agreed interface; the full module replaces it)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from .local import LocalBackend

__all__ = ["open_storage"]


def open_storage(db_url: str | None, artifacts: Path) -> LocalBackend:
    """The embedded backend's code over ``db_url`` (None: the SQLite database in ``artifacts``)."""
    if db_url is None:
        return LocalBackend(artifacts)
    return LocalBackend(artifacts, engine=sa.create_engine(db_url))
