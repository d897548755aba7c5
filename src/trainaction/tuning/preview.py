"""What ``trainaction validate`` shows of a tuning job's plan, and what ``run`` checks against
the machine: total trials, the space the searcher sees, the rung plan, how many trials fit at once.
"""

from __future__ import annotations

import glob
import logging
import os
from typing import Any

from ..distributions import GridSearch
from ..errors import FieldError
from .plan import TuningPlan
from .schedulers import rung_plan
from .searchers import sampler_summary, searcher_notices

__all__ = ["capacity_errors", "local_resources", "preview_lines", "tuning_notices", "tuning_preview"]


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


def tuning_notices(plan: TuningPlan) -> list[str]:
    """What the job will do that its author may not expect."""
    samples, specs = plan.config.num_samples, plan.params.hyperparameters
    notices = searcher_notices(plan.config, specs)
    if samples > 1 and specs and all(isinstance(s, GridSearch) for s in specs):
        notices.append(
            f"every hyperparameter is a grid_search and num_samples is {samples}: each of the "
            f"{plan.total_trials // samples} configurations will run {samples} times"
        )
    if plan.scheduler == "pbt":
        max_t = plan.scheduler_options.get("max_t")
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


def tuning_preview(plan: TuningPlan) -> dict[str, Any]:
    """What the tuning job will do, for ``trainaction validate``."""
    config, total = plan.config, plan.total_trials
    cpus, gpus = plan.cpus_per_trial, plan.gpus_per_trial
    resources = _cluster_resources() if os.environ.get("RAY_ADDRESS") else local_resources()
    fits = [resources["CPU"] / cpus if cpus else float("inf"), resources["GPU"] / gpus if gpus else float("inf")]
    at_once = int(min(fits)) if min(fits) != float("inf") else total
    if plan.trials_at_once is not None:
        at_once = min(at_once, plan.trials_at_once)
    return {
        "total_trials": total,
        "search_alg": plan.searcher,
        "sampler": sampler_summary(plan.config),
        "space": plan.space.describe(),
        "scheduler": plan.scheduler,
        "rungs": rung_plan(plan),
        "resources_per_trial": {"CPU": cpus, "GPU": gpus},
        "cluster": "RAY_ADDRESS " + os.environ["RAY_ADDRESS"] if os.environ.get("RAY_ADDRESS") else "this machine",
        "cluster_resources": resources,
        "trials_at_once": min(at_once, total),
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
