"""The embedded backend: SQLite (WAL) for records, a folder for files. Nothing to start.

Opened by a command that only reads (``create=False``), a missing home is reported and nothing is
created; a home this process cannot write to (a read-only mount, another user's folder) is opened
read-only and can be read, not changed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import InUseError, NoHomeError, NotFoundError, StoreError
from ..events import Event
from ..liveness import Runner, gone_message, runner_gone
from . import migrate, store
from .base import FINISHED_STATUSES, DatasetRecord, Deletion, JobRecord, ModelRecord, log_text
from .batches import Rows, event_rows, first_delivery, insert_rows
from .database import DB_NAME, check_database, open_sqlite, read_only_engine, schema_lock
from .datasets import DatasetStore
from .models import ModelStore, in_use, model_references
from .registry import Registry, in_range
from .submissions import SubmissionMethods, SubmissionStore
from .trash import Trash

__all__ = ["LocalBackend"]

# How much one streaming read holds: events are small; log chunks range from a line to megabytes.
_EVENT_PAGE = 5000
_LOG_ROWS = 16


class LocalBackend(SubmissionMethods):
    """SQLite database ``trainaction.db`` and artifact folders under ``home``."""

    def __init__(
        self, home: str | Path, engine: Engine | None = None, *, lock_timeout: float = 30.0, create: bool = True
    ) -> None:
        """``lock_timeout``: seconds one write waits for another process's lock before it is retried.
        ``create``: make the home and its database when missing; else raise NoHomeError."""
        self.home = Path(home).expanduser()
        self.db_path = self.home / DB_NAME
        # Checked before anything is created in the home folder: a file that is not ours stays as it is.
        if engine is None and self.db_path.exists():
            check_database(self.db_path)
        elif engine is None and not create:
            raise NoHomeError(
                f"no trainaction home at {self.home} (no {DB_NAME} there); set TRAINACTION_HOME or run a job first"
            )
        read_only = engine is None and self.db_path.exists() and not _writable(self.home, self.db_path)
        if read_only:
            self._engine = read_only_engine(self.db_path)
            _readable_as_it_is(self._engine, self.db_path)
        else:
            self.home.mkdir(parents=True, exist_ok=True)
            with schema_lock(self.home):
                self._engine = engine or open_sqlite(self.db_path, lock_timeout)
                migrate.upgrade(self._engine)
        self.read_only = read_only
        self._registry = Registry(self._engine, self.db_path, lock_timeout, read_only=read_only)
        self._trash = Trash(self.home)
        self._datasets = DatasetStore(self.home, self._registry)
        self._models = ModelStore(self.home, self._registry, self._trash)
        self._submissions = SubmissionStore(self._registry, self.home / "files", self.get_job)
        if not read_only and self._trash.pending():
            self._registry.write(self._trash.reclaim)  # an interrupted delete: finished, or undone

    @property
    def engine(self) -> Engine:
        """The database's engine (SQLite, or the server's PostgreSQL), for readers beside the records' API."""
        return self._engine

    # datasets ---------------------------------------------------------------------------------

    def add_dataset(self, source: Path, name: str, metadata: dict[str, Any] | None = None) -> DatasetRecord:
        """Register the folder ``source`` in place; an empty ``name`` means the folder's name."""
        return self._datasets.add(source, name, metadata)

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        return self._datasets.get(dataset_id)

    def list_datasets(self) -> list[DatasetRecord]:
        return self._datasets.records()

    def dataset_path(self, dataset_id: int) -> Path:
        return self._datasets.path(dataset_id)

    def remove_dataset(self, dataset_id: int, *, dry_run: bool = False) -> Deletion:
        running = [j.id for j in self.list_jobs(status="RUNNING") if j.params.get("dataset") == dataset_id]
        return self._datasets.remove(dataset_id, running, dry_run=dry_run)

    # jobs -------------------------------------------------------------------------------------

    def create_job(self, action: str, params: dict[str, Any], name: str, display_name: str) -> JobRecord:
        new_id = self._registry.write(
            lambda conn: store.insert_job(conn, action, params, name, display_name, "PENDING", time.time())
        )
        return self.get_job(new_id)

    def get_job(self, job_id: int) -> JobRecord:
        return self._alive_or_failed(self._one(store.jobs, job_id, "job", "trainaction jobs list"))

    def list_jobs(self, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        jobs = store.jobs
        if status is not None:
            # RUNNING rows are read as they are first (a dead runner's job turns FAILED), so that the
            # filter sees every job's status as a reader would.
            for row in self._all(jobs.select().where(jobs.c.status == "RUNNING")):
                self._alive_or_failed(row)
        query = jobs.select().order_by(jobs.c.id.desc())
        if status is not None:
            query = query.where(jobs.c.status == status)
        if limit is not None:
            query = query.limit(limit)
        records = [self._alive_or_failed(row) for row in reversed(self._all(query))]
        return [r for r in records if status is None or r.status == status]

    def delete_job(self, job_id: int, *, force: bool = False, dry_run: bool = False) -> Deletion:
        from .job_deletion import delete_job

        record = self.get_job(job_id)  # a dead runner's job reads FAILED, and can go
        if record.status in ("RUNNING", "PENDING"):
            raise InUseError(
                f"job {job_id} is not deleted: it is {record.status}; stop it first (Ctrl-C where it runs)"
            )
        self.list_jobs(status="RUNNING")
        models = self.list_models(job_id)
        refusal = in_use(model_references(self._registry, models, {job_id}), force)
        if refusal:
            raise InUseError(f"job {job_id} is not deleted: its models go with it, and {refusal}")
        return delete_job(self._registry, self._trash, record, models, dry_run=dry_run)

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
        if self.read_only:  # shown as it is; recorded by the next command that can write
            return JobRecord(**{**row, "status": "FAILED", "error": error, "finished_at": row["heartbeat_at"]})
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
        if not values:  # nothing to change (a PATCH with an empty body): an UPDATE without SET is no SQL
            return self.get_job(job_id)
        updated = in_range(job_id) and self._registry.write(
            lambda conn: conn.execute(store.jobs.update().where(store.jobs.c.id == job_id).values(**values)).rowcount
        )
        if not updated:
            raise NotFoundError(f"job {job_id} does not exist; see `trainaction jobs list`")
        return self.get_job(job_id)

    def append_log(self, job_id: int, text: str, *, batch_id: str | None = None) -> None:
        if not text:
            return

        def work(conn: Connection) -> None:
            if first_delivery(conn, batch_id, job_id):
                conn.execute(store.job_logs.insert().values(job_id=job_id, text=log_text(text)))

        self._registry.write(work)

    def read_log(self, job_id: int) -> str:
        return "".join(self.iter_log(job_id))

    def iter_log(self, job_id: int) -> Iterator[str]:
        """The job's log in the chunks it was written in: memory stays flat for any size."""
        return (text for _, text in self.log_since(job_id))

    def log_since(self, job_id: int, after: int = 0) -> Iterator[tuple[int, str]]:
        """The chunks after chunk ``after`` (a chunk's row id; ids grow in the order chunks are written).

        One query, read a few rows at a time (SQLite hands rows over as they are stepped): chunks
        range from a line to megabytes, so pages sized in rows or measured first cost more."""
        self.get_job(job_id)
        table = store.job_logs
        query = sa.select(table.c.id, table.c.text).where(table.c.job_id == job_id, table.c.id > after)

        def chunks() -> Iterator[tuple[int, str]]:
            with self._engine.connect() as conn:
                for row in conn.execution_options(yield_per=_LOG_ROWS).execute(query.order_by(table.c.id)):
                    yield row.id, row.text

        return chunks()

    def add_events(self, job_id: int, events: Sequence[Event], *, batch_id: str | None = None) -> None:
        if events:
            self.add_event_rows(job_id, event_rows(job_id, events), batch_id=batch_id)

    def add_event_rows(self, job_id: int, rows: Rows, *, batch_id: str | None = None) -> None:
        """Store rows made by :func:`.batches.event_rows` (or by the server from a request's JSON),
        once per ``batch_id``, in one transaction."""

        def work(conn: Connection) -> None:
            # In the transaction, under the write lock: the rows' tables have no key to jobs (revision
            # 0004), so this is what keeps a job deleted meanwhile from getting rows.
            if conn.execute(sa.select(store.jobs.c.id).where(store.jobs.c.id == job_id)).first() is None:
                raise NotFoundError(f"job {job_id} does not exist; see `trainaction jobs list`")
            if first_delivery(conn, batch_id, job_id):
                insert_rows(conn, rows)

        if rows[0]:
            self._registry.write(work)

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
        return self._models.add(name, source, job_id=job_id, trial_id=trial_id, config=config, metrics=metrics)

    def get_model(self, model_id: int) -> ModelRecord:
        return self._models.get(model_id)

    def list_models(self, job_id: int | None = None) -> list[ModelRecord]:
        return self._models.records(job_id)

    def model_path(self, model_id: int) -> Path:
        """The stored folder, after checking every file against the sha256 it was stored with."""
        return self._models.path(model_id)

    def delete_model(self, model_id: int, *, force: bool = False, dry_run: bool = False) -> Deletion:
        self.get_model(model_id)
        self.list_jobs(status="RUNNING")  # a job whose runner died reads FAILED from here on
        return self._models.delete(model_id, force=force, dry_run=dry_run)

    # helpers ----------------------------------------------------------------------------------

    def _one(self, table: sa.Table, record_id: int, what: str, hint: str) -> dict[str, Any]:
        return self._registry.one(table, record_id, what, hint)

    def _all(self, query: Any) -> list[dict[str, Any]]:
        return self._registry.all(query)

    # charts -----------------------------------------------------------------------------------

    def metric_series(
        self,
        job_id: int,
        *,
        key: str | None = None,
        trial: str | None = None,
        category: str | None = None,
        points: int = 500,
        x: str | None = None,
    ) -> list[dict[str, Any]]:
        """The job's metric series for a chart, at most ``points`` points each (see :mod:`.series`)."""
        from .series import metric_series

        self.get_job(job_id)
        return metric_series(self._engine, job_id, key=key, trial=trial, category=category, points=points, x=x)


def _writable(home: Path, db_path: Path) -> bool:
    """Whether this process may change the home: a read-only mount says no even to root."""
    return os.access(home, os.W_OK) and os.access(db_path, os.W_OK)


def _readable_as_it_is(engine: Engine, db_path: Path) -> None:
    """A read-only home is never migrated: an older database is read as it is while it has every
    table and column reads use, else the fix is named."""
    revision = migrate.current_revision(engine)
    if revision == migrate.HEAD:
        return
    gaps = migrate.schema_gaps(engine)
    if gaps:
        made = f"schema revision {revision}" if revision else "from before schema revisions"
        raise StoreError(
            f"the database '{db_path}' was made by an older trainaction ({made}) and lacks "
            f"{', '.join(gaps[:5])}; its home is read-only, so it cannot be upgraded here: open it once "
            "with a writable home (any trainaction command there upgrades it), then read it here"
        )
