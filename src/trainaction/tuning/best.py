"""The choice of the best trial: a pure function of the trials' summaries and the job's rule.

The rule, as ``best_rule`` in the job's result states it: the trial with the highest (``mode``
max) or lowest (min) value of ``metric`` in its last report (``scope`` last) or over all its
reports (``scope`` best); ERROR trials never win, a trial stopped early competes with what it
reported, NaN never wins, and a tie goes to the trial that started earlier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .summary import TrialSummary

__all__ = ["best_trial", "select_best"]


def best_trial(trials: Sequence[TrialSummary], metric: str, mode: str, scope: str) -> tuple[str | None, str]:
    """The best trial's id (None if no trial qualifies) and why. ``trials`` in the order they started."""
    candidates = []
    for trial in trials:
        if trial.error is not None:
            continue
        if scope == "best" and trial.history:
            pick = max if mode == "max" else min
            candidates.append((trial.trial_id, pick(trial.history)))
        elif isinstance(trial.metrics.get(metric), (int, float)):
            candidates.append((trial.trial_id, float(trial.metrics[metric])))
    best = select_best(candidates, mode)
    if best is None:
        why = "every trial failed" if trials and all(t.error is not None for t in trials) else None
        return None, why or f"no trial without an error reported a number for '{metric}'"
    value = dict(candidates)[best]
    over = "its last report" if scope == "last" else "all its reports"
    return best, f"{'highest' if mode == 'max' else 'lowest'} '{metric}' over {over}: {value:g}"


def select_best(candidates: list[tuple[str, float]], mode: str) -> str | None:
    """The best (trial id, value) by ``mode``; a tie goes to the earlier trial in ``candidates``."""
    best: tuple[str, float] | None = None
    for trial_id, value in candidates:
        if math.isnan(value):
            continue
        if best is None or (value > best[1] if mode == "max" else value < best[1]):
            best = (trial_id, value)
    return best[0] if best else None
