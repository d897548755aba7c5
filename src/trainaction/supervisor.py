"""Runs the plugin in its own process and carries what it produces to the backend.

A background thread drains the plugin's spool every ``interval`` seconds and writes events,
visualization files, log text and progress to the backend in batches. When the plugin process
ends — normally, by an exception, or abruptly — one last drain collects everything it wrote.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .backend import Backend
from .events import Event
from .progress import PhaseProgress
from .spool import SpoolReader

__all__ = ["JobObserver", "PluginProcess", "WorkerOutcome"]


class JobObserver(Protocol):
    """Receives what a running job produces, e.g. to draw it in a terminal."""

    def on_progress(self, progress: dict[str, Any], percent: float) -> None: ...
    def on_metric(self, data: dict[str, Any]) -> None: ...
    def on_log(self, text: str) -> None: ...


class NullObserver:
    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        pass

    def on_metric(self, data: dict[str, Any]) -> None:
        pass

    def on_log(self, text: str) -> None:
        pass


@dataclass
class WorkerOutcome:
    """How the plugin process ended and what it left behind."""

    succeeded: bool = False
    returned_path: str | None = None
    checkpoint_output: str | None = None
    error: str | None = None
    exit_status: str = ""
    last_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "an unknown signal"
        return f"killed by signal {name} ({-returncode})"
    return f"exit status {returncode}"


class PluginProcess:
    """One run of ``python -m trainaction.worker`` for one job."""

    def __init__(
        self,
        backend: Backend,
        job_id: int,
        spec: dict[str, Any],
        run_dir: Path,
        progress: PhaseProgress,
        observer: JobObserver,
        interval: float = 0.05,
    ) -> None:
        self._backend = backend
        self._job_id = job_id
        self._progress = progress
        self._observer = observer
        self._interval = interval
        self._spec_path = run_dir / "spec.json"
        spool_dir = Path(spec["spool_dir"])
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._spec_path.write_text(json.dumps(spec), encoding="utf-8")
        self._reader = SpoolReader(spool_dir)
        self._log_lines: list[str] = []
        self._log_lock = threading.Lock()
        self._outcome = WorkerOutcome()
        self._last_progress_write = 0.0

    def run(self) -> WorkerOutcome:
        """Run the plugin to its end. On KeyboardInterrupt, stop it, keep what it logged, re-raise."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            [sys.executable, "-m", "trainaction.worker", str(self._spec_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us first; we stop the plugin in order
        )
        assert process.stdout is not None
        output = threading.Thread(target=self._read_output, args=(process.stdout,), daemon=True)
        output.start()
        done = threading.Event()
        pump = threading.Thread(target=self._pump, args=(done,), daemon=True)
        pump.start()
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            self._stop(process)
            output.join(timeout=5)
            done.set()
            pump.join()
            raise
        output.join(timeout=5)
        done.set()
        pump.join()
        self._outcome.exit_status = describe_exit(returncode)
        if returncode != 0 or not self._outcome.succeeded:
            self._outcome.succeeded = False
            if self._outcome.error is None:
                self._outcome.error = (
                    f"the plugin process ended abruptly ({self._outcome.exit_status}) before train() returned"
                )
        return self._outcome

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        # SIGINT first so the plugin's own cleanup (finally blocks) runs; force after a grace period.
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)):
            try:
                process.send_signal(sig)
                process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue
            except KeyboardInterrupt:
                continue  # a second Ctrl-C: go straight to the next, harder signal

    def _read_output(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            with self._log_lock:
                self._log_lines.append(line.decode("utf-8", errors="replace"))

    def _pump(self, done: threading.Event) -> None:
        while True:
            finished = done.is_set()
            self._drain()
            if finished:
                self._reader.close()
                return
            done.wait(self._interval)

    def _drain(self) -> None:
        events = [self._to_event(marshal.loads(record)) for record in self._reader.read()]
        with self._log_lock:
            lines, self._log_lines = self._log_lines, []
        text = "".join(lines) + "".join(
            f"[{e.data['level'].upper()}] {e.data['text']}\n" for e in events if e is not None and e.type == "message"
        )
        self._backend.add_events(self._job_id, [e for e in events if e is not None])
        if text:
            self._backend.append_log(self._job_id, text)
            self._observer.on_log(text)
        self._write_progress()

    def _to_event(self, record: tuple[str, dict[str, Any], float]) -> Event | None:
        type_, data, timestamp = record
        if type_ == "_result":
            self._outcome.succeeded = True
            self._outcome.returned_path = data["returned_path"]
            self._outcome.checkpoint_output = data["checkpoint_output"]
            return None
        if type_ == "_error":
            self._outcome.error = data["message"]
            return None
        if type_ == "metric":
            self._outcome.last_metrics.setdefault(data["category"], {})[data["key"]] = data["value"]
            self._observer.on_metric(data)
        elif type_ == "progress":
            self._progress.set(data["category"], data["current"], data["total"])
        elif type_ == "visualization":
            name = "/".join(_safe(str(part)) for part in (data["category"], data["group"], data["index"]))
            content = data.pop("content")
            data["file"] = self._backend.put_file(self._job_id, f"visualizations/{name}.{data.pop('extension')}", content)
        return Event(type_, data, timestamp)

    def _write_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress_write < 0.5:
            return
        self._last_progress_write = now
        snapshot, percent = self._progress.snapshot(), self._progress.percent
        self._backend.update_job(self._job_id, progress=snapshot, progress_percent=percent)
        self._observer.on_progress(snapshot, percent)


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._") or "_"
