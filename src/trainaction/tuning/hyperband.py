"""Ray's synchronous HyperBand, guarded against leaving a trial PAUSED forever.

HyperBand pauses a trial at a rung until the rest of its bracket gets there. When the others end
early instead (a plugin whose loop is shorter than the rung), Ray's bracket can wait for them
forever: the job hangs with a PAUSED trial (seen with 4 trials of 2-4 epochs). When nothing is
running or pending any more, a paused trial is resumed so that every trial runs to its end.
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import HyperBandScheduler as _RayHyperBandScheduler

__all__ = ["HyperBandScheduler"]


class HyperBandScheduler(_RayHyperBandScheduler):
    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        trial = super().choose_trial_to_run(tune_controller)
        if trial is not None:
            return trial
        trials = tune_controller.get_trials()
        if any(t.status in (Trial.RUNNING, Trial.PENDING) for t in trials):
            return None
        paused: list[Trial] = [t for t in trials if t.status == Trial.PAUSED]
        if not paused:
            return None
        for band in self._hyperbands:
            for bracket in band:
                if bracket is not None and paused[0] in bracket.current_trials():
                    bracket.is_being_processed = False
        return paused[0]
