"""What a finished search hands back: one plain record per trial, the best trial and why.

No Ray in here: :class:`~trainaction.action.TrainAction` turns a summary into model uploads and the
job's result, and the best-trial rule (:mod:`trainaction.tuning.best`) reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["INTERRUPTED", "TIME_BUDGET", "TrialSummary", "TuningSummary"]

# Why a search ended before its trials did (limits.SearchStop.reason).
INTERRUPTED = "interrupted"
TIME_BUDGET = "time_budget"


@dataclass(frozen=True)
class TrialSummary:
    trial_id: str
    trial_logdir: str
    status: str  # as in the final trials table: TERMINATED, ERROR or STOPPED
    config: dict[str, Any]  # the hyperparameters the plugin saw
    metrics: dict[str, Any]  # the last report, without Ray's own keys
    error: str | None  # why an ERROR trial failed
    history: tuple[float, ...]  # every reported value of the optimised metric, in order
    started: bool  # whether tune() was called at least once
    model_source: Path | None  # the files that are its model; None when it left none
    model_id: int | None = None  # its model, when the trial uploaded it from another node of the cluster


@dataclass(frozen=True)
class TuningSummary:
    trials: tuple[TrialSummary, ...]  # in the order the trials started
    total: int  # the trials the job asked for
    best_trial: str | None
    best_reason: str  # why that trial, or why none
    stop_reason: str | None  # INTERRUPTED or TIME_BUDGET when the search was cut short
    # Why events of the job could not be stored, if they could not: the job fails once its models are kept.
    store_failure: str | None = None

    @property
    def ran(self) -> list[TrialSummary]:
        return [t for t in self.trials if t.started]

    @property
    def errored(self) -> list[TrialSummary]:
        return [t for t in self.trials if t.error is not None]

    @property
    def stopped(self) -> list[TrialSummary]:
        return [t for t in self.trials if t.status == "STOPPED"]
