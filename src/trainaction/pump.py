"""The background thread that carries what plugins produce to the backend.

Every ``interval`` seconds it drains the plugin's spool folders (one per process or trial) and
whatever the job's own process queued (log text, trial tables), then writes events, visualization
files, log text and progress to the backend in batches. Control records (names starting with
``_``) are handed to ``on_control`` instead of being stored.
"""

from __future__ import annotations

import marshal
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .backend import Backend
from .events import Event
from .progress import PhaseProgress
from .spool import SpoolReader

__all__ = ["EventPump", "JobObserver", "NullObserver"]

# The last record a tuning trial writes; its spool can be closed once it is read.
_LAST_RECORD = "_trial_end"


class JobObserver(Protocol):
    """Receives what a running job produces, e.g. to draw it in a terminal."""

    def on_progress(self, progress: dict[str, Any], percent: float) -> None: ...
    def on_metric(self, data: dict[str, Any]) -> None: ...
    def on_log(self, text: str) -> None: ...
    def on_trials(self, table: dict[str, Any]) -> None: ...


class NullObserver:
    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        pass

    def on_metric(self, data: dict[str, Any]) -> None:
        pass

    def on_log(self, text: str) -> None:
        pass

    def on_trials(self, table: dict[str, Any]) -> None:
        pass


class EventPump:
    """Drains every spool folder under ``spool_root`` (and the local queue) into the backend."""

    def __init__(
        self,
        backend: Backend,
        job_id: int,
        spool_root: Path,
        progress: PhaseProgress,
        observer: JobObserver,
        on_control: Callable[[str, dict[str, Any]], None],
        interval: float = 0.05,
    ) -> None:
        self._backend = backend
        self._job_id = job_id
        self._root = spool_root
        self._root.mkdir(parents=True, exist_ok=True)
        self._progress = progress
        self._observer = observer
        self._on_control = on_control
        self._interval = interval
        self._readers: dict[str, SpoolReader] = {}
        self._closed: set[str] = set()
        self._lock = threading.Lock()
        self._queued_text: list[str] = []
        self._queued_events: list[Event] = []
        self._last_progress_write = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trainaction-pump", daemon=True)
        self.last_metrics: dict[str, dict[str, Any]] = {}

    def start(self) -> EventPump:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Drain one last time and stop. Everything written before this call is stored."""
        self._done.set()
        self._thread.join()

    def log(self, text: str) -> None:
        """Queue log text from the job's own process (thread-safe)."""
        with self._lock:
            self._queued_text.append(text)

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        """Queue an event from the job's own process (thread-safe)."""
        with self._lock:
            self._queued_events.append(Event(type_, data, time.time()))

    def _loop(self) -> None:
        while True:
            finished = self._done.is_set()
            self._drain()
            if finished:
                for reader in self._readers.values():
                    reader.close()
                return
            self._done.wait(self._interval)

    def _drain(self) -> None:
        for folder in self._root.iterdir():
            if folder.name not in self._readers and folder.name not in self._closed and folder.is_dir():
                self._readers[folder.name] = SpoolReader(folder)
        texts: list[str] = []
        events: list[Event] = []
        for name, reader in list(self._readers.items()):
            for record in reader.read():
                decoded = marshal.loads(record)
                if decoded[0] == _LAST_RECORD:
                    self._close(name)
                event = self._to_event(decoded, texts)
                if event is not None:
                    events.append(event)
        with self._lock:
            texts, self._queued_text = self._queued_text + texts, []
            events, self._queued_events = self._queued_events + events, []
        self._backend.add_events(self._job_id, events)
        text = "".join(texts)
        if text:
            self._backend.append_log(self._job_id, text)
            self._observer.on_log(text)
        for event in events:
            if event.type == "trials":
                self._observer.on_trials(event.data)
        self.write_progress()

    def _close(self, name: str) -> None:
        """A spool whose writer is done: free its mapping and its folder (a job may have thousands)."""
        self._readers.pop(name).close()
        self._closed.add(name)
        shutil.rmtree(self._root / name, ignore_errors=True)

    def _to_event(self, record: tuple[str, dict[str, Any], float], texts: list[str]) -> Event | None:
        type_, data, timestamp = record
        if type_ == "_log":
            texts.append(data["text"])
            return None
        if type_.startswith("_"):
            self._on_control(type_, data)
            return None
        if type_ == "metric":
            self.last_metrics.setdefault(data["category"], {})[data["key"]] = data["value"]
            self._observer.on_metric(data)
        elif type_ == "message":
            prefix = f"[trial {data['trial_id']}] " if "trial_id" in data else ""
            texts.append(f"{prefix}[{data['level'].upper()}] {data['text']}\n")
        elif type_ == "progress" and "trial_id" not in data:
            self._progress.set(data["category"], data["current"], data["total"])
        elif type_ == "visualization":
            parts = [data.get("trial_id"), data["category"], data["group"], data["index"]]
            name = "/".join(_safe(str(part)) for part in parts if part is not None)
            content = data.pop("content")
            data["file"] = self._backend.put_file(self._job_id, f"visualizations/{name}.{data.pop('extension')}", content)
        return Event(type_, data, timestamp)

    def write_progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress_write < 0.5:
            return
        self._last_progress_write = now
        snapshot, percent = self._progress.snapshot(), self._progress.percent
        self._backend.update_job(self._job_id, progress=snapshot, progress_percent=percent)
        self._observer.on_progress(snapshot, percent)


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._") or "_"
