"""Ray's median stopping rule, as a stopping rule only: it never pauses a trial.

Ray's rule pauses a trial "to yield time" when too few other trials have reached its step to
compare it with and others are waiting. A paused trial's ``tune()`` is called again later; one
that does not resume from its ``checkpoint`` starts from epoch 0, reports once and is paused
again, and the job never ends. Here a trial without enough company simply goes on.
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import MedianStoppingRule as _RayMedianStoppingRule
from ray.tune.schedulers import TrialScheduler

__all__ = ["MedianStoppingRule"]


class MedianStoppingRule(_RayMedianStoppingRule):
    # Ray's options but hard_stop and min_time_slice, which would pause trials.
    def __init__(
        self,
        time_attr: str = "time_total_s",
        metric: str | None = None,
        mode: str | None = None,
        grace_period: float = 60.0,
        min_samples_required: int = 3,
    ) -> None:
        super().__init__(
            time_attr=time_attr,
            metric=metric,
            mode=mode,
            grace_period=grace_period,
            min_samples_required=min_samples_required,
            min_time_slice=0,
            hard_stop=True,
        )

    def _on_insufficient_samples(self, tune_controller: Any, trial: Trial, time: float) -> str:
        return str(TrialScheduler.CONTINUE)
