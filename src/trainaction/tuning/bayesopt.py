"""Ray's BayesOpt searcher, allowed to evaluate a configuration more than once.

Pinned: Ray's adapter uses ``bayes_opt.UtilityFunction``, which bayesian-optimization 2 removed.
"""

from __future__ import annotations

from ray.tune.search.bayesopt import BayesOptSearch as _RayBayesOptSearch

__all__ = ["BayesOptSearch"]


class BayesOptSearch(_RayBayesOptSearch):
    """Repeats are legitimate evaluations of a noisy objective, and trials decoded from nearby
    points often coincide; bayes_opt would raise ``NotUniqueError`` on registering them."""

    def _setup_optimizer(self) -> None:
        super()._setup_optimizer()  # type: ignore[no-untyped-call]  # Ray leaves it unannotated; the super() call escapes untyped_calls_exclude
        assert self.optimizer is not None
        self.optimizer._allow_duplicate_points = True
        self.optimizer._space._allow_duplicate_points = True
