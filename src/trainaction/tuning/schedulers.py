"""The scheduler registry: names → Ray Tune trial schedulers, options checked before Ray starts.

Time is counted in reports (``training_iteration``) unless ``time_attr`` says otherwise.
For hyperband, asha and pbt, ``max_t`` defaults to the largest value the ``epochs`` hyperparameter
can take, and is required without one. It is also a hard stop (:func:`stop_criterion`): schedulers
that pause or exploit trials restart ``tune()``, and Ray carries the trial's ``training_iteration``
over from the restored checkpoint, so a trial ends after ``max_t`` reports even when its ``tune()``
starts its loop again instead of resuming from ``checkpoint``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..distributions import Categorical, Choice, Distribution, GridSearch, Range
from ..errors import FieldError
from ..job import TuneConfig
from .compiler import SearchPlan

if TYPE_CHECKING:
    from .plan import TuningPlan

__all__ = [
    "build_scheduler",
    "expected_reports",
    "pbt_mutations",
    "rung_plan",
    "scheduler_errors",
    "scheduler_options",
    "stop_criterion",
]

_CLASSES = {
    "fifo": ("ray.tune.schedulers", "FIFOScheduler"),
    "hyperband": ("trainaction.tuning.hyperband", "HyperBandScheduler"),
    "asha": ("ray.tune.schedulers", "AsyncHyperBandScheduler"),
    "median_stopping": ("trainaction.tuning.median", "MedianStoppingRule"),
    "pbt": ("ray.tune.schedulers", "PopulationBasedTraining"),
}
_RESERVED = frozenset({"self", "metric", "mode", "hyperparam_mutations", "custom_explore_fn"})
# Options Ray accepts but that would pause trials: a paused trial restarts tune(), which, unless it
# resumes from `checkpoint`, starts its loop again, reports once and is paused again, for ever.
_REFUSED: dict[str, dict[str, str]] = {
    "median_stopping": {
        "hard_stop": "median_stopping always stops a trial that falls below the median; hard_stop false would "
        "pause it instead, and a paused trial restarts tune(); remove the option",
        "min_time_slice": "median_stopping never pauses a trial to yield time to others (a paused trial restarts "
        "tune()); remove the option",
    },
}
# Options of ours, not of Ray's class: taken out before the scheduler is built.
_OWN = {"pbt": frozenset({"max_t"})}
_MAX_T = ("hyperband", "asha", "pbt")
_DEFAULTS: dict[str, dict[str, Any]] = {
    "hyperband": {"time_attr": "training_iteration"},
    "asha": {"time_attr": "training_iteration"},
    "median_stopping": {"time_attr": "training_iteration", "grace_period": 1},
    "pbt": {"time_attr": "training_iteration", "perturbation_interval": 2},
}


def _scheduler_class(name: str) -> type:
    module, attribute = _CLASSES[name]
    cls: type = getattr(importlib.import_module(module), attribute)
    return cls


def _epochs_max(specs: Sequence[Distribution]) -> int | None:
    for spec in specs:
        if spec.name == "epochs":
            if isinstance(spec, Range):
                return int(spec.max)
            options = spec.options if isinstance(spec, Categorical) else []
            numbers = [o for o in options if isinstance(o, (int, float)) and not isinstance(o, bool)]
            return int(max(numbers)) if numbers else None
    return None


def scheduler_options(config: TuneConfig, specs: Sequence[Distribution]) -> dict[str, Any]:
    """The options the scheduler is built with: ours by default, the job's on top."""
    name = config.scheduler.name
    options = {**_DEFAULTS.get(name, {}), **config.scheduler.options}
    if name in _MAX_T and "max_t" not in options:
        epochs = _epochs_max(specs)
        if epochs is not None:
            options["max_t"] = epochs
    return options


def stop_criterion(config: TuneConfig, specs: Sequence[Distribution]) -> dict[str, Any] | None:
    """Ray's ``stop`` for the job: end each trial at ``max_t`` (in the scheduler's time unit)."""
    options = scheduler_options(config, specs)
    if config.scheduler.name not in _MAX_T or "max_t" not in options:
        return None
    return {options.get("time_attr", "training_iteration"): options["max_t"]}


def expected_reports(config: TuneConfig, specs: Sequence[Distribution]) -> int | None:
    """How many reports a trial is expected to make: max_t counted in reports, else the largest epochs."""
    options = scheduler_options(config, specs)
    if "max_t" in options and options.get("time_attr", "training_iteration") == "training_iteration":
        return int(options["max_t"])
    return _epochs_max(specs)


