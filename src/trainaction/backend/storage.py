"""Opening the server's storage (a stand-in with the agreed interface; the storage module replaces it)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from .local import LocalBackend

__all__ = ["open_storage"]


def open_storage(db_url: str | None, artifacts: Path) -> LocalBackend:
    """``db_url`` None: the SQLite database of the home folder ``artifacts``."""
    if db_url is None:
        return LocalBackend(artifacts)
    return LocalBackend(artifacts, engine=sa.create_engine(db_url))
