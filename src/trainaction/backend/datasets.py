"""The embedded backend's datasets: folders registered in place, never copied."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ..errors import InUseError, NotFoundError, PathError
from . import store
from .base import DatasetRecord, Deletion
from .files import walk
from .registry import Registry

__all__ = ["DatasetStore"]


class DatasetStore:
    def __init__(self, home: Path, registry: Registry) -> None:
        self.home = home
        self.registry = registry

    def add(self, source: Path, name: str, metadata: dict[str, Any] | None = None) -> DatasetRecord:
        """Register the folder ``source`` in place; an empty ``name`` means the folder's name."""
        source = self._folder(Path(source).expanduser())
        what = f"dataset folder '{source}'"
        files = [{"path": path, "size": os.stat(real).st_size} for path, real in walk(source, what)]
        # Registered in place, not copied: datasets are often large and already where they belong.
        new_id = self.registry.write(
            lambda conn: conn.execute(
                store.datasets.insert().values(
                    name=name or source.name,
                    location=str(source),
                    files=files,
                    metadata=metadata or {},
                    created_at=time.time(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        return self.get(new_id)

    def _folder(self, source: Path) -> Path:
        try:
            os.stat(source)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathError(
                    f"dataset folder '{source}' is a symlink loop; give the folder that holds the files"
                ) from None
        real = Path(os.path.realpath(source))
        if not real.is_dir():
            raise NotFoundError(f"dataset folder '{source}' does not exist or is not a folder")
        if real == Path(real.anchor):
            raise PathError(
                f"dataset folder '{source}' is the root folder, which holds every file on this machine; "
                "give the folder that holds the dataset's files"
            )
        home = self.home.resolve()
        if home.is_relative_to(real):
            where = "is trainaction's home folder" if home == real else f"contains trainaction's home folder '{home}'"
            raise PathError(
                f"dataset folder '{source}' {where}, whose database and models change while jobs run; "
                "give a folder that holds only the dataset's files"
            )
        return real

    def get(self, dataset_id: int) -> DatasetRecord:
        return DatasetRecord(**self.registry.one(store.datasets, dataset_id, "dataset", "trainaction dataset list"))

    def records(self) -> list[DatasetRecord]:
        return [
            DatasetRecord(**row) for row in self.registry.all(store.datasets.select().order_by(store.datasets.c.id))
        ]

    def path(self, dataset_id: int) -> Path:
        location = Path(self.get(dataset_id).location)
        if not location.is_dir():
            raise NotFoundError(f"dataset {dataset_id}'s folder '{location}' no longer exists; register it again")
        return location

    def remove(self, dataset_id: int, running: list[int], *, dry_run: bool) -> Deletion:
        """Forget the dataset. Its folder is the user's (registered in place) and stays where it is.
        ``running``: the RUNNING jobs that use it, read by the caller; a job reading it must not lose it."""
        record = self.get(dataset_id)
        if running:
            ids = ", ".join(str(j) for j in running)
            raise InUseError(f"dataset {dataset_id} is not removed: RUNNING job(s) {ids} use it; wait until they end")
        plan = Deletion("dataset", dataset_id, [f"dataset {dataset_id} '{record.name}'"], [], 0, False)
        if dry_run:
            return plan

        def work(conn: Connection) -> None:
            if not conn.execute(store.datasets.delete().where(store.datasets.c.id == dataset_id)).rowcount:
                raise NotFoundError(f"dataset {dataset_id} does not exist; see `trainaction dataset list`")

        self.registry.write(work)
        return Deletion(**{**plan.__dict__, "deleted": True})
