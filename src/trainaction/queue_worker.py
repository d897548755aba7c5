"""One worker of the server's queue: a process that claims QUEUED jobs and runs them, one at a time.

Run as ``python -m trainaction.queue_worker --name W --artifacts DIR [--db URL] [--ray-cpus N]`` by
:class:`trainaction.executor.Executor`. It keeps one Ray session for all its tuning jobs (started
at its first tuning job, never shut down between jobs: the engine stops only a Ray it started), and
records itself as each job's runner, so a worker that dies leaves its job FAILED, never RUNNING.

Signals: SIGTERM (the server shuts down) stops the running job (STOPPED) and ends the worker; a job
still only claimed goes back to QUEUED. A stop asked through the API (``request_stop``) reaches the
job as SIGINT from a watcher thread: the same path as Ctrl-C on ``trainaction run``, so its
metrics, logs and models so far are kept.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from .action import TrainAction
from .backend import LocalBackend
from .backend.base import FINISHED_STATUSES, SubmissionRecord
from .backend.storage import open_storage
from .errors import JobStopped, TrainActionError
from .plugin import load_plugin
from .submission import unpack_plugin
from .validation import parse_job

__all__ = ["QueueWorker", "main"]

_IDLE_POLL_S = 0.3
_STOP_POLL_S = 0.5


class QueueWorker:
    def __init__(self, name: str, storage: LocalBackend, artifacts: Path, ray_cpus: int | None) -> None:
        self.name, self.storage, self.artifacts, self.ray_cpus = name, storage, artifacts, ray_cpus
        self.work_root = artifacts / "runs"
        self.shutting_down = False
        self.current: int | None = None

    def serve(self) -> None:
        """Claim and run jobs until the server closes this worker's stdin (it shuts down, or died)."""
        # SIGTERM as Ctrl-C, as `trainaction run` has it: the running job ends STOPPED (the engine
        # keeps these handlers through ray.init and turns the first one into a graceful stop).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        threading.Thread(target=self._watch_stdin, name="server-watcher", daemon=True).start()
        try:
            while not self.shutting_down:
                try:
                    claimed = self.storage.claim_submission(self.name)
                except TrainActionError as exc:  # the database busy past its retries: try again shortly
                    print(f"worker {self.name}: claim failed: {exc}", file=sys.stderr, flush=True)
                    claimed = None
                if claimed is None:
                    time.sleep(_IDLE_POLL_S)
                    continue
                self.run_one(claimed)
        except KeyboardInterrupt:  # SIGTERM from the server while idle, or Ctrl-C on its terminal
            pass

    def _watch_stdin(self) -> None:
        # The server holds the other end: EOF means it is shutting down or gone; no job is claimed after.
        while sys.stdin.buffer.read(1024):
            pass
        self.shutting_down = True

    def run_one(self, claimed: SubmissionRecord) -> None:
        job_id = claimed.job_id
        self.current = job_id
        watcher = _StopWatcher(self.storage, job_id)
        try:
            watcher.start()
            self._run(job_id, claimed.plugin_key)
        except JobStopped:
            pass  # recorded STOPPED by TrainAction
        except KeyboardInterrupt:
            self._interrupted_outside_the_job(job_id)
        except TrainActionError as exc:  # the plugin or document refused before the job started
            self._fail(job_id, str(exc))
        except Exception as exc:  # a failure of ours: the job must not stay PENDING
            self._fail(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            watcher.stop()
            self.current = None

    def _run(self, job_id: int, plugin_key: str) -> None:
        record = self.storage.get_job(job_id)
        folder = self.work_root / str(job_id) / "plugin"
        shutil.rmtree(folder, ignore_errors=True)
        unpack_plugin(self.storage.read_file(plugin_key), folder)
        job = parse_job({"action": record.action, "params": record.params}).job
        if job.params.is_tune:
            self._warm_ray()
        action = TrainAction(self.storage, load_plugin(folder), work_root=self.work_root)
        action.execute(action.prepare(job), job_id=job_id)

    def _warm_ray(self) -> None:
        """Ray, started once for this worker's life: every later tuning job skips its start and stop."""
        import ray

        from .tuning.limits import caller_stop_signals, restore_handlers

        if ray.is_initialized():
            return
        saved = caller_stop_signals()
        ray.init(
            num_cpus=self.ray_cpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=False,
        )
        restore_handlers(saved)  # ray.init makes SIGTERM call sys.exit; ours stops the job first

    def _interrupted_outside_the_job(self, job_id: int) -> None:
        """A signal between the claim and the job's start (or after its end): a job not started goes back
        to the queue on shutdown, or is STOPPED when its stop was asked."""
        status = self.storage.get_job(job_id).status
        if status in FINISHED_STATUSES:
            return
        if self.storage.get_submission(job_id).stop_requested:
            self.storage.update_job(job_id, status="STOPPED", error="stopped by the user")
        elif status == "RUNNING":  # TrainAction records the end itself; reaching here means it could not
            self.storage.update_job(job_id, status="STOPPED", error="stopped: the server shut down")
        else:
            self.storage.update_job(job_id, status="QUEUED")

    def _fail(self, job_id: int, error: str) -> None:
        self.storage.append_log(job_id, f"[trainaction {time.strftime('%H:%M:%S')}] job {job_id} failed: {error}\n")
        self.storage.update_job(job_id, status="FAILED", error=error)


class _StopWatcher:
    """Turns a stop asked through the backend into SIGINT for this process, once."""

    def __init__(self, storage: LocalBackend, job_id: int) -> None:
        self.storage, self.job_id = storage, job_id
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"stop-watcher-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)

    def _watch(self) -> None:
        while not self._done.wait(_STOP_POLL_S):
            try:
                asked = self.storage.get_submission(self.job_id).stop_requested
            except TrainActionError:
                continue
            if asked:
                os.kill(os.getpid(), signal.SIGINT)
                return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m trainaction.queue_worker")
    parser.add_argument("--name", required=True)
    parser.add_argument("--artifacts", required=True, type=Path)
    parser.add_argument("--db", default=None)
    parser.add_argument("--ray-cpus", type=int, default=None)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    storage = open_storage(args.db, args.artifacts)
    QueueWorker(args.name, storage, args.artifacts.resolve(), args.ray_cpus).serve()


if __name__ == "__main__":
    main()
