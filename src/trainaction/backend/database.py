"""The embedded database file: recognised before it is used, created whole, its schema set up under a lock.

A file that is not ours (empty, truncated, random bytes, another program's SQLite database) is
reported and left exactly as it is: taking it for a new database would hand out ids whose model
folders already exist. We mark our databases with SQLite's ``application_id``; a database from
before the mark (no mark, but our tables) is still ours and gets the mark.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import struct
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import StoreError
from .migrate import upgrade

__all__ = [
    "APPLICATION_ID",
    "DB_NAME",
    "check_database",
    "create_database",
    "is_locked",
    "open_sqlite",
    "read_only_engine",
    "schema_lock",
    "sqlite_engine",
]

DB_NAME = "trainaction.db"
# "TrAc": in the header of every database trainaction creates (PRAGMA application_id).
APPLICATION_ID = 0x54724163
_OUR_TABLES = frozenset({"datasets", "jobs", "models"})
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
# serialization_failure, deadlock_detected, lock_not_available
_PG_RETRY = frozenset({"40001", "40P01", "55P03"})


def not_ours(path: Path, reason: str) -> StoreError:
    return StoreError(f"`{path}` is not a trainaction database ({reason}); move it away to start a new one")


def check_database(path: Path) -> bool:
    """Raise StoreError unless ``path`` is a trainaction database; True when it lacks our mark.

    Reads the file's header only (and, for an unmarked file, its table names), so a file that is
    not ours is never changed: no WAL switch, no journal, no table created.
    """
    if path.is_dir():
        raise not_ours(path, "it is a folder")
    size = path.stat().st_size
    if size == 0:
        raise not_ours(path, "it is empty, 0 bytes")
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
        raise not_ours(path, "it is not an SQLite database file")
    application_id = struct.unpack(">I", header[68:72])[0]
    if application_id not in (0, APPLICATION_ID):
        raise not_ours(path, f"it belongs to another program: SQLite application_id {application_id:#x}")
    _check_length(path, header, size)
    if application_id == APPLICATION_ID:
        return False
    tables = _table_names(path)
    if not _OUR_TABLES <= tables:
        listed = ", ".join(sorted(tables)) if tables else "no tables"
        raise not_ours(path, f"an SQLite database without trainaction's tables; it has {listed}")
    return True


def _check_length(path: Path, header: bytes, size: int) -> None:
    """A file shorter than its header says was cut off (a failed copy, a full disk)."""
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages, valid_for = (struct.unpack(">I", header[i : i + 4])[0] for i in (24, 28, 92))
    # While a WAL file holds pages, a checkpoint may be growing the file right now; then SQLite itself
    # reports the damage, when it reads a missing page, and `sqlite_engine` translates that.
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return
    if change_counter == valid_for and pages and size < pages * page_size:
        raise not_ours(path, f"it is truncated: {size} bytes where its header says {pages * page_size}")


def _table_names(path: Path) -> set[str]:
    try:
        connection = sqlite3.connect(path)
        try:
            return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise not_ours(path, f"it is damaged: {exc}") from None


@contextlib.contextmanager
def schema_lock(home: Path, name: str = DB_NAME) -> Iterator[None]:
    """Exclusive between processes: several first commands on a new home must not all create the tables."""
    with open(home / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_database(path: Path) -> None:
    """Build a new, marked database beside ``path``, its schema at the latest revision, and rename it
    into place: a crash never leaves a 0-byte or half-made ``trainaction.db``. Call under :func:`schema_lock`."""

    for stale in path.parent.glob(f"{path.name}.new-*"):  # left by a crash; nobody else creates under the lock
        stale.unlink()
    building = path.with_name(f"{path.name}.new-{os.getpid()}")
    engine = sqlite_engine(building)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection closing folds the WAL into the file and removes it
    os.rename(building, path)


def open_sqlite(path: Path, lock_timeout: float = 30.0) -> Engine:
    """The engine of our database at ``path``, created (whole, marked) when missing. Call under
    :func:`schema_lock`; the caller upgrades its schema (:func:`.migrate.upgrade`)."""
    if not path.exists():
        create_database(path)
    unmarked = check_database(path)  # again: another command may have made it while we waited
    engine = sqlite_engine(path, lock_timeout)
    if unmarked:  # made before databases were marked: ours, and marked from now on
        mark_database(engine)
    return engine


def mark_database(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")


def sqlite_engine(path: Path, timeout: float = 30.0) -> Engine:
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": timeout})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # WAL lets `trainaction jobs ...` read while a job writes; NORMAL sync is durable in WAL mode
        # against process crashes, which is what a job's record must survive.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    _report_damage(engine, path)
    return engine


def _report_damage(engine: Engine, path: Path) -> None:
    @sa.event.listens_for(engine, "handle_error")
    def _damaged(context: Any) -> None:
        # Damage the header check cannot see (a page missing in the middle) surfaces on a read.
        original = context.original_exception
        if isinstance(original, sqlite3.DatabaseError) and getattr(original, "sqlite_errorname", "") in _CORRUPT:
            raise not_ours(path, f"it is damaged: {original}") from original


def read_only_engine(path: Path) -> Engine:
    """An engine that never writes, for a home this process cannot change.

    SQLite reads a WAL database read-only when its ``-shm`` file exists; in a read-only folder
    without one (the last writer closed cleanly), it cannot make one, and the database is read as
    immutable instead: nothing can be writing it there, so nothing is missed.
    """
    shm = path.with_name(path.name + "-shm")
    mode = "mode=ro" if shm.exists() else "immutable=1"
    engine = sa.create_engine(f"sqlite:///file:{urllib.parse.quote(str(path))}?{mode}&uri=true")
    _report_damage(engine, path)
    return engine


def is_locked(exc: BaseException) -> bool:
    """A write another writer got in the way of, worth trying again: SQLITE_BUSY after the busy timeout
    (or at once when a read snapshot is too old to write); on PostgreSQL a serialisation failure, a
    deadlock, a lock not granted, or a batch id another connection stored first (the retry sees it)."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, sqlite3.OperationalError):
        return getattr(original, "sqlite_errorname", "").startswith("SQLITE_BUSY") or "database is locked" in str(
            original
        )
    state = getattr(original, "sqlstate", None)  # psycopg's errors carry the SQLSTATE
    if state in _PG_RETRY:
        return True
    return state == "23505" and getattr(getattr(original, "diag", None), "constraint_name", None) == "batches_pkey"
