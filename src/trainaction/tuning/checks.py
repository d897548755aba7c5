"""Everything about a tuning job that can be checked before Ray starts, and the preview
``trainaction validate`` shows: total trials, the space each searcher sees, the rung plan,
and how many trials can run at once.
"""

from __future__ import annotations

import glob
import logging
import os
from typing import Any

from ..distributions import Categorical, GridSearch, Range
from ..errors import FieldError
from ..job import TrainParams
from .compiler import compile_space, snap
from .schedulers import rung_plan, scheduler_errors, scheduler_options
from .searchers import sampler_summary, searcher_errors, searcher_notices

__all__ = ["capacity_errors", "preview_lines", "tuning_errors", "tuning_notices", "tuning_preview"]


def tuning_errors(params: TrainParams) -> list[FieldError]:
    assert params.hyperparameters is not None and params.tune_config is not None
    config, specs = params.tune_config, params.hyperparameters
    plan = compile_space(specs, config.search_alg.name)
    errors = plan.errors() + searcher_errors(config) + scheduler_errors(config, specs)
    return errors + _pair_errors(params) + _resource_errors(params) + _point_errors(params)


def _resource_errors(params: TrainParams) -> list[FieldError]:
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


def capacity_errors(preview: dict[str, Any]) -> list[FieldError]:
    """An error when not one trial fits where the job will run (the preview's ``trials_at_once`` is 0)."""
    if preview["trials_at_once"] > 0:
        return []
    asked, have, where = preview["resources_per_trial"], preview["cluster_resources"], preview["cluster"]
    errors = []
    for field, unit in (("num_cpus", "CPU"), ("num_gpus", "GPU")):
        if asked[unit] > have[unit]:
            errors.append(
                FieldError(
                    f"params.{field}",
                    f"each trial asks for {asked[unit]:g} {unit}(s) but {where} has {have[unit]:g}, so no trial can run; "
                    f"lower {field} or run on a cluster that has them (--ray-address / RAY_ADDRESS)",
                )
            )
    return errors


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


def _pair_errors(params: TrainParams) -> list[FieldError]:
    assert params.tune_config is not None
    config = params.tune_config
    reason = _REFUSED_PAIRS.get((config.search_alg.name, config.scheduler.name))
    return [] if reason is None else [FieldError("params.tune_config.scheduler.name", reason)]


def _point_errors(params: TrainParams) -> list[FieldError]:
    assert params.hyperparameters is not None and params.tune_config is not None
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


def tuning_notices(params: TrainParams) -> list[str]:
    assert params.hyperparameters is not None and params.tune_config is not None
    notices = searcher_notices(params.tune_config, params.hyperparameters)
    samples = params.tune_config.num_samples
    if samples > 1 and params.hyperparameters and all(isinstance(s, GridSearch) for s in params.hyperparameters):
        notices.append(
            f"every hyperparameter is a grid_search and num_samples is {samples}: each of the "
            f"{params.total_trials // samples} configurations will run {samples} times"
        )
    if params.tune_config.scheduler.name == "pbt":
        max_t = scheduler_options(params.tune_config, params.hyperparameters).get("max_t")
        notices.append(
            "pbt restarts trials from checkpoints: a trial it pauses goes on from its own last checkpoint, and a "
            "weak trial from a better trial's checkpoint with mutated hyperparameters; tune() should resume from its "
            "`checkpoint` argument (weights and epoch, as examples/digits/plugin.py does) and report a checkpoint "
            "every epoch"
            + (
                f"; each trial stops after {max_t} reports (max_t), even if tune() starts its loop again"
                if max_t is not None
                else ""
            )
        )
    return notices


def local_resources() -> dict[str, float]:
    """This machine's CPUs and GPUs, as Ray would count them, without starting Ray."""
    gpus = len(glob.glob("/dev/nvidia[0-9]*"))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = min(gpus, len([d for d in visible.split(",") if d.strip()]))
    return {"CPU": float(os.cpu_count() or 1), "GPU": float(gpus)}


