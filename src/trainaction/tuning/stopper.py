"""A Ray stopper that ends every trial once the job's events can no longer be stored.

Ray pickles its run configuration, so the stopper holds only a key; the check it runs lives in
this process's registry (the driver's, where Ray calls stoppers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ray import tune

__all__ = ["CriterionStopper", "StoreFailureStopper"]

_checks: dict[str, Callable[[], bool]] = {}


class StoreFailureStopper(tune.Stopper):
    def __init__(self, key: str, failed: Callable[[], bool]) -> None:
        self._key = key
        _checks[key] = failed

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return self.stop_all()

    def stop_all(self) -> bool:
        check = _checks.get(self._key)
        return check is not None and check()

    def close(self) -> None:
        _checks.pop(self._key, None)


class CriterionStopper(tune.Stopper):
    """Ray's ``stop`` dictionary as a stopper, so that it combines with others: a trial ends once any
    result value reaches its bound (e.g. ``{"training_iteration": max_t}``)."""

    def __init__(self, criterion: dict[str, float]) -> None:
        self._criterion = criterion

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return any(isinstance(result.get(k), (int, float)) and result[k] >= v for k, v in self._criterion.items())

    def stop_all(self) -> bool:
        return False
