"""Everything about a tuning job that can be checked before Ray starts, against its compiled space.

:func:`trainaction.tuning.plan.plan_tuning` is the one caller: a job with none of these errors has a plan.
"""

from __future__ import annotations

from ..distributions import Categorical, GridSearch, Range
from ..errors import FieldError
from ..job import TuningParams
from .compiler import SearchPlan, snap
from .schedulers import scheduler_errors
from .searchers import searcher_errors

__all__ = ["tuning_errors"]


def tuning_errors(params: TuningParams, space: SearchPlan) -> list[FieldError]:
    """Every problem with the job's search: its space, searcher, scheduler, the pair, resources, points."""
    config = params.tune_config
    errors = space.errors() + searcher_errors(config) + scheduler_errors(config, space)
    return errors + _pair_errors(params) + _resource_errors(params) + _point_errors(params)


def _resource_errors(params: TuningParams) -> list[FieldError]:
    # A trial asking for nothing fits any number of times: Ray would start every trial at once.
    # With a GPU it is the GPU that bounds them, so 0 CPUs is then a legitimate request.
    if params.num_cpus == 0 and not params.num_gpus:
        return [
            FieldError(
                "params.num_cpus",
                "0 CPUs and no GPU per trial would let Ray start every trial at once; ask for some CPU "
                "(e.g. 0.5 or 1), or set num_gpus when trials run on GPUs",
            )
        ]
    return []


# Searcher x scheduler pairs Ray refuses once it has started, and why. From Ray 2.60's source:
# PopulationBasedTraining.on_trial_add raises "Search algorithms cannot be used with
# PopulationBasedTraining schedulers" for any search algorithm wrapped in a SearchGenerator, that is
# every searcher but BasicVariantGenerator. No other scheduler here checks its searcher (HyperBand,
# ASHA, the median stopping rule and FIFO take trials from any of them).
_MODEL_BASED = ("hyperoptsearch", "optunasearch", "bayesoptsearch", "axsearch")
_REFUSED_PAIRS: dict[tuple[str, str], str] = {
    (searcher, "pbt"): (
        f"pbt cannot be used with search algorithm {searcher}: population based training makes new "
        "configurations itself, by copying and mutating the best trials, and Ray refuses any search algorithm "
        "beside it ('Search algorithms cannot be used with PopulationBasedTraining schedulers'); use the "
        f'default "search_alg": "basicvariantgenerator" with pbt, or keep {searcher} with another scheduler '
        "(asha, hyperband, median_stopping, fifo)"
    )
    for searcher in _MODEL_BASED
}


def _pair_errors(params: TuningParams) -> list[FieldError]:
    config = params.tune_config
    reason = _REFUSED_PAIRS.get((config.search_alg.name, config.scheduler.name))
    return [] if reason is None else [FieldError("params.tune_config.scheduler.name", reason)]


def _point_errors(params: TuningParams) -> list[FieldError]:
    specs = {spec.name: spec for spec in params.hyperparameters}
    errors = []
    for index, point in enumerate(params.tune_config.search_alg.points_to_evaluate or []):
        path = f"params.tune_config.search_alg.points_to_evaluate[{index}]"
        for name, value in point.items():
            spec = specs.get(name)
            if spec is None:
                errors.append(
                    FieldError(f"{path}.{name}", f"not a hyperparameter of this job; known: {', '.join(specs)}")
                )
            elif isinstance(spec, GridSearch):
                errors.append(
                    FieldError(f"{path}.{name}", "a grid_search parameter takes every value already; remove it")
                )
            elif isinstance(spec, Categorical):
                if value not in spec.options:
                    errors.append(FieldError(f"{path}.{name}", f"{value!r} is not one of the options {spec.options}"))
            elif not isinstance(value, (int, float)) or isinstance(value, bool):
                errors.append(FieldError(f"{path}.{name}", f"must be a number, got {value!r}"))
            elif isinstance(spec, Range) and snap(spec, value) != value:
                errors.append(
                    FieldError(f"{path}.{name}", f"{value} is outside [{spec.min}, {spec.max}] or off its q grid")
                )
    return errors
