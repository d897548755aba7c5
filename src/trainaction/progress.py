"""Per-phase progress and the job's overall percentage."""

from __future__ import annotations

from typing import Any

__all__ = ["TRAINING_WEIGHTS", "TUNING_WEIGHTS", "PhaseProgress"]

TRAINING_WEIGHTS = {"dataset": 0.20, "train": 0.75, "model_upload": 0.05}
# The reference lists `train` 75% and `trials` 90% for tuning; `trials` is the tuning phase.
TUNING_WEIGHTS = {"dataset": 0.20, "trials": 0.75, "model_upload": 0.05}


class PhaseProgress:
    """Tracks ``current/total`` per category; categories outside the weights are kept but not weighted."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights
        self.categories: dict[str, dict[str, Any]] = {
            name: {"current": 0, "total": 1, "percent": 0.0} for name in weights
        }

    def set(self, category: str, current: float, total: float) -> None:
        total = total if total and total > 0 else 1
        percent = max(0.0, min(100.0, 100.0 * current / total))
        self.categories[category] = {"current": current, "total": total, "percent": round(percent, 2)}

    def complete(self, category: str) -> None:
        entry = self.categories.get(category, {"total": 1})
        self.set(category, entry["total"], entry["total"])

    @property
    def percent(self) -> float:
        return round(float(sum(w * self.categories[name]["percent"] for name, w in self.weights.items())), 2)

    def snapshot(self) -> dict[str, Any]:
        return {name: dict(entry) for name, entry in self.categories.items()}
