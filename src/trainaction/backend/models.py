"""The embedded backend's models: rows in the registry, files under ``<home>/models/<id>/``."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import InUseError, NotFoundError, StoreError
from . import store
from .base import Deletion, ModelRecord
from .files import copy_tree, file_list, manifest_sha256, verify_files
from .registry import Registry, in_range
from .trash import Trash

__all__ = ["ModelStore", "model_references"]


class ModelStore:
    def __init__(self, home: Path, registry: Registry, trash: Trash) -> None:
        self.home = home
        self.registry = registry
        self.trash = trash

    def add(
        self,
        name: str,
        source: Path,
        *,
        job_id: int | None = None,
        trial_id: str | None = None,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> ModelRecord:
        source = Path(source)
        if not source.exists() and not source.is_symlink():
            raise NotFoundError(f"model files '{source}' do not exist")
        models = self.home / "models"
        models.mkdir(exist_ok=True)
        # Copied and hashed under a name no id can have, then renamed into place in the transaction
        # that registers it: a crash never leaves half a model under a registered id.
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=models))
        placed: list[Path] = []

        def register(conn: Connection) -> int:
            model_id = conn.execute(
                store.models.insert().values(
                    name=name,
                    job_id=job_id,
                    trial_id=trial_id,
                    config=config or {},
                    metrics=metrics or {},
                    files=files,
                    size=sum(f["size"] for f in files),
                    sha256=manifest_sha256(files),
                    created_at=time.time(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            model_id = _past_orphan_folders(conn, models, model_id)
            target = models / str(model_id)
            if target.exists() or target.is_symlink():
                raise StoreError(f"'{target}' already exists; move it away (it belongs to no stored model)")
            staging.rename(target)
            placed.append(target)
            return model_id

        def undo() -> None:  # the row was not committed, so neither is its folder
            while placed:
                placed.pop().rename(staging)

        try:
            copy_tree(source, staging, f"model files '{source}'")
            files = file_list(staging, f"model files '{source}'")
            model_id = self.registry.write(register, undo)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.get(model_id)

    def get(self, model_id: int) -> ModelRecord:
        return ModelRecord(**self.registry.one(store.models, model_id, "model", "trainaction models list"))

    def records(self, job_id: int | None = None) -> list[ModelRecord]:
        query = store.models.select().order_by(store.models.c.id)
        if job_id is not None and not in_range(job_id):
            return []
        if job_id is not None:
            query = query.where(store.models.c.job_id == job_id)
        return [ModelRecord(**row) for row in self.registry.all(query)]

    def path(self, model_id: int) -> Path:
        """The stored folder, after checking every file against the sha256 it was stored with."""
        record = self.get(model_id)
        folder = self.home / "models" / str(model_id)
        verify_files(folder, record.files, f"model {model_id}")
        return folder

    def delete(self, model_id: int, *, force: bool, dry_run: bool) -> Deletion:
        record = self.get(model_id)
        refusal = in_use(model_references(self.registry, [record], {record.job_id}), force)
        if refusal:
            raise InUseError(f"model {model_id} is not deleted: {refusal}")
        folder = self.home / "models" / str(model_id)
        plan = Deletion("model", model_id, [f"model {model_id} '{record.name}'"], [str(folder)], record.size, False)
        if dry_run:
            return plan
        placed: list[tuple[Path, Path]] = []
        self.registry.write(self.trash.reclaim)

        def work(conn: Connection) -> None:
            if not conn.execute(store.models.delete().where(store.models.c.id == model_id)).rowcount:
                raise NotFoundError(f"model {model_id} does not exist; see `trainaction models list`")
            self.trash.put("model", model_id, placed)

        self.registry.write(work, lambda: Trash.undo(placed))
        Trash.empty(placed)
        return Deletion(**{**plan.__dict__, "deleted": True})


def model_references(
    registry: Registry, models: list[ModelRecord], exclude_jobs: set[int | None]
) -> list[tuple[int, int, str, str]]:
    """(model id, job id, job status, how) for every job outside ``exclude_jobs`` that refers to a model:
    as its checkpoint, or in its result (``model_id``, a trial's model)."""
    ids = {m.id for m in models}
    found = []
    for row in registry.all(store.jobs.select().order_by(store.jobs.c.id)):
        if row["id"] in exclude_jobs:
            continue
        checkpoint = (row["params"] or {}).get("checkpoint")
        result = row["result"] if isinstance(row["result"], dict) else {}
        named = {result.get("model_id")} | {
            t.get("model_id") for t in result.get("trial_models") or [] if isinstance(t, dict)
        }
        for model_id in sorted(ids):
            if checkpoint == model_id:
                found.append((model_id, row["id"], row["status"], "resumes from it (params.checkpoint)"))
            elif model_id in named:
                found.append((model_id, row["id"], row["status"], "names it in its result"))
    return found


def in_use(references: list[tuple[int, int, str, str]], force: bool) -> str:
    """Why these models cannot go now, or ''. A RUNNING job's checkpoint is never deleted under it."""
    running = [r for r in references if r[2] in ("RUNNING", "PENDING")]
    blocking = running if force else references
    if not blocking:
        return ""
    named = "; ".join(f"job {job_id} ({status}) {how}" for _, job_id, status, how in blocking[:5])
    more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
    ids = ", ".join(str(m) for m in sorted({r[0] for r in blocking}))
    fix = "wait until it ends" if running and force else "add --force to delete it anyway"
    return f"other jobs refer to model {ids}: {named}{more}; {fix}"


def _past_orphan_folders(conn: Connection, models: Path, model_id: int) -> int:
    """``model_id``, or a higher one when ``models/<id>`` or a later folder exists without a row.

    Such a folder belongs to no stored model (the database was moved away, or a crash came between the
    rename and the commit); it is never reused, deleted or overwritten. The caller holds the write lock
    (its insert took it on SQLite; Registry.write takes it first on PostgreSQL), so no other process is
    choosing an id meanwhile.
    """
    highest = max((int(p.name) for p in models.iterdir() if re.fullmatch(r"[0-9]{1,18}", p.name)), default=0)
    if model_id > highest:
        return model_id
    conn.execute(store.models.update().where(store.models.c.id == model_id).values(id=highest + 1))
    if conn.dialect.name == "postgresql":  # the sequence moves past it too, or a later insert collides
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('models', 'id'), :id)"), {"id": highest + 1})
    return highest + 1
