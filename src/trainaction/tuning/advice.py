"""What to search with when unsure, from measurements, and when to say so.

The figures are simple regret after 40 trials (median over seeds) on Branin (2-D) and Hartmann6
(6-D), each search run through ``trainaction run`` with 2 trials at once: see
``benchmarks/search_quality.py`` and the table in ``benchmarks/RESULTS.md``. The advice is given only
on spaces like the measured ones: numeric ranges, enough trials for a model to take over.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from ..distributions import Distribution, Range
from ..job import TuneConfig
from .compiler import compile_space

__all__ = ["GP", "RECOMMENDED", "search_advice"]

# When unsure: any space Optuna can express, no extra package, cheap to suggest.
RECOMMENDED = '{"name": "optunasearch", "options": {"sampler": "tpe", "sampler_options": {"multivariate": true}}}'
# Better still on a small space of numeric parameters, when a trial costs more than a suggestion (seconds).
GP = '{"name": "optunasearch", "options": {"sampler": "gp"}}'
GP_MAX_PARAMS = 10
# regret at 40 trials, median: (Branin, Hartmann6)
MEASURED = {"random": (1.31, 1.53), "tpe-mv": (0.27, 0.50), "gp": (0.0003, 0.12)}
SEEDS = 10
# Below this many trials the recommended TPE is still in its 10 random start-up trials.
ADVICE_FROM_TRIALS = 20


def _figures(config: str) -> str:
    branin, hartmann6 = MEASURED[config]
    return f"{branin:.2g} and {hartmann6:.2g}"


def search_advice(config: TuneConfig, specs: Sequence[Distribution]) -> list[str]:
    """A notice for random search on a space where a model-based searcher did clearly better."""
    if (
        config.search_alg.name != "basicvariantgenerator"
        or config.scheduler.name == "pbt"  # pbt makes its own configurations and needs the random searcher
        or config.num_samples < ADVICE_FROM_TRIALS
        or not any(isinstance(spec, Range) for spec in specs)
        or compile_space(specs, "optunasearch").errors()
    ):
        return []
    notice = (
        f"random search over {len(specs)} parameter(s) with num_samples={config.num_samples}: on Branin and "
        f"Hartmann6 random search left a simple regret of {_figures('random')} after 40 trials, "
        f'"search_alg": {RECOMMENDED} left {_figures("tpe-mv")}'
    )
    if all(isinstance(spec, Range) for spec in specs) and len(specs) <= GP_MAX_PARAMS:
        needs = "" if importlib.util.find_spec("torch") else ", after pip install 'trainaction[tune]'"
        notice += f", and {GP} {_figures('gp')}{needs}"
    return [
        notice + f" (medians of {SEEDS} seeds, benchmarks/search_quality.py); "
        'see the README\'s "Choosing a search algorithm"'
    ]
