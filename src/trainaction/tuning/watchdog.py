"""The restart watchdog: a trial that keeps being restarted without getting further is ended as ERROR.

A trial is *restarted* when Ray starts it again from a restored checkpoint: after a scheduler
paused it, after a PBT exploit, after a retry. Ray gives the restarted trial the
``training_iteration`` of that checkpoint. If ``tune()`` ignores its ``checkpoint`` and reports
a checkpoint only now and then, each restart can go back to the same early checkpoint, and the
trial runs for ever without its iteration getting past where it was before.

The count has to outlive the restart, so it lives in the driver, in this Ray callback; the verdict
has to reach the trial, so it is written to the trial's folder before Ray runs the trial again,
and the trainable raises :class:`~trainaction.errors.TrialRestartLoop` on finding it (Ray marks the trial ERROR with
that message). The trainable already writes its output under the same ``trials_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune import Callback

from ..errors import TrialRestartLoop

__all__ = ["RestartWatchdog", "check_verdict", "restart_limit", "verdict_file"]

# The "3 x its expected reports"; a trial whose reports we cannot foresee gets this many.
RESTARTS_PER_REPORT = 3
UNKNOWN_REPORTS_LIMIT = 30


def restart_limit(expected_reports: int | None) -> int:
    """Restarts allowed without progress: three per expected report."""
    if expected_reports is None:
        return UNKNOWN_REPORTS_LIMIT
    return RESTARTS_PER_REPORT * max(1, expected_reports)


def verdict_file(trials_dir: Path | str, trial_id: str) -> Path:
    return Path(trials_dir) / trial_id / "restart_loop.txt"


@dataclass
class _Progress:
    best: int = 0  # the highest training_iteration the trial reported
    restarts: int = 0  # restarts since `best` last went up


class RestartWatchdog(Callback):
    def __init__(self, trials_dir: Path, limit: int) -> None:
        self._trials_dir = Path(trials_dir)
        self.limit = limit
        self._progress: dict[str, _Progress] = {}

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        reached = result.get("training_iteration")
        progress = self._progress.setdefault(trial.trial_id, _Progress())
        if isinstance(reached, int) and reached > progress.best:
            progress.best, progress.restarts = reached, 0

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if trial.latest_checkpoint_result is None:
            return  # a first start, or a retry without a checkpoint: tune() starts afresh anyway
        progress = self._progress.setdefault(trial.trial_id, _Progress())
        progress.restarts += 1
        if progress.restarts <= self.limit:
            return
        file = verdict_file(self._trials_dir, trial.trial_id)
        if file.exists():
            return  # given up on already
        # The verdict is final: the error it raises must not be retried under max_failures.
        trial.max_failures = 0
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(
            f"trial {trial.trial_id} was restarted from a checkpoint {progress.restarts} times without its "
            f"training_iteration getting past {progress.best} (limit: {self.limit} restarts). tune() seems to start "
            "its loop again on each restart; resume from the `checkpoint` argument (weights and epoch, as "
            "examples/digits/plugin.py does) and report a checkpoint with every report",
            encoding="utf-8",
        )


def check_verdict(trials_dir: Path | str, trial_id: str) -> None:
    """In the trial: raise if the watchdog has given up on this trial."""
    file = verdict_file(trials_dir, trial_id)
    if file.is_file():
        raise TrialRestartLoop(file.read_text(encoding="utf-8"))
