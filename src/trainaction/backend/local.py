"""The embedded backend: SQLite (WAL) for records, a folder for files. Nothing to start."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import NotFoundError
from ..events import Event
from . import store
from .base import FINISHED_STATUSES, DatasetRecord, JobRecord, ModelRecord

__all__ = ["LocalBackend"]

# How much one streaming read holds: events are small; log chunks range from a line to megabytes.
_EVENT_PAGE = 5000
_LOG_ROWS = 16


def _sqlite_engine(path: Path) -> Engine:
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # WAL lets `trainaction jobs ...` read while a job writes; NORMAL sync is durable in WAL mode
        # against process crashes, which is what a job's record must survive.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _file_list(root: Path) -> list[dict[str, Any]]:
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        files.append({"path": path.relative_to(root).as_posix(), "size": path.stat().st_size, "sha256": digest.hexdigest()})
    return files


def _manifest_sha256(files: list[dict[str, Any]]) -> str:
    """One digest for a model folder: identical folders hash identically, whatever their mtimes."""
    digest = hashlib.sha256()
    for entry in files:
        digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()


class LocalBackend:
    """SQLite database ``trainaction.db`` and artifact folders under ``home``."""

    def __init__(self, home: str | Path, engine: Engine | None = None) -> None:
        self.home = Path(home).expanduser()
        self.home.mkdir(parents=True, exist_ok=True)
        self._engine = engine or _sqlite_engine(self.home / "trainaction.db")
        store.metadata.create_all(self._engine)

    # datasets ---------------------------------------------------------------------------------

    def add_dataset(self, source: Path, name: str, metadata: dict[str, Any] | None = None) -> DatasetRecord:
        source = Path(source).expanduser().resolve()
        if not source.is_dir():
            raise NotFoundError(f"dataset folder '{source}' does not exist or is not a folder")
        files = [{"path": f["path"], "size": f["size"]} for f in _file_list(source)]
        # Registered in place, not copied: datasets are often large and already where they belong.
        with self._engine.begin() as conn:
            new_id = conn.execute(
                store.datasets.insert().values(
                    name=name, location=str(source), files=files, metadata=metadata or {}, created_at=time.time()
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        return self.get_dataset(new_id)

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        row = self._one(store.datasets, dataset_id, "dataset", "trainaction dataset list")
        return DatasetRecord(**row)

    def list_datasets(self) -> list[DatasetRecord]:
        return [DatasetRecord(**row) for row in self._all(store.datasets.select().order_by(store.datasets.c.id))]

    def dataset_path(self, dataset_id: int) -> Path:
        location = Path(self.get_dataset(dataset_id).location)
        if not location.is_dir():
            raise NotFoundError(f"dataset {dataset_id}'s folder '{location}' no longer exists; register it again")
        return location

    # jobs -------------------------------------------------------------------------------------

    def create_job(self, action: str, params: dict[str, Any], name: str, display_name: str) -> JobRecord:
        with self._engine.begin() as conn:
            new_id = conn.execute(
                store.jobs.insert().values(
                    action=action, params=params, name=name, display_name=display_name, status="PENDING",
                    progress={}, progress_percent=0.0, created_at=time.time(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        return self.get_job(new_id)

    def get_job(self, job_id: int) -> JobRecord:
        return JobRecord(**self._one(store.jobs, job_id, "job", "trainaction jobs list"))

    def list_jobs(self) -> list[JobRecord]:
        return [JobRecord(**row) for row in self._all(store.jobs.select().order_by(store.jobs.c.id))]

    def update_job(
        self,
        job_id: int,
        *,
        status: str | None = None,
        progress: dict[str, Any] | None = None,
        progress_percent: float | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        best_trial: str | None = None,
    ) -> JobRecord:
        values: dict[str, Any] = {
            key: value
            for key, value in {
                "status": status, "progress": progress, "progress_percent": progress_percent,
                "result": result, "error": error, "best_trial": best_trial,
            }.items()
            if value is not None
        }
        if status == "RUNNING":
            values["started_at"] = time.time()
        if status in FINISHED_STATUSES:
            values["finished_at"] = time.time()
        with self._engine.begin() as conn:
            updated = conn.execute(store.jobs.update().where(store.jobs.c.id == job_id).values(**values)).rowcount
        if not updated:
            raise NotFoundError(f"job {job_id} does not exist; see `trainaction jobs list`")
        return self.get_job(job_id)

    def append_log(self, job_id: int, text: str) -> None:
        if text:
            with self._engine.begin() as conn:
                conn.execute(store.job_logs.insert().values(job_id=job_id, text=text))

    def read_log(self, job_id: int) -> str:
        self.get_job(job_id)
        query = sa.select(store.job_logs.c.text).where(store.job_logs.c.job_id == job_id).order_by(store.job_logs.c.id)
        with self._engine.connect() as conn:
            return "".join(conn.execute(query).scalars())

    def iter_log(self, job_id: int) -> Iterator[str]:
        """The job's log in the chunks it was written in: memory stays flat for any size.

        One query, read a few rows at a time (SQLite hands rows over as they are stepped): chunks
        range from a line to megabytes, so pages sized in rows or measured first cost more."""
        self.get_job(job_id)
        table = store.job_logs
        query = sa.select(table.c.text).where(table.c.job_id == job_id).order_by(table.c.id)

        def chunks() -> Iterator[str]:
            with self._engine.connect() as conn:
                yield from conn.execution_options(yield_per=_LOG_ROWS).execute(query).scalars()

        return chunks()

    def add_events(self, job_id: int, events: Sequence[Event]) -> None:
        if not events:
            return
        rows = [
            {"job_id": job_id, "type": e.type, "trial_id": e.trial_id, "data": e.data, "time": e.time} for e in events
        ]
        with self._engine.begin() as conn:
            conn.execute(store.events.insert(), rows)

    def list_events(self, job_id: int, type: str | None = None) -> list[Event]:
        self.get_job(job_id)
        query = sa.select(store.events.c.type, store.events.c.data, store.events.c.time).where(
            store.events.c.job_id == job_id
        )
        if type is not None:
            query = query.where(store.events.c.type == type)
        with self._engine.connect() as conn:
            return [Event(*row) for row in conn.execute(query.order_by(store.events.c.id))]

    def iter_events(
        self, job_id: int, type: str | None = None, after: int | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        """A job's events in order, each with its ``id``; those after event ``after``, at most ``limit``.

        Keyset pages of a few thousand rows, each read in its own short transaction: memory stays
        flat for a million events, and a job still writing is not blocked. Raises at the call (not
        at the first item) when the job does not exist."""
        self.get_job(job_id)
        events = store.events
        with self._engine.connect() as conn:
            top = conn.execute(sa.select(sa.func.max(events.c.id)).where(events.c.job_id == job_id)).scalar()

        def pages() -> Iterator[Event]:
            last, left = after or 0, limit
            while top is not None and (left is None or left > 0):
                size = _EVENT_PAGE if left is None else min(_EVENT_PAGE, left)
                query = sa.select(events.c.id, events.c.type, events.c.data, events.c.time).where(events.c.id > last)
                if type is None:
                    # "job_id + 0" keeps SQLite off the (job_id, type) index, which would sort the whole
                    # job for every page; the id range [last, top] is walked in order instead.
                    query = query.where(events.c.id <= top, events.c.job_id + 0 == job_id)
                else:
                    query = query.where(events.c.job_id == job_id, events.c.type == type)
                with self._engine.connect() as conn:
                    rows = conn.execute(query.order_by(events.c.id).limit(size)).all()
                for row in rows:
                    yield Event(row.type, row.data, row.time, id=row.id)
                if len(rows) < size:
                    return
                last = rows[-1].id
                if left is not None:
                    left -= len(rows)

        return pages()

    def put_file(self, job_id: int, name: str, content: bytes) -> str:
        key = f"jobs/{job_id}/{name}"
        path = self.home / "files" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return key

    def read_file(self, key: str) -> bytes:
        path = (self.home / "files" / key).resolve()
        if not path.is_relative_to((self.home / "files").resolve()) or not path.is_file():
            raise NotFoundError(f"file '{key}' does not exist")
        return path.read_bytes()

    # models -----------------------------------------------------------------------------------

    def add_model(
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
        if not source.exists():
            raise NotFoundError(f"model files '{source}' do not exist")
        with self._engine.begin() as conn:
            model_id = conn.execute(
                store.models.insert().values(
                    name=name, job_id=job_id, trial_id=trial_id, config=config or {}, metrics=metrics or {},
                    files=[], size=0, sha256="", created_at=time.time(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            target = self.home / "models" / str(model_id)
            shutil.rmtree(target, ignore_errors=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                target.mkdir(parents=True)
                shutil.copy2(source, target / source.name)
            files = _file_list(target)
            conn.execute(
                store.models.update()
                .where(store.models.c.id == model_id)
                .values(files=files, size=sum(f["size"] for f in files), sha256=_manifest_sha256(files))
            )
        return self.get_model(model_id)

    def get_model(self, model_id: int) -> ModelRecord:
        return ModelRecord(**self._one(store.models, model_id, "model", "trainaction models list"))

    def list_models(self, job_id: int | None = None) -> list[ModelRecord]:
        query = store.models.select().order_by(store.models.c.id)
        if job_id is not None:
            query = query.where(store.models.c.job_id == job_id)
        return [ModelRecord(**row) for row in self._all(query)]

    def model_path(self, model_id: int) -> Path:
        self.get_model(model_id)
        return self.home / "models" / str(model_id)

    # helpers ----------------------------------------------------------------------------------

    def _one(self, table: sa.Table, record_id: int, what: str, hint: str) -> dict[str, Any]:
        with self._engine.connect() as conn:
            row = conn.execute(table.select().where(table.c.id == record_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"{what} {record_id} does not exist; see `{hint}`")
        return dict(row)

    def _all(self, query: Any) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]
