"""The server's executor: ``trainaction server --workers N`` runs submitted jobs on its own machine.

Each worker is a process (:mod:`trainaction.queue_worker`), not a thread: Ray Tune and the stop path
(signals) need a main thread of their own, a plugin that crashes the interpreter takes one worker
with it, not the server, and each worker keeps its own Ray session warm between tuning jobs. The
machine's CPUs are shared out between the workers' Ray sessions.

The executor watches its workers: one that dies (killed, out of memory) has its job recorded FAILED
with the reason, and is replaced. On shutdown it closes the workers' stdin (no more claims) and
sends SIGTERM: running jobs end STOPPED, jobs still QUEUED stay so for the next start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from .backend import LocalBackend, store
from .backend.base import FINISHED_STATUSES
from .errors import TrainActionError
from .liveness import process_start
from .supervisor import describe_exit

__all__ = ["Executor"]

_WATCH_S = 0.5
# How long a worker gets to record its job STOPPED after SIGTERM before it is killed.
_SHUTDOWN_GRACE_S = 60.0


class Executor:
    """``workers`` worker processes over the server's storage (``db`` URL or SQLite in ``artifacts``)."""

    def __init__(self, workers: int, storage: LocalBackend, artifacts: Path, db: str | None) -> None:
        self.count, self.storage, self.artifacts, self.db = workers, storage, artifacts, db
        self.ray_cpus = max(1, (os.cpu_count() or 1) // max(1, workers))
        self._workers: dict[str, subprocess.Popen[bytes]] = {}
        self._generation = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="executor-watcher", daemon=True)

    def start(self) -> None:
        self._requeue_orphans()
        with self._lock:
            for slot in range(self.count):
                self._spawn(slot)
        self._watcher.start()

    def _requeue_orphans(self) -> None:
        """Jobs claimed but not started by the workers of a server on this host that is gone (killed
        before it could put them back) wait in the queue again instead of PENDING forever."""
        jobs, table = store.jobs, store.submissions
        query = (
            sa.select(table.c.job_id, table.c.worker)
            .join(jobs, jobs.c.id == table.c.job_id)
            .where(jobs.c.status == "PENDING", table.c.executor == "server")
        )
        with self.storage.engine.connect() as conn:
            claimed = conn.execute(query).all()
        for job_id, worker in claimed:
            host, _, rest = (worker or "").partition(":")
            server_pid = rest.partition(":")[0]
            if host == socket.gethostname() and server_pid.isdigit() and process_start(int(server_pid)) is None:
                self.storage.update_job(job_id, status="QUEUED")

    def _spawn(self, slot: int) -> None:
        self._generation += 1
        name = f"{socket.gethostname()}:{os.getpid()}:w{slot}.{self._generation}"
        command = [sys.executable, "-m", "trainaction.queue_worker", "--name", name]
        command += ["--artifacts", str(self.artifacts), "--ray-cpus", str(self.ray_cpus)]
        command += ["--db", self.db] if self.db else []
        self._workers[name] = subprocess.Popen(command, stdin=subprocess.PIPE)

    def _watch(self) -> None:
        while not self._stopping.wait(_WATCH_S):
            with self._lock:
                if self._stopping.is_set():
                    return
                for name, process in list(self._workers.items()):
                    if process.poll() is None:
                        continue
                    del self._workers[name]
                    self._fail_jobs_of(name, f"the server's worker {name} died ({describe_exit(process.returncode)})")
                    self._spawn(int(name.rsplit(":w", 1)[1].split(".")[0]))

    def _fail_jobs_of(self, worker: str, reason: str, *, requeue: bool = False) -> None:
        """The jobs a dead worker held end FAILED with why (one already ended keeps its end); with
        ``requeue``, a job it had claimed but not started goes back to QUEUED instead."""
        table = store.submissions
        try:
            with self.storage.engine.connect() as conn:
                held = conn.execute(sa.select(table.c.job_id).where(table.c.worker == worker)).scalars().all()
            for job_id in held:
                status = self.storage.get_job(job_id).status
                if status in FINISHED_STATUSES or status == "QUEUED":
                    continue
                if requeue and status == "PENDING":
                    self.storage.update_job(job_id, status="QUEUED")
                    continue
                note = f"[trainaction {time.strftime('%H:%M:%S')}] job {job_id} failed: {reason}\n"
                self.storage.append_log(job_id, note)
                self.storage.update_job(job_id, status="FAILED", error=reason)
        except TrainActionError as exc:
            print(f"executor: could not record the end of {worker}'s job: {exc}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        """No more claims; running jobs end STOPPED; then the workers exit."""
        self._stopping.set()
        with self._lock:
            workers = dict(self._workers)
            for process in workers.values():
                if process.stdin is not None:
                    process.stdin.close()
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + _SHUTDOWN_GRACE_S
            for name, process in workers.items():
                try:
                    process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                reason = f"the server's worker {name} did not record its job's end at shutdown"
                self._fail_jobs_of(name, reason, requeue=True)
