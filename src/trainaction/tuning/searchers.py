"""The search-algorithm registry: names → Ray Tune searchers, options checked before Ray starts."""

from __future__ import annotations

import importlib
import inspect
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..distributions import Distribution
from ..errors import FieldError
from ..job import TuneConfig
from . import samplers
from .advice import search_advice
from .compiler import SearchPlan

__all__ = ["build_searcher", "sampler_summary", "searcher_errors", "searcher_notices"]


@dataclass(frozen=True)
class _Entry:
    module: str
    cls: str
    seed_arg: str | None
    install: str  # what to install when the searcher's library is missing


SEARCHERS: dict[str, _Entry] = {
    "basicvariantgenerator": _Entry(
        "ray.tune.search.basic_variant", "BasicVariantGenerator", "random_state", "ray[tune]"
    ),
    "hyperoptsearch": _Entry("ray.tune.search.hyperopt", "HyperOptSearch", "random_state_seed", "hyperopt"),
    "optunasearch": _Entry("ray.tune.search.optuna", "OptunaSearch", "seed", "optuna"),
    "bayesoptsearch": _Entry(
        "trainaction.tuning.bayesopt", "BayesOptSearch", "random_state", "'bayesian-optimization<2'"
    ),
    "axsearch": _Entry("ray.tune.search.ax", "AxSearch", None, "'trainaction[ax]'"),
}
# Set by trainaction from the job itself, so not accepted in options.
_RESERVED = frozenset({"space", "metric", "mode", "points_to_evaluate", "max_concurrent"})
_PROBE = {"hyperoptsearch": "hyperopt", "optunasearch": "optuna", "bayesoptsearch": "bayes_opt", "axsearch": "ax"}


def _searcher_class(name: str) -> type:
    entry = SEARCHERS[name]
    cls: type = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def searcher_errors(config: TuneConfig) -> list[FieldError]:
    """Problems with ``tune_config.search_alg`` that would otherwise surface inside Ray."""
    name = config.search_alg.name
    path = "params.tune_config.search_alg"
    probe = _PROBE.get(name)
    if probe is not None:
        try:
            importlib.import_module(probe)
        except ImportError:
            return [FieldError(f"{path}.name", f"{name} needs its library: pip install {SEARCHERS[name].install}")]
    accepted = set(inspect.signature(_searcher_class(name)).parameters) - _RESERVED
    seed_arg = SEARCHERS[name].seed_arg
    errors = []
    if name == "optunasearch":
        # Ray takes a sampler object; a job names one and sets its options (samplers.py builds it).
        accepted |= {"sampler_options"}
        errors += samplers.sampler_errors(config.search_alg.options)
    for key in config.search_alg.options:
        if key == seed_arg:
            errors.append(FieldError(f"{path}.options.{key}", f"set the seed with tune_config.seed, not options.{key}"))
        elif key not in accepted:
            allowed = ", ".join(sorted(accepted - {seed_arg})) or "none"
            errors.append(FieldError(f"{path}.options.{key}", f"unknown option for {name}; allowed: {allowed}"))
    return errors


def build_searcher(config: TuneConfig, plan: SearchPlan) -> Any:
    """A Ray searcher for the job, with points_to_evaluate in the searcher's own coordinates.

    ``max_concurrent_trials`` is applied here, not left to ``tune.TuneConfig``: Ray only limits a
    ``Searcher`` it wraps itself, and ignores the limit for a ``BasicVariantGenerator`` passed in
    (it logs "max_concurrent_trials will be ignored" and runs every trial that fits).
    """
    name = config.search_alg.name
    rng = random.Random(config.seed)
    points = [plan.encode(point, rng) for point in config.search_alg.points_to_evaluate or []]
    kwargs: dict[str, Any] = dict(config.search_alg.options)
    seed_arg = SEARCHERS[name].seed_arg
    if name == "optunasearch":
        # The seed goes into the sampler: Ray ignores OptunaSearch's own seed beside a sampler.
        kwargs.pop("sampler_options", None)
        kwargs["sampler"] = samplers.build_sampler(config.search_alg.options, config.seed)
    elif config.seed is not None and seed_arg is not None:
        kwargs[seed_arg] = config.seed
    limit = config.max_concurrent_trials
    if name == "basicvariantgenerator":
        return _searcher_class(name)(points_to_evaluate=points or None, max_concurrent=limit or 0, **kwargs)
    if name == "bayesoptsearch":
        # At Ray's defaults BayesOpt stops after `patience` (5) repeated suggestions: about 11 of 64
        # trials here. Repeats are legitimate evaluations of a noisy objective; run num_samples.
        kwargs.setdefault("patience", config.num_samples + 1)
        kwargs.setdefault("skip_duplicate", False)
    searcher = _searcher_class(name)(
        metric=config.metric, mode=config.mode, points_to_evaluate=points or None, **kwargs
    )
    if limit is None:
        return searcher
    from ray.tune.search import ConcurrencyLimiter

    return ConcurrencyLimiter(searcher, max_concurrent=limit)


def sampler_summary(config: TuneConfig) -> str | None:
    """The Optuna sampler an ``optunasearch`` job runs, for ``trainaction validate``; None for other searchers."""
    if config.search_alg.name != "optunasearch":
        return None
    return samplers.describe_sampler(config.search_alg.options, config.seed)


def searcher_notices(config: TuneConfig, specs: Sequence[Distribution]) -> list[str]:
    """Advice on the search algorithm: a better searcher than random search, a seed that cannot apply."""
    notices = []
    name = config.search_alg.name
    if config.seed is not None and name in SEARCHERS and SEARCHERS[name].seed_arg is None:
        notices.append(
            f"{name} cannot be seeded: Ray's adapter takes no seed, so tune_config.seed only fixes "
            "points_to_evaluate and two runs of this job will try different configurations"
        )
    return notices + search_advice(config, specs)
