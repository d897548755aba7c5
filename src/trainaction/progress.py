"""Per-phase progress, the job's overall percentage, and the one component that saves them."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from .wire import Progress, ProgressDone

if TYPE_CHECKING:
    from .backend import Backend
    from .pump import JobObserver

__all__ = ["TRAINING_WEIGHTS", "TUNING_WEIGHTS", "PhaseProgress", "ProgressKeeper"]

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


class ProgressKeeper:
    """The one owner of a job's progress: folds the progress records every writer sends, saves, tells.

    Writers — the job's phases, the plugin's ``run.set_progress`` (through the pump), the tuning
    engine counting finished trials — only :meth:`send` records. The keeper folds them, in the order
    they arrive, into a :class:`PhaseProgress`, and it alone writes ``progress``/``progress_percent``
    to the job and calls the observer's ``on_progress``. :meth:`save` writes only what changed since
    the last save, at most every ``interval`` seconds unless ``force``; a failed save stays pending.
    """

    def __init__(
        self,
        backend: Backend,
        job_id: int,
        weights: dict[str, float],
        observer: JobObserver | None = None,
        *,
        interval: float = 0.5,
    ) -> None:
        self._backend = backend
        self._job_id = job_id
        self._observer = observer
        self._interval = interval
        self._progress = PhaseProgress(weights)
        self._state = threading.Lock()  # folds come from the pump, the phases and Ray's callback thread
        self._saving = threading.Lock()  # saves in the order their snapshots were taken
        self._changed = False
        self._last_save = -math.inf

    def send(self, record: Progress | ProgressDone) -> None:
        """Fold one record (thread-safe); it is saved by the next :meth:`save`."""
        with self._state:
            if isinstance(record, ProgressDone):
                self._progress.complete(record.category)
            else:
                self._progress.set(record.category, record.current, record.total)
            self._changed = True

    def snapshot(self) -> tuple[dict[str, Any], float]:
        """Every category's ``current``/``total``/``percent``, and the weighted overall percent."""
        with self._state:
            return self._progress.snapshot(), self._progress.percent

    def save(self, *, force: bool = False) -> None:
        """Write the progress to the job and tell the observer, if it changed (and ``interval`` passed)."""
        with self._saving:
            now = time.monotonic()
            if not self._changed or (not force and now - self._last_save < self._interval):
                return
            with self._state:
                snapshot, percent = self._progress.snapshot(), self._progress.percent
                self._changed = False
            try:
                self._backend.update_job(self._job_id, progress=snapshot, progress_percent=percent)
            except BaseException:
                self._changed = True  # not saved: the next save tries again
                raise
            self._last_save = now
            self._tell(snapshot, percent)

    def _tell(self, snapshot: dict[str, Any], percent: float) -> None:
        if self._observer is None:
            return
        try:
            self._observer.on_progress(snapshot, percent)
        except Exception as exc:  # a failing display must not fail the job
            self._observer = None
            text = f"[trainaction] the live view failed and was switched off: {type(exc).__name__}: {exc}\n"
            self._backend.append_log(self._job_id, text)
