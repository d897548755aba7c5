"""A tuning job checked into what its search is made of, once.

:func:`plan_tuning` compiles the space for the job's searcher, checks the searcher and scheduler
options (Ray's own checks included, by building the scheduler), and derives what the scheduler
needs: every error at once, as a :class:`~trainaction.errors.ValidationError`. ``validate``, the
preview, the engine and PBT's mutations all read the :class:`TuningPlan` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..job import TuneConfig, TuningParams
from .checks import tuning_errors
from .compiler import SearchPlan, compile_space
from .schedulers import expected_reports, pbt_mutations, scheduler_options, stop_criterion

__all__ = ["TuningPlan", "plan_tuning"]


@dataclass(frozen=True)
class TuningPlan:
    """A checked tuning job: the space as its searcher sees it, and what its scheduler is built with."""

    params: TuningParams
    space: SearchPlan  # compiled for the job's searcher
    scheduler_options: dict[str, Any]  # ours by default, the job's on top, max_t from 'epochs'
    mutations: dict[str, Any] | None  # pbt: what it mutates, in the searcher's coordinates
    stop: dict[str, Any] | None  # Ray's per-trial stop: max_t in the scheduler's time unit
    expected_reports: int | None  # how many reports a trial is expected to make
    total_trials: int  # grid combinations x num_samples
    cpus_per_trial: float
    gpus_per_trial: float

    @property
    def config(self) -> TuneConfig:
        return self.params.tune_config

    @property
    def searcher(self) -> str:
        return self.config.search_alg.name

    @property
    def searcher_options(self) -> dict[str, Any]:
        return self.config.search_alg.options

    @property
    def scheduler(self) -> str:
        return self.config.scheduler.name

    @property
    def trials_at_once(self) -> int | None:
        """The job's own limit on trials running at once (``max_concurrent_trials``), if any."""
        return self.config.max_concurrent_trials


def plan_tuning(params: TuningParams) -> TuningPlan:
    """The job's plan, or a :class:`ValidationError` listing every reason there is none."""
    config, specs = params.tune_config, params.hyperparameters
    space = compile_space(specs, config.search_alg.name)
    errors = tuning_errors(params, space)
    if errors:
        raise ValidationError(errors)
    return TuningPlan(
        params=params,
        space=space,
        scheduler_options=scheduler_options(config, specs),
        mutations=pbt_mutations(space) if config.scheduler.name == "pbt" else None,
        stop=stop_criterion(config, specs),
        expected_reports=expected_reports(config, specs),
        total_trials=params.total_trials,
        cpus_per_trial=params.num_cpus if params.num_cpus is not None else 1.0,
        gpus_per_trial=params.num_gpus or 0.0,
    )
