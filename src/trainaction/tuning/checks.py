"""Everything about a tuning job that can be checked before Ray starts, and the preview
``trainaction validate`` shows: total trials, the space each searcher sees, the rung plan,
and how many trials can run at once.
"""

from __future__ import annotations

import glob
import logging
import os
from typing import Any

from ..errors import FieldError
from ..job import TrainParams
from ..space import GridSearch
from .schedulers import rung_plan, scheduler_errors
from .searchers import searcher_errors
from .space import compile_space, snap

__all__ = ["preview_lines", "tuning_errors", "tuning_notices", "tuning_preview"]


def tuning_errors(params: TrainParams) -> list[FieldError]:
    assert params.hyperparameters is not None and params.tune_config is not None
    config, specs = params.tune_config, params.hyperparameters
    plan = compile_space(specs, config.search_alg.name)
    errors = plan.errors() + searcher_errors(config) + scheduler_errors(config, specs)
    return errors + _point_errors(params)


def _point_errors(params: TrainParams) -> list[FieldError]:
    assert params.hyperparameters is not None and params.tune_config is not None
    specs = {spec.name: spec for spec in params.hyperparameters}
    errors = []
    for index, point in enumerate(params.tune_config.search_alg.points_to_evaluate or []):
        path = f"params.tune_config.search_alg.points_to_evaluate[{index}]"
        for name, value in point.items():
            spec = specs.get(name)
            if spec is None:
                errors.append(FieldError(f"{path}.{name}", f"not a hyperparameter of this job; known: {', '.join(specs)}"))
            elif isinstance(spec, GridSearch):
                errors.append(FieldError(f"{path}.{name}", "a grid_search parameter takes every value already; remove it"))
            elif hasattr(spec, "options"):
                if value not in spec.options:
                    errors.append(FieldError(f"{path}.{name}", f"{value!r} is not one of the options {spec.options}"))
            elif not isinstance(value, (int, float)) or isinstance(value, bool):
                errors.append(FieldError(f"{path}.{name}", f"must be a number, got {value!r}"))
            elif hasattr(spec, "min") and snap(spec, value) != value:
                low, high = getattr(spec, "min"), getattr(spec, "max")  # noqa: B009 - only range specs get here
                errors.append(FieldError(f"{path}.{name}", f"{value} is outside [{low}, {high}] or off its q grid"))
    return errors


def tuning_notices(params: TrainParams) -> list[str]:
    assert params.hyperparameters is not None and params.tune_config is not None
    notices = []
    samples = params.tune_config.num_samples
    if samples > 1 and params.hyperparameters and all(isinstance(s, GridSearch) for s in params.hyperparameters):
        notices.append(
            f"every hyperparameter is a grid_search and num_samples is {samples}: each of the "
            f"{params.total_trials // samples} configurations will run {samples} times"
        )
    return notices


def _local_resources() -> dict[str, float]:
    """This machine's CPUs and GPUs, as Ray would count them, without starting Ray."""
    gpus = len(glob.glob("/dev/nvidia[0-9]*"))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = min(gpus, len([d for d in visible.split(",") if d.strip()]))
    return {"CPU": float(os.cpu_count() or 1), "GPU": float(gpus)}


def _cluster_resources() -> dict[str, float]:
    import ray

    ray.init(address=os.environ["RAY_ADDRESS"], include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
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
    resources = _cluster_resources() if os.environ.get("RAY_ADDRESS") else _local_resources()
    fits = [resources["CPU"] / cpus if cpus else float("inf"), resources["GPU"] / gpus if gpus else float("inf")]
    at_once = int(min(fits)) if min(fits) != float("inf") else params.total_trials
    if config.max_concurrent_trials is not None:
        at_once = min(at_once, config.max_concurrent_trials)
    return {
        "total_trials": params.total_trials,
        "search_alg": config.search_alg.name,
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
        f"each trial: ERROR \"timed out\" after {limits['trial_timeout_s']:g} s of wall clock (trial_timeout_s)"
        if limits["trial_timeout_s"] is not None else "each trial: no time limit (set tune_config.trial_timeout_s to add one)"
    )
    lines.append(
        f"whole search: trials still running after {limits['time_budget_s']:g} s are stopped and the job ends (time_budget_s)"
        if limits["time_budget_s"] is not None else "whole search: no time budget (set tune_config.time_budget_s to add one)"
    )
    rule = preview["best_rule"]
    lines.append(f"best trial: {rule['mode']} '{rule['metric']}' over each trial's {rule['scope']} report; ties go to the {rule['ties']}")
    return lines