def _cluster_resources() -> dict[str, float]:
    import ray

    ray.init(
        address=os.environ["RAY_ADDRESS"], include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
    )
    try:
        totals = ray.cluster_resources()
    finally:
        ray.shutdown()
    return {"CPU": float(totals.get("CPU", 0)), "GPU": float(totals.get("GPU", 0))}


def tuning_preview(params: TrainParams) -> dict[str, Any]:
    """What the tuning job will do, for ``trainaction validate``."""
    assert params.hyperparameters is not None and params.tune_config is not None
    config = params.tune_config
    plan = compile_space(params.hyperparameters, config.search_alg.name)
    cpus, gpus = params.num_cpus if params.num_cpus is not None else 1.0, params.num_gpus or 0.0
    resources = _cluster_resources() if os.environ.get("RAY_ADDRESS") else local_resources()
    fits = [resources["CPU"] / cpus if cpus else float("inf"), resources["GPU"] / gpus if gpus else float("inf")]
    at_once = int(min(fits)) if min(fits) != float("inf") else params.total_trials
    if config.max_concurrent_trials is not None:
        at_once = min(at_once, config.max_concurrent_trials)
    return {
        "total_trials": params.total_trials,
        "search_alg": config.search_alg.name,
        "sampler": sampler_summary(config),
        "space": plan.describe(),
        "scheduler": config.scheduler.name,
        "rungs": rung_plan(config, params.hyperparameters),
        "resources_per_trial": {"CPU": cpus, "GPU": gpus},
        "cluster": "RAY_ADDRESS " + os.environ["RAY_ADDRESS"] if os.environ.get("RAY_ADDRESS") else "this machine",
        "cluster_resources": resources,
        "trials_at_once": min(at_once, params.total_trials),
        "best_rule": {"metric": config.metric, "mode": config.mode, "scope": config.scope, "ties": "earlier trial"},
        "time_limits": {"trial_timeout_s": config.trial_timeout_s, "time_budget_s": config.time_budget_s},
    }


def preview_lines(preview: dict[str, Any]) -> list[str]:
    """The preview as sentences, for the ``notices`` of ``trainaction validate``."""
    cpus, gpus = preview["resources_per_trial"]["CPU"], preview["resources_per_trial"]["GPU"]
    have = preview["cluster_resources"]
    lines = [
        f"total trials: {preview['total_trials']} (grid combinations x num_samples)",
        f"trials at once: {preview['trials_at_once']} ({cpus:g} CPU and {gpus:g} GPU per trial; "
        f"{preview['cluster']} has {have['CPU']:g} CPU and {have['GPU']:g} GPU)",
    ]
    if preview["sampler"] is not None:
        lines.append(f"{preview['search_alg']} sampler: {preview['sampler']}")
    lines += [f"{preview['search_alg']} sees '{name}' {how}" for name, how in preview["space"].items()]
    for rung in preview["rungs"] or []:
        if "bracket" in rung:
            lines.append(
                f"{preview['scheduler']} bracket {rung['bracket']}: {rung['trials']} trial(s), first compared at report "
                f"{rung['first_rung_at']:g}, {rung['rungs']} rung(s)"
            )
        else:
            lines.append(f"{preview['scheduler']} rung at report {rung['at']:g}: keep {rung['keep']}")
    limits = preview["time_limits"]
    lines.append(
        f'each trial: ERROR "timed out" after {limits["trial_timeout_s"]:g} s of wall clock (trial_timeout_s)'
        if limits["trial_timeout_s"] is not None
        else "each trial: no time limit (set tune_config.trial_timeout_s to add one)"
    )
    lines.append(
        f"whole search: trials still running after {limits['time_budget_s']:g} s are stopped and the job ends (time_budget_s)"
        if limits["time_budget_s"] is not None
        else "whole search: no time budget (set tune_config.time_budget_s to add one)"
    )
    rule = preview["best_rule"]
    lines.append(
        f"best trial: {rule['mode']} '{rule['metric']}' over each trial's {rule['scope']} report; ties go to the {rule['ties']}"
    )
    return lines
