"""Runs the plugin's ``train()`` in its own process until it ends, one way or another.

Its stdout and stderr go to the job log; its events reach the backend through the spool and the
:class:`~trainaction.pump.EventPump`. When the process ends — normally, by an exception, or
abruptly — the pump's last drain collects everything it wrote.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .pump import EventPump
from .wire import Control, Error, Result

__all__ = ["PluginProcess", "WorkerOutcome", "child_grace_seconds", "describe_exit"]


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
    """One run of ``python -m trainaction.worker`` for one job.

    The worker leads a process group of its own. When it ends, processes it left in that group get
    ``TRAINACTION_CHILD_GRACE_S`` seconds (3 by default) to end, then are terminated and named in
    the job log: the job ends when ``train()`` returns, whatever it started.
    """

    def __init__(self, spec: dict[str, Any], run_dir: Path, make_pump: Any) -> None:
        self._spec_path = run_dir / "spec.json"
        run_dir.mkdir(parents=True, exist_ok=True)
        # The worker dies with this process (see trainaction.worker); it needs our pid to tell.
        self._spec_path.write_text(json.dumps({**spec, "parent_pid": os.getpid()}), encoding="utf-8")
        self.outcome = WorkerOutcome()
        self._pump: EventPump = make_pump(self._on_control, self._on_pump_failure)
        self._process: subprocess.Popen[bytes] | None = None
        self._output_done = threading.Event()

    def _on_control(self, record: Control) -> None:
        match record:
            case Result(returned_path=returned_path, checkpoint_output=checkpoint_output):
                self.outcome.succeeded = True
                self.outcome.returned_path = returned_path
                self.outcome.checkpoint_output = checkpoint_output
            case Error(message=message):
                self.outcome.error = message

    def _on_pump_failure(self, cause: str) -> None:
        # Events can no longer be stored: running on would only lose more of them.
        if self._process is not None:
            _signal_group(self._process.pid, signal.SIGKILL)

    def run(self) -> WorkerOutcome:
        """Run the plugin to its end. On KeyboardInterrupt, stop it, keep what it logged, re-raise."""
        process = self._process = subprocess.Popen(
            [sys.executable, "-m", "trainaction.worker", str(self._spec_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True,  # Ctrl-C reaches us first; we stop the plugin in order
        )
        assert process.stdout is not None
        output = threading.Thread(target=self._read_output, args=(process.stdout.fileno(),), daemon=True)
        output.start()
        self._pump.start()
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            _stop(process)
            self._finish(process, output, grace=0.0)
            raise
        self._finish(process, output, grace=child_grace_seconds())
        outcome = self.outcome
        outcome.last_metrics = self._pump.last_metrics
        outcome.exit_status = describe_exit(returncode)
        failure = self._pump.failure_message()
        if failure is not None:
            outcome.succeeded, outcome.error = False, failure
        elif returncode != 0 or not outcome.succeeded:
            outcome.succeeded = False
            if outcome.error is None:
                outcome.error = f"the plugin process ended abruptly ({outcome.exit_status}) before train() returned"
        return outcome

    def _finish(self, process: subprocess.Popen[bytes], output: threading.Thread, grace: float) -> None:
        left = _end_group(process.pid, grace)
        if left:
            self._pump.log(
                f"[trainaction] train() returned but the plugin left {len(left)} process(es) running "
                f"(pids {', '.join(map(str, left))}); terminated them after {grace:g} s\n"
            )
        self._output_done.set()
        output.join(timeout=10)
        assert process.stdout is not None
        if not output.is_alive():
            process.stdout.close()
        self._pump.stop()

    def _read_output(self, fd: int) -> None:
        # select() with a timeout, not readline(): a process that escaped the group and still holds
        # the pipe must not keep this thread, and the job, waiting forever.
        pending = b""
        while True:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                if self._output_done.is_set():
                    break
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            if cut:
                self._pump.log(pending[:cut].decode("utf-8", errors="replace"))
                pending = pending[cut:]
        if pending:
            self._pump.log(pending.decode("utf-8", errors="replace"))


def child_grace_seconds() -> float:
    """``TRAINACTION_CHILD_GRACE_S``: how long processes a plugin left behind may run on (3 s by default)."""
    try:
        return max(0.0, float(os.environ.get("TRAINACTION_CHILD_GRACE_S") or 3.0))
    except ValueError:
        return 3.0


def _group_members(pgid: int) -> list[int]:
    """Live processes of group ``pgid`` (Linux /proc); elsewhere [-1] while the group exists."""
    if not os.path.isdir("/proc/self"):
        return [-1] if _signal_group(pgid, 0) else []
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry))
    return sorted(members)


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _end_group(pgid: int, grace: float) -> list[int]:
    """Wait up to ``grace`` s for the group to empty, then SIGTERM, then SIGKILL it; the pids that were left."""
    deadline = time.monotonic() + grace
    left = _group_members(pgid)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _group_members(pgid)
    if left:
        _signal_group(pgid, signal.SIGTERM)
        until = time.monotonic() + 2.0
        while _group_members(pgid) and time.monotonic() < until:
            time.sleep(0.05)
        _signal_group(pgid, signal.SIGKILL)
    return left


def _stop(process: subprocess.Popen[bytes]) -> None:
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
