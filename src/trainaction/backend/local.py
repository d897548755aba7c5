"""The embedded backend: SQLite (WAL) for records, a folder for files. Nothing to start."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import DatabaseLockedError, NotFoundError, PathError, StoreError
from ..events import Event
from ..liveness import Runner, gone_message, runner_gone
from . import store
from .base import FINISHED_STATUSES, DatasetRecord, JobRecord, ModelRecord
from .database import DB_NAME, check_database, create_database, is_locked, mark_database, schema_lock, sqlite_engine
from .files import copy_tree, file_list, manifest_sha256, verify_files, walk

__all__ = ["LocalBackend"]

T = TypeVar("T")

# How much one streaming read holds: events are small; log chunks range from a line to megabytes.
_EVENT_PAGE = 5000
_LOG_ROWS = 16


# SQLite's integer range: a larger id cannot be bound, so it is simply not there.
_MAX_ID = 2**63 - 1
# A write still refused after the busy timeout (or at once, for a stale WAL snapshot) is tried
# again after these pauses, then reported; a job must not die of one slow neighbour.
_RETRY_PAUSES = (0.2, 1.0, 3.0)


class LocalBackend:
    """SQLite database ``trainaction.db`` and artifact folders under ``home``."""

    def __init__(self, home: str | Path, engine: Engine | None = None, *, lock_timeout: float = 30.0) -> None:
        """``lock_timeout``: seconds one write waits for another process's lock before it is retried."""
        self.home = Path(home).expanduser()
        self.db_path = self.home / DB_NAME
        self._lock_timeout = lock_timeout
        # Checked before anything is created in the home folder: a file that is not ours stays as it is.
        if engine is None and self.db_path.exists():
            check_database(self.db_path)
        self.home.mkdir(parents=True, exist_ok=True)
        with schema_lock(self.home):
            self._engine = engine or self._open_database(lock_timeout)
            store.metadata.create_all(self._engine)
            store.add_missing_columns(self._engine)

    def _open_database(self, lock_timeout: float) -> Engine:
        if not self.db_path.exists():
            create_database(self.db_path, store.metadata)
        unmarked = check_database(self.db_path)  # again: another command may have made it while we waited
        engine = sqlite_engine(self.db_path, lock_timeout)
        if unmarked:  # made before databases were marked: ours, and marked from now on
            mark_database(engine)
        return engine

    # datasets ---------------------------------------------------------------------------------

    def add_dataset(self, source: Path, name: str, metadata: dict[str, Any] | None = None) -> DatasetRecord:
        """Register the folder ``source`` in place; an empty ``name`` means the folder's name."""
        source = self._dataset_folder(Path(source).expanduser())
        what = f"dataset folder '{source}'"
        files = [{"path": path, "size": os.stat(real).st_size} for path, real in walk(source, what)]
        # Registered in place, not copied: datasets are often large and already where they belong.
        new_id = self._write(
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
        return self.get_dataset(new_id)

    def _dataset_folder(self, source: Path) -> Path:
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
        new_id = self._write(
            lambda conn: conn.execute(
                store.jobs.insert().values(
                    action=action,
                    params=params,
                    name=name,
                    display_name=display_name,
                    status="PENDING",
                    progress={},
                    progress_percent=0.0,
                    created_at=time.time(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        return self.get_job(new_id)

    def get_job(self, job_id: int) -> JobRecord:
        return self._alive_or_failed(self._one(store.jobs, job_id, "job", "trainaction jobs list"))

    def list_jobs(self) -> list[JobRecord]:
        return [self._alive_or_failed(row) for row in self._all(store.jobs.select().order_by(store.jobs.c.id))]

    def heartbeat(self, job_id: int, runner: Runner | None = None) -> None:
        values: dict[str, Any] = {"heartbeat_at": time.time()}
        query = store.jobs.update().where(store.jobs.c.id == job_id)
        if runner is None:
            query = query.where(store.jobs.c.status == "RUNNING")
        else:
            values.update(runner_host=runner.host, runner_pid=runner.pid, runner_start=runner.start)
        with self._engine.begin() as conn:
            conn.execute(query.values(**values))

    def _alive_or_failed(self, row: dict[str, Any]) -> JobRecord:
        """The job as it is: a RUNNING job whose runner is gone is recorded FAILED, once, here."""
        if row["status"] != "RUNNING" or not runner_gone(
            row["runner_host"], row["runner_pid"], row["runner_start"], row["heartbeat_at"]
        ):
            return JobRecord(**row)
        error = gone_message(row["heartbeat_at"])
        with self._engine.begin() as conn:
            # Only while still RUNNING: a real end recorded meanwhile is never overwritten.
            updated = conn.execute(
                store.jobs.update()
                .where(store.jobs.c.id == row["id"], store.jobs.c.status == "RUNNING")
                .values(status="FAILED", error=error, finished_at=row["heartbeat_at"] or time.time())
            ).rowcount
            if updated:
                text = f"[trainaction {time.strftime('%H:%M:%S')}] job {row['id']} failed: {error}\n"
                conn.execute(store.job_logs.insert().values(job_id=row["id"], text=text))
        return JobRecord(**self._one(store.jobs, row["id"], "job", "trainaction jobs list"))

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
                "status": status,
                "progress": progress,
                "progress_percent": progress_percent,
                "result": result,
                "error": error,
                "best_trial": best_trial,
            }.items()
            if value is not None
        }
        if status == "RUNNING":
            values["started_at"] = time.time()
        if status in FINISHED_STATUSES:
            values["finished_at"] = time.time()
        updated = _in_range(job_id) and self._write(
            lambda conn: conn.execute(store.jobs.update().where(store.jobs.c.id == job_id).values(**values)).rowcount
        )
        if not updated:
            raise NotFoundError(f"job {job_id} does not exist; see `trainaction jobs list`")
        return self.get_job(job_id)

    def append_log(self, job_id: int, text: str) -> None:
        if text:
            self._write(lambda conn: conn.execute(store.job_logs.insert().values(job_id=job_id, text=text)))

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
        self._write(lambda conn: conn.execute(store.events.insert(), rows))

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
            model_id = self._write(register, undo)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.get_model(model_id)

    def get_model(self, model_id: int) -> ModelRecord:
        return ModelRecord(**self._one(store.models, model_id, "model", "trainaction models list"))

    def list_models(self, job_id: int | None = None) -> list[ModelRecord]:
        query = store.models.select().order_by(store.models.c.id)
        if job_id is not None and not _in_range(job_id):
            return []
        if job_id is not None:
            query = query.where(store.models.c.job_id == job_id)
        return [ModelRecord(**row) for row in self._all(query)]

    def model_path(self, model_id: int) -> Path:
        """The stored folder, after checking every file against the sha256 it was stored with."""
        record = self.get_model(model_id)
        folder = self.home / "models" / str(model_id)
        verify_files(folder, record.files, f"model {model_id}")
        return folder

    # helpers ----------------------------------------------------------------------------------

    def _one(self, table: sa.Table, record_id: int, what: str, hint: str) -> dict[str, Any]:
        row = None
        if _in_range(record_id):
            with self._engine.connect() as conn:
                row = conn.execute(table.select().where(table.c.id == record_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"{what} {record_id} does not exist; see `{hint}`")
        return dict(row)

    def _all(self, query: Any) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def _write(self, work: Callable[[Connection], T], undo: Callable[[], None] | None = None) -> T:
        """Run ``work`` in one transaction; retried while another process holds the database's lock.

        ``undo`` reverses what ``work`` did outside the database, when its transaction is not committed.
        """
        for pause in (*_RETRY_PAUSES, None):
            try:
                with self._engine.begin() as conn:
                    return work(conn)
            except Exception as exc:
                if undo is not None:
                    undo()
                if not is_locked(exc):
                    raise
                if pause is None:
                    raise DatabaseLockedError(
                        f"the database '{self.db_path}' stayed locked by another process through "
                        f"{len(_RETRY_PAUSES) + 1} attempts of {self._lock_timeout:g} s; another trainaction "
                        "command is writing to it — try again when it has finished"
                    ) from None
            time.sleep(pause)
        raise AssertionError("unreachable")


def _in_range(record_id: int) -> bool:
    return 0 < record_id <= _MAX_ID


def _past_orphan_folders(conn: Connection, models: Path, model_id: int) -> int:
    """``model_id``, or a higher one when ``models/<id>`` or a later folder exists without a row.

    Such a folder belongs to no stored model (the database was moved away, or a crash came between the
    rename and the commit); it is never reused, deleted or overwritten. The caller holds the write lock
    (its insert took it), so no other process is choosing an id meanwhile.
    """
    highest = max((int(p.name) for p in models.iterdir() if re.fullmatch(r"[0-9]{1,18}", p.name)), default=0)
    if model_id > highest:
        return model_id
    conn.execute(store.models.update().where(store.models.c.id == model_id).values(id=highest + 1))
    return highest + 1