def scheduler_errors(config: TuneConfig, space: SearchPlan) -> list[FieldError]:
    """Problems with ``tune_config.scheduler``, Ray's own checks included (by building it)."""
    name = config.scheduler.name
    specs = [p.spec for p in space.params]
    path = "params.tune_config.scheduler.options"
    refused = _REFUSED.get(name, {})
    accepted = (
        (set(inspect.signature(_scheduler_class(name)).parameters) | _OWN.get(name, set())) - _RESERVED - set(refused)
    )
    errors = []
    for key in config.scheduler.options:
        if key in refused:
            errors.append(FieldError(f"{path}.{key}", refused[key]))
        elif key not in accepted:
            errors.append(
                FieldError(
                    f"{path}.{key}", f"unknown option for {name}; allowed: {', '.join(sorted(accepted)) or 'none'}"
                )
            )
    options = scheduler_options(config, specs)
    if name in _MAX_T and "max_t" not in options:
        errors.append(
            FieldError(
                f"{path}.max_t",
                f"{name} needs max_t (the most reports a trial may make); no 'epochs' hyperparameter gives "
                'one, so set it, e.g. "options": {"max_t": 100}',
            )
        )
    max_t = options.get("max_t")
    if name == "pbt" and max_t is not None and (isinstance(max_t, bool) or not isinstance(max_t, int) or max_t < 1):
        errors.append(FieldError(f"{path}.max_t", f"must be a whole number of reports, 1 or more; got {max_t!r}"))
    if name == "pbt" and not [s for s in specs if s.type != "grid_search"]:
        errors.append(
            FieldError("params.hyperparameters", "pbt mutates hyperparameters, but every one is a grid_search")
        )
    if not errors:
        try:
            _construct(name, options, pbt_mutations(space) if name == "pbt" else None)
        except Exception as exc:  # Ray checks options with assert and its own errors: report any of them
            errors.append(FieldError(path, f"{name} refuses these options: {exc}"))
    return errors


def pbt_mutations(space: SearchPlan) -> dict[str, Any]:
    """What pbt mutates: every parameter but grids, in the coordinates the searcher uses."""
    return {
        p.spec.name: p.spec.options if isinstance(p.spec, Choice) and p.how == "native" else p.domain
        for p in space.params
        if not isinstance(p.spec, GridSearch)
    }


def build_scheduler(plan: TuningPlan) -> Any:
    return _construct(plan.scheduler, plan.scheduler_options, plan.mutations)


def _construct(name: str, options: dict[str, Any], mutations: dict[str, Any] | None) -> Any:
    kwargs = {key: value for key, value in options.items() if key not in _OWN.get(name, ())}
    if mutations is not None:
        kwargs["hyperparam_mutations"] = mutations
    return _scheduler_class(name)(**kwargs)


def rung_plan(plan: TuningPlan) -> list[dict[str, Any]] | None:
    """For hyperband and asha: at which reports trials are compared and how many go on.

    Read from the scheduler Ray builds for these options, so the preview is Ray's bracket
    arithmetic (its rounding included), not a second copy of it.
    """
    name, options = plan.scheduler, plan.scheduler_options
    if name not in ("hyperband", "asha"):
        return None
    if "max_t" not in options:
        return None
    scheduler = _scheduler_class(name)(**options)
    max_t = options["max_t"]
    if name == "asha":
        # The first bracket: the one every trial is in when `brackets` is 1 (the default).
        factor = options.get("reduction_factor", 4)
        milestones = sorted(milestone for milestone, _ in scheduler._brackets[0]._rungs if milestone < max_t)
        rungs = [{"at": milestone, "keep": f"top 1/{factor:g}"} for milestone in milestones]
        return rungs + [{"at": max_t, "keep": "all that got here finish"}]
    return _hyperband_brackets(scheduler, max_t)


def _hyperband_brackets(scheduler: Any, max_t: int) -> list[dict[str, Any]]:
    """Ray's brackets in the order it fills them; one too small to start (first rung below 1) is skipped."""
    brackets: list[dict[str, Any]] = []
    for s in range(scheduler._s_max_1):
        start = scheduler._get_r0(s)
        if start == 0:
            continue
        # Ray's _Bracket.successive_halving: the next rung is eta times later, capped at max_t.
        milestones = [start]
        for _ in range(s):
            milestones.append(int(min(milestones[-1] * scheduler._eta, max_t)))
        brackets.append(
            {
                "bracket": len(brackets),
                "trials": scheduler._get_n0(s),
                "first_rung_at": start,
                "rungs": s + 1,
                "milestones": milestones,
            }
        )
    return brackets
