"""The background thread that carries what plugins produce to the backend.

Every ``interval`` seconds it drains the plugin's spool folders (one per process or trial) and
whatever the job's own process queued (log text, records such as trial tables), then writes events,
visualization files and log text to the backend in batches. Spool records are decoded by
:func:`trainaction.wire.decode`; the job's progress records go to its
:class:`~trainaction.progress.ProgressKeeper`, which the pump asks to save after each batch; control
records (:data:`trainaction.wire.Control`) are handed to ``on_control`` instead of being stored.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, assert_never

from .backend import Backend
from .events import Event
from .progress import ProgressKeeper
from .spool import SpoolReader
from .wire import (
    TRIALS,
    Control,
    Error,
    LogText,
    Message,
    Metric,
    Progress,
    ProgressDone,
    Record,
    Result,
    TrialEnd,
    Trials,
    Visualization,
    decode,
)

__all__ = ["EventPump", "JobObserver", "NullObserver", "batch_interval", "store_retry_seconds"]

_DEFAULT_RETRY_S = 60.0
_LOCAL_INTERVAL = 0.05
_REMOTE_INTERVAL = 0.25
_REPORTED_BAD_RECORDS = 20  # each named in the log; beyond that only counted
# Records taken from one spool per drain: a plugin logging millions of metrics in a burst is
# stored in batches of this size instead of being held in memory all at once.
_MAX_RECORDS_PER_DRAIN = 20_000


class JobObserver(Protocol):
    """Receives what a running job produces, e.g. to draw it in a terminal."""

    def on_start(self, job_id: int, name: str) -> None: ...

    def on_progress(self, progress: dict[str, Any], percent: float) -> None: ...
    def on_metric(self, data: dict[str, Any]) -> None: ...
    def on_log(self, text: str) -> None: ...
    def on_trials(self, table: dict[str, Any]) -> None: ...


class NullObserver:
    def on_start(self, job_id: int, name: str) -> None:
        pass

    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        pass

    def on_metric(self, data: dict[str, Any]) -> None:
        pass

    def on_log(self, text: str) -> None:
        pass

    def on_trials(self, table: dict[str, Any]) -> None:
        pass


class _Batch:
    """What one drain collected, stored in order: files, then the events naming them, then log text."""

    def __init__(self) -> None:
        # Sent with the batch's events and log text: a retry after a lost answer is not stored twice.
        self.id = uuid.uuid4().hex
        self.files: list[tuple[Event, str, bytes]] = []
        self.events: list[Event] = []
        self.texts: list[str] = []
        self.more = False  # a spool had more records than one drain takes

    def __len__(self) -> int:
        return len(self.events) + len(self.texts)


class EventPump:
    """Drains every spool folder under ``spool_root`` (and the local queue) into the backend.

    A record it cannot decode is dropped, counted and named in the job log; the others go on.
    A batch the backend cannot store is retried with backoff for ``retry_s`` seconds
    (``TRAINACTION_STORE_RETRY_S``, 60 by default); after that the pump gives up: :attr:`failure`
    holds the cause, ``on_failure`` is called (to stop the plugin), and every later record is
    counted in :attr:`dropped` instead of stored.
    """

    def __init__(
        self,
        backend: Backend,
        job_id: int,
        spool_root: Path,
        progress: ProgressKeeper,
        observer: JobObserver,
        on_control: Callable[[Control], None],
        interval: float | None = None,
        *,
        on_failure: Callable[[str], None] | None = None,
        retry_s: float | None = None,
    ) -> None:
        self._backend = backend
        self._job_id = job_id
        self._root = spool_root
        self._root.mkdir(parents=True, exist_ok=True)
        self._progress = progress
        self._observer = observer
        self._on_control = on_control
        self._on_failure = on_failure
        self._interval = batch_interval(backend) if interval is None else interval
        self._retry_s = store_retry_seconds() if retry_s is None else retry_s
        self._readers: dict[str, SpoolReader] = {}
        self._closed: set[str] = set()
        self._lock = threading.Lock()
        self._queued_text: list[str] = []
        self._queued_records: list[tuple[Record, float]] = []
        self._done = threading.Event()
        self._wake = threading.Event()  # cuts the wait between drains short (stop, sync)
        self._caught_up = 0  # drains that ended with nothing left to read
        self._drained = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="trainaction-pump", daemon=True)
        self.last_metrics: dict[str, dict[str, Any]] = {}
        self.failure: str | None = None
        self.dropped = 0  # events and log chunks not stored after the pump gave up
        self.unreadable = 0  # records dropped because they could not be decoded

    def start(self) -> EventPump:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Drain one last time and stop. Everything written before this call is stored, or counted as dropped."""
        self._done.set()
        self._wake.set()
        self._thread.join()

    def sync(self, timeout: float = 60.0) -> None:
        """Return once everything written to the spools before this call has been read and handed on
        (stored, or counted as dropped), or after ``timeout`` seconds. The tuning engine calls it before
        it reads what the trials' last records said (which files are their models)."""
        deadline = time.monotonic() + timeout
        with self._drained:
            # The drain running now may have begun before the call: wait for one more after it.
            target = self._caught_up + 2
            while self._caught_up < target and self._thread.is_alive() and time.monotonic() < deadline:
                self._wake.set()
                self._drained.wait(0.05)

    def failure_message(self) -> str | None:
        """The cause of a storage failure and how much was lost, once :meth:`stop` returned."""
        if self.failure is None:
            return None
        return f"{self.failure}; {self.dropped} event(s)/log chunk(s) of this job could not be stored and were dropped"

    def log(self, text: str) -> None:
        """Queue log text from the job's own process (thread-safe)."""
        with self._lock:
            self._queued_text.append(text)

    def send(self, record: Record) -> None:
        """Queue a record from the job's own process (thread-safe); it is handled like a spool's."""
        with self._lock:
            self._queued_records.append((record, time.time()))

    def _loop(self) -> None:
        while True:
            finished = self._done.is_set()
            try:
                more = self._drain()
            except Exception as exc:  # a fault of ours: it must fail the job, not end the thread unseen
                self._give_up(f"the event pump failed: {type(exc).__name__}: {exc}", 0)
                sys.stderr.write(traceback.format_exc())
                more = False
            if more:
                continue  # a backlog: drain again at once (and to the end, when finished)
            with self._drained:
                self._caught_up += 1
                self._drained.notify_all()
            if finished:
                for reader in self._readers.values():
                    reader.close()
                if self.unreadable:
                    self._try_log(f"[trainaction] {self.unreadable} record(s) could not be decoded and were dropped\n")
                return
            self._wake.wait(self._interval)
            self._wake.clear()

    def _drain(self) -> bool:
        """Store what the spools and the queue hold; True when a spool has more than one drain takes."""
        batch = _Batch()
        with self._lock:
            batch.texts, self._queued_text = self._queued_text, []
            queued, self._queued_records = self._queued_records, []
        for record, timestamp in queued:
            self._add(batch, record, timestamp)
        self._collect(batch)
        if self.failure is not None:
            self.dropped += len(batch)
            return batch.more
        self._store(batch)
        return batch.more

    def _collect(self, batch: _Batch) -> None:
        for folder in self._root.iterdir():
            if folder.name not in self._readers and folder.name not in self._closed and folder.is_dir():
                self._readers[folder.name] = SpoolReader(folder)
        for name, reader in list(self._readers.items()):
            try:
                records = reader.read(_MAX_RECORDS_PER_DRAIN)
                batch.more |= len(records) == _MAX_RECORDS_PER_DRAIN
            except Exception as exc:  # a damaged spool: the other spools go on
                self._unreadable(batch, name, exc)
                self._close(name)
                continue
            for data in records:
                try:
                    record, timestamp = decode(data)
                    if isinstance(record, TrialEnd):  # a trial's last record: its spool is done
                        self._close(name)
                    self._add(batch, record, timestamp)
                except Exception as exc:  # one bad record must not stop the others
                    self._unreadable(batch, name, exc)

    def _unreadable(self, batch: _Batch, spool: str, exc: Exception) -> None:
        self.unreadable += 1
        if self.unreadable <= _REPORTED_BAD_RECORDS:
            batch.texts.append(
                f"[trainaction] dropped a record of spool '{spool}' that could not be decoded: {type(exc).__name__}: {exc}\n"
            )

    def _store(self, batch: _Batch) -> None:
        """Store the batch; on failure retry with backoff, then give up with the cause."""
        started: float | None = None
        delay = 0.1
        while True:
            try:
                self._write(batch)
                break
            except Exception as exc:
                now = time.monotonic()
                if started is None:
                    started = now
                if now - started >= self._retry_s:
                    cause = f"{type(exc).__name__}: {exc}".strip()
                    self._give_up(f"storing the job's events failed for {now - started:.0f} s ({cause})", len(batch))
                    return
                time.sleep(min(delay, self._retry_s - (now - started)))
                delay = min(delay * 2, 5.0)
        if started is not None:
            self._try_log(
                f"[trainaction] storing events failed for {time.monotonic() - started:.1f} s, then succeeded; nothing was lost\n"
            )

    def _write(self, batch: _Batch) -> None:
        # Each stage is removed from the batch once stored, so a retry does not store it twice.
        while batch.files:
            event, name, content = batch.files[0]
            event.data["file"] = self._backend.put_file(self._job_id, name, content)
            batch.files.pop(0)
        if batch.events:
            self._backend.add_events(self._job_id, batch.events, batch_id=f"{batch.id}-events")
            for event in batch.events:
                if event.type == TRIALS:
                    self._notify(self._observer.on_trials, event.data)
            batch.events = []
        if batch.texts:
            text = "".join(batch.texts)
            self._backend.append_log(self._job_id, text, batch_id=f"{batch.id}-log")
            batch.texts = []
            self._notify(self._observer.on_log, text)
        self._progress.save()

    def _give_up(self, cause: str, lost: int) -> None:
        if self.failure is None:
            self.failure = cause
            sys.stderr.write(f"trainaction: {cause}\n")
            if self._on_failure is not None:
                try:
                    self._on_failure(cause)
                except Exception:
                    sys.stderr.write(traceback.format_exc())
        self.dropped += lost

    def _try_log(self, text: str) -> None:
        try:
            self._backend.append_log(self._job_id, text)
        except Exception:
            sys.stderr.write(text)

    def _notify(self, method: Callable[..., None], *args: Any) -> None:
        """Tell the observer; a failing observer (a display) is switched off, never the pump."""
        try:
            method(*args)
        except Exception as exc:
            self._observer = NullObserver()
            self.log(f"[trainaction] the live view failed and was switched off: {type(exc).__name__}: {exc}\n")

    def _close(self, name: str) -> None:
        """A spool whose writer is done: free its mapping and its folder (a job may have thousands)."""
        self._readers.pop(name).close()
        self._closed.add(name)
        shutil.rmtree(self._root / name, ignore_errors=True)

    def _add(self, batch: _Batch, record: Record, timestamp: float) -> None:
        match record:
            case LogText(text=text):
                batch.texts.append(text)
                return
            case Result() | Error() | TrialEnd():
                self._on_control(record)
                return
            case ProgressDone():
                self._progress.send(record)
                return
            case Metric(category=category, key=key, value=value):
                self.last_metrics.setdefault(category, {})[key] = value
                data = record.to_payload()
                self._notify(self._observer.on_metric, data)
            case Message(text=text, level=level, trial_id=trial_id):
                prefix = f"[trial {trial_id}] " if trial_id is not None else ""
                batch.texts.append(f"{prefix}[{level.upper()}] {text}\n")
                data = record.to_payload()
            case Progress(category=category, current=current, total=total, trial_id=trial_id):
                if trial_id is None:  # a trial's progress is its own, not the job's
                    # The job's progress has always held the plugin's numbers as floats (the event keeps them as sent).
                    self._progress.send(Progress(category, float(current), float(total)))
                data = record.to_payload()
            case Visualization(category=category, group=group, index=index, trial_id=trial_id):
                parts = [trial_id, category, group, index]
                name = "/".join(_safe(str(part)) for part in parts if part is not None)
                data = {k: v for k, v in record.to_payload().items() if k not in ("content", "extension")}
                event = Event(record.NAME, data, timestamp)
                batch.files.append((event, f"visualizations/{name}.{_safe(record.extension)}", record.content))
                batch.events.append(event)
                return
            case Trials():
                data = record.to_payload()
            case _:
                assert_never(record)
        batch.events.append(Event(record.NAME, data, timestamp))


def batch_interval(backend: Backend) -> float:
    """Seconds between drains: 0.05 into the embedded database, 0.25 to a server.

    Each batch sent to a server costs a request, its JSON, and a transaction on the server, work done
    on the machine's cores while the training loop runs; five times fewer, larger batches cost less
    of it (see benchmarks/http_logging.py). A quarter of a second is still live for a display."""
    from .backend.http import HttpBackend  # imported here: the HTTP backend imports what imports this module

    return _REMOTE_INTERVAL if isinstance(backend, HttpBackend) else _LOCAL_INTERVAL


def store_retry_seconds() -> float:
    """How long a failing store is retried: ``TRAINACTION_STORE_RETRY_S`` seconds, 60 by default."""
    text = os.environ.get("TRAINACTION_STORE_RETRY_S", "")
    try:
        value = float(text) if text else _DEFAULT_RETRY_S
    except ValueError:
        value = _DEFAULT_RETRY_S
    return value if value >= 0 and math.isfinite(value) else _DEFAULT_RETRY_S


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._") or "_"
