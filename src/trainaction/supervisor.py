"""Runs the plugin's ``train()`` in its own process until it ends, one way or another.

Its stdout and stderr go to the job log; its events reach the backend through the spool and the
:class:`~trainaction.pump.EventPump`. When the process ends — normally, by an exception, or
abruptly — the pump's last drain collects everything it wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .pump import EventPump

__all__ = ["PluginProcess", "WorkerOutcome", "describe_exit"]


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

    def __init__(self, spec: dict[str, Any], run_dir: Path, make_pump: Any) -> None:
        self._spec_path = run_dir / "spec.json"
        run_dir.mkdir(parents=True, exist_ok=True)
        self._spec_path.write_text(json.dumps(spec), encoding="utf-8")
        self.outcome = WorkerOutcome()
        self._pump: EventPump = make_pump(self._on_control)

    def _on_control(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == "_result":
            self.outcome.succeeded = True
            self.outcome.returned_path = data["returned_path"]
            self.outcome.checkpoint_output = data["checkpoint_output"]
        elif type_ == "_error":
            self.outcome.error = data["message"]

    def run(self) -> WorkerOutcome:
        """Run the plugin to its end. On KeyboardInterrupt, stop it, keep what it logged, re-raise."""
        process = subprocess.Popen(
            [sys.executable, "-m", "trainaction.worker", str(self._spec_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True,  # Ctrl-C reaches us first; we stop the plugin in order
        )
        assert process.stdout is not None
        output = threading.Thread(target=self._read_output, args=(process.stdout,), daemon=True)
        output.start()
        self._pump.start()
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            _stop(process)
            self._finish(process, output)
            raise
        self._finish(process, output)
        outcome = self.outcome
        outcome.last_metrics = self._pump.last_metrics
        outcome.exit_status = describe_exit(returncode)
        if returncode != 0 or not outcome.succeeded:
            outcome.succeeded = False
            if outcome.error is None:
                outcome.error = f"the plugin process ended abruptly ({outcome.exit_status}) before train() returned"
        return outcome

    def _finish(self, process: subprocess.Popen[bytes], output: threading.Thread) -> None:
        output.join(timeout=5)
        assert process.stdout is not None
        process.stdout.close()
        self._pump.stop()

    def _read_output(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._pump.log(line.decode("utf-8", errors="replace"))


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
