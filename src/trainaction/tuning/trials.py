"""The live trials table.

The table is logged through the job's event stream as ``trials`` events. Each event carries the
rows that changed since the previous one (``trials``), so what is stored grows with trial events,
not with trials × snapshots; :func:`trainaction.tables.fold_tables` rebuilds the latest full table from them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.result import AUTO_RESULT_KEYS

from ..cluster.remote import NODE_IP_KEY, NODE_KEY
from .compiler import SearchPlan

__all__ = ["RAY_RESULT_KEYS", "TrialsTable", "trial_error", "trial_traceback"]

MAX_METRIC_COLUMNS = 4
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Keys Ray adds to every result: not the plugin's metrics.
RAY_RESULT_KEYS = frozenset(AUTO_RESULT_KEYS) | {
    "trial_id",
    "done",
    "experiment_tag",
    "should_checkpoint",
    NODE_KEY,
    NODE_IP_KEY,
}


class TrialsTable(Callback):
    """A Ray Tune callback keeping one row per trial and emitting the changed rows, throttled."""

    def __init__(
        self,
        plan: SearchPlan,
        metric: str,
        emit: Callable[[dict[str, Any]], None],
        on_finished: Callable[[int], None],
        interval: float = 0.5,
        *,
        log: Callable[[str], None] = lambda line: None,
        error_override: Callable[[str], str | None] = lambda trial_id: None,
    ) -> None:
        self._plan = plan
        self._emit = emit
        self._on_finished = on_finished
        self._log = log
        self._error_override = error_override
        self._completed: set[str] = set()  # trials that ended on their own or by the scheduler
        self._recovered: dict[str, int] = {}
        self.started: set[str] = set()  # trials whose tune() was called at least once
        self._interval = interval
        self._rows: dict[str, dict[str, Any]] = {}
        self._order: list[str] = []
        self._changed: set[str] = set()
        self._metrics = [metric]
        self._last_emit = 0.0
        self.hyperparameters = [p.spec.name for p in plan.params]
        self.history: dict[str, list[float]] = {}  # every reported value of the optimised metric

    def __getstate__(self) -> dict[str, Any]:
        # Ray pickles callbacks with the experiment's state; the live table stays in this process.
        state = self.__dict__.copy()
        state["_emit"] = state["_on_finished"] = state["_log"] = state["_error_override"] = None
        return state

    def restore(self, table: dict[str, Any]) -> None:
        """Continue the stored table of a search that was cut off (`jobs resume`): the trials that had
        ended keep their rows (Ray does not run them again, so no hook would fill them)."""
        for key in table.get("metrics", []):
            if key not in self._metrics and len(self._metrics) < MAX_METRIC_COLUMNS:
                self._metrics.append(key)
        for trial_id, row in table.get("trials", {}).items():
            if row.get("status") not in ("TERMINATED", "ERROR") or trial_id in self._rows:
                continue
            self._rows[trial_id] = dict(row)
            self._order.append(trial_id)
            self.started.add(trial_id)
            if row["status"] == "TERMINATED":
                self._completed.add(trial_id)

    # Ray's hooks --------------------------------------------------------------------------

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.started.add(trial.trial_id)
        self._touch(trial)
        self._maybe_emit()

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        row = self._touch(trial)
        if result.get(NODE_KEY):  # where the trial runs now (a retry may run it elsewhere)
            row["node"], row["node_ip"] = result[NODE_KEY], result.get(NODE_IP_KEY)
        value = result.get(self._metrics[0])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.history.setdefault(trial.trial_id, []).append(float(value))
        for key, value in result.items():
            if (
                key in RAY_RESULT_KEYS
                or key == "checkpoint_output"
                or not isinstance(value, (int, float))
                or isinstance(value, bool)
            ):
                continue
            if key not in self._metrics and len(self._metrics) < MAX_METRIC_COLUMNS:
                self._metrics.append(key)
            if key in self._metrics:
                row[key] = value
        self._maybe_emit()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._completed.add(trial.trial_id)
        self._touch(trial, "TERMINATED")
        self._finished(trials)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        row = self._touch(trial, "ERROR")
        override = self._error_override(trial.trial_id)
        row["error"] = override or trial_error(trial)
        # The whole traceback, not only its last line: Ray keeps it in the trial's error.txt otherwise.
        text = override or trial_traceback(trial) or row["error"]
        self._log("".join(f"[trial {trial.trial_id}] {line}\n" for line in text.splitlines()))
        self._finished(trials)

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._recovered[trial.trial_id] = self._recovered.get(trial.trial_id, 0) + 1
        self._touch(trial, "PENDING")
        self._maybe_emit()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        for trial in trials:
            row = self._rows.get(trial.trial_id)
            if row is None or row["status"] != self._status(trial):
                self._touch(trial)
        self._maybe_emit()

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        for trial in trials:
            self._touch(trial)
        self.flush()

    # table --------------------------------------------------------------------------------

    def _touch(self, trial: Any, status: str | None = None) -> dict[str, Any]:
        trial_id = trial.trial_id
        row = self._rows.get(trial_id)
        if row is None:
            row = self._rows[trial_id] = {"status": "PENDING", **self._plan.decode(trial.config)}
            self._order.append(trial_id)
        row["status"] = status or self._status(trial)
        # Ray's num_failures also counts the failure that ended the trial: not a retry.
        row["retries"] = self._recovered.get(trial_id, 0)
        self._changed.add(trial_id)
        return row

    def _status(self, trial: Any) -> str:
        """Ray's status, except that a trial Ray ended because the whole search was stopped (a
        signal, time_budget_s) is STOPPED: Ray calls it TERMINATED without it having completed."""
        if trial.status == "TERMINATED" and trial.trial_id not in self._completed:
            return "STOPPED"
        return str(trial.status)

    def _finished(self, trials: list[Any]) -> None:
        self._on_finished(sum(t.status in ("TERMINATED", "ERROR") for t in trials))
        self._maybe_emit()

    def _columns(self, best_trial: str) -> dict[str, Any]:
        base = ["status", "retries"]
        return {
            "base": base,
            "hyperparameters": self.hyperparameters,
            "metrics": list(self._metrics),
            "best_trial": best_trial,
        }

    def _maybe_emit(self) -> None:
        if time.monotonic() - self._last_emit >= self._interval:
            self.flush()

    def flush(self) -> None:
        if not self._changed:
            return
        changed = {trial_id: dict(self._rows[trial_id]) for trial_id in self._order if trial_id in self._changed}
        self._changed.clear()
        self._last_emit = time.monotonic()
        self._emit({"trials": changed, **self._columns("")})

    def final(self, best_trial: str) -> dict[str, Any]:
        """The whole table, with the best trial marked, from the last state (no new collection).
        A trial still PENDING, RUNNING or PAUSED here was cut off by an interrupt: STOPPED."""
        for row in self._rows.values():
            if row["status"] in ("PENDING", "RUNNING", "PAUSED"):
                row["status"] = "STOPPED"
        return {
            "trials": {trial_id: dict(self._rows[trial_id]) for trial_id in self._order},
            **self._columns(best_trial),
        }

    @property
    def order(self) -> list[str]:
        """Trial ids in the order the trials were first seen (created or started)."""
        return list(self._order)

    def config(self, trial_id: str) -> dict[str, Any]:
        """The trial's decoded hyperparameters, as the table shows them."""
        row = self._rows.get(trial_id, {})
        return {name: row[name] for name in self.hyperparameters if name in row}

    @property
    def statuses(self) -> dict[str, str]:
        return {trial_id: row["status"] for trial_id, row in self._rows.items()}


def trial_error(trial: Any) -> str:
    """The last line of the trial's traceback: the exception and its message."""
    lines = [line.strip() for line in trial_traceback(trial).splitlines() if line.strip()]
    return lines[-1][:500] if lines else "the trial failed"


def trial_traceback(trial: Any) -> str:
    """The traceback Ray wrote to the trial's error.txt (without its terminal colours), or ""."""
    path = trial.error_file
    try:
        text = Path(path).read_text(encoding="utf-8").rstrip() if path else ""
    except OSError:
        return ""
    return _ANSI.sub("", text)
