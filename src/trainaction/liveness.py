"""Who runs a job, and whether it still does.

A RUNNING job records its runner — host, pid and the process's start time (so a pid the system
reused for another process is not taken for the runner) — and a heartbeat the runner refreshes
every few seconds. A reader decides the runner is gone:

- on the same host: at once, when the pid is not alive or its start time differs;
- on another host: when the heartbeat is older than :data:`STALE_AFTER_S` (no pid to look at).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "HEARTBEAT_S",
    "STALE_AFTER_S",
    "Heartbeat",
    "Runner",
    "gone_message",
    "process_start",
    "runner_gone",
    "this_runner",
]

HEARTBEAT_S = 2.0
STALE_AFTER_S = 30.0


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    start: str | None  # an opaque token of the process's start; None where the system gives none


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def this_runner() -> Runner:
    pid = os.getpid()
    return Runner(socket.gethostname(), pid, process_start(pid))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def runner_gone(
    host: str | None, pid: int | None, start: str | None, heartbeat_at: float | None, *, now: float | None = None
) -> bool:
    """Whether the runner recorded on a RUNNING job is gone. A job with no runner recorded is not judged."""
    if host is None or pid is None:
        return False
    if host == socket.gethostname():
        if not _pid_alive(pid):
            return True
        return start is not None and process_start(pid) not in (None, start)
    now = time.time() if now is None else now
    return heartbeat_at is not None and now - heartbeat_at > STALE_AFTER_S


def gone_message(heartbeat_at: float | None) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(heartbeat_at)) if heartbeat_at else "an unknown time"
    return f"the trainaction process running this job stopped at {when} (killed or lost)"


class Heartbeat:
    """A daemon thread calling ``beat()`` every ``interval`` seconds until stopped.

    A failing beat is retried at the next interval: one missed beat is harmless, and a runner
    whose beats keep failing is judged by its pid on its own host.
    """

    def __init__(self, beat: Callable[[], None], interval: float = HEARTBEAT_S) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trainaction-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception:  # noqa: BLE001, S110 - see the class docstring
                pass
