"""Deleting a record's folders so that the registry and the files agree, even when a delete is interrupted.

A delete runs in one transaction: it deletes the rows first, then renames each of the record's
folders to ``<home>/.deleted/<kind>.<id>`` (renamed back if the transaction is not committed), and
removes them after the commit. A process killed after the commit leaves the folder in ``.deleted/``;
one killed between the rename and the commit leaves it there with its row still present (SQLite rolls
the delete back). Every later delete first reclaims ``.deleted/`` under the database's write lock, so
no other delete is half-way meanwhile: a folder whose row is gone is removed, one whose row is still
there goes back where it was. Opening a writable home reclaims too, so an interrupted delete is
finished or undone by the next command.

Folders outside ``.deleted/`` without a row are never touched (see ``models._past_orphan_folders``):
they may belong to a database that was moved away.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import store

__all__ = ["Trash"]

_ENTRY = re.compile(r"(model|job-files|job-run)\.([0-9]{1,18})")


class Trash:
    """The ``.deleted`` folder of one home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.root = home / ".deleted"

    def pending(self) -> bool:
        return self.root.is_dir() and any(self.root.iterdir())

    def origin(self, kind: str, record_id: int) -> Path:
        """Where a record's folder lives while the record exists."""
        if kind == "model":
            return self.home / "models" / str(record_id)
        if kind == "job-files":
            return self.home / "files" / "jobs" / str(record_id)
        return self.home / "runs" / str(record_id)

    def put(self, kind: str, record_id: int, placed: list[tuple[Path, Path]]) -> None:
        """Move the record's folder, if it has one, into the trash; ``placed`` records the move for undo."""
        source = self.origin(kind, record_id)
        if not source.exists() and not source.is_symlink():
            return
        self.root.mkdir(exist_ok=True)
        target = self.root / f"{kind}.{record_id}"
        if target.exists():  # an earlier, rolled-back attempt of this delete whose restore did not happen
            shutil.rmtree(target, ignore_errors=True)
        source.rename(target)
        placed.append((target, source))

    @staticmethod
    def undo(placed: list[tuple[Path, Path]]) -> None:
        while placed:
            target, source = placed.pop()
            target.rename(source)

    @staticmethod
    def empty(placed: list[tuple[Path, Path]]) -> None:
        for target, _ in placed:
            shutil.rmtree(target, ignore_errors=True)

    def reclaim(self, conn: Connection) -> None:
        """Remove what committed deletes left, restore what uncommitted ones moved. Takes the write lock."""
        # A write statement, even one that changes nothing, takes SQLite's write lock (on PostgreSQL
        # Registry.write holds its write lock already): no other delete can be between its rename
        # and its commit while we look.
        conn.execute(store.models.delete().where(store.models.c.id == -1))
        if not self.root.is_dir():
            return
        for entry in sorted(self.root.iterdir()):
            match = _ENTRY.fullmatch(entry.name)
            if match is None:
                continue
            kind, record_id = match.group(1), int(match.group(2))
            table = store.models if kind == "model" else store.jobs
            if conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first() is None:
                shutil.rmtree(entry, ignore_errors=True)
                continue
            origin = self.origin(kind, record_id)
            if not origin.exists():
                origin.parent.mkdir(parents=True, exist_ok=True)
                entry.rename(origin)
