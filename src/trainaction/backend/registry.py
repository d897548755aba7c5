"""The embedded backend's SQL access: reads by id, and writes retried while another process holds the lock.

Shared by the stores of :mod:`.local`, :mod:`.models` and :mod:`.datasets`, so each keeps to its own records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import DatabaseLockedError, NotFoundError, StoreError
from .database import is_locked
from .migrate import describe

__all__ = ["Registry", "in_range"]

T = TypeVar("T")

# SQLite's integer range: a larger id cannot be bound, so it is simply not there.
_MAX_ID = 2**63 - 1
# A write still refused after the busy timeout (or at once, for a stale WAL snapshot) is tried
# again after these pauses, then reported; a job must not die of one slow neighbour.
_RETRY_PAUSES = (0.2, 1.0, 3.0)
# pg_advisory_xact_lock's key for "writing": see Registry.write.
_WRITE_LOCK = 0x54724164


def in_range(record_id: int) -> bool:
    return 0 < record_id <= _MAX_ID


class Registry:
    """One database: ``engine`` over ``db_path``; ``read_only`` when the home folder cannot be written."""

    def __init__(self, engine: Engine, db_path: Path, lock_timeout: float, *, read_only: bool = False) -> None:
        self.engine = engine
        self.db_path = db_path
        self.lock_timeout = lock_timeout
        self.read_only = read_only

    def one(self, table: sa.Table, record_id: int, what: str, hint: str) -> dict[str, Any]:
        row = None
        if in_range(record_id):
            with self.engine.connect() as conn:
                row = conn.execute(table.select().where(table.c.id == record_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"{what} {record_id} does not exist; see `{hint}`")
        return dict(row)

    def all(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def write(self, work: Callable[[Connection], T], undo: Callable[[], None] | None = None) -> T:
        """Run ``work`` in one transaction; retried while another process holds the database's lock.

        ``undo`` reverses what ``work`` did outside the database, when its transaction is not committed.
        """
        if self.read_only:
            raise StoreError(
                f"the home folder '{self.db_path.parent}' is read-only: it can be read, not changed; "
                "use a writable copy (set TRAINACTION_HOME) to run jobs or change records"
            )
        postgres = self.engine.dialect.name == "postgresql"
        for pause in (*_RETRY_PAUSES, None):
            try:
                with self.engine.begin() as conn:
                    if postgres:
                        # One writer at a time, as SQLite's write lock makes it: the stores rely on it
                        # (a model's id checked against the folders, the trash read while nobody moves).
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK})
                    return work(conn)
            except Exception as exc:
                if undo is not None:
                    undo()
                if not is_locked(exc):
                    raise
                if pause is None:
                    where = f"'{self.db_path}'" if self.engine.dialect.name == "sqlite" else describe(self.engine)
                    raise DatabaseLockedError(
                        f"the database {where} stayed locked by another process through "
                        f"{len(_RETRY_PAUSES) + 1} attempts of {self.lock_timeout:g} s; another trainaction "
                        "command is writing to it — try again when it has finished"
                    ) from None
            time.sleep(pause)
        raise AssertionError("unreachable")
