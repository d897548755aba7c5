"""A job's metric series, read back for ``trainaction metrics``: filtered while streamed.

A point is one ``metric`` event: its category, key, value, the trial that logged it (tuning) and
its position along the run: ``step`` if the plugin gave one, else ``epoch``, else its order in
its series (``index``, from 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .backend import Backend
from .errors import NotFoundError
from .times import iso_utc

__all__ = ["MetricFilter", "Point", "read_points", "series_label"]


@dataclass(frozen=True)
class Point:
    category: str
    key: str
    trial_id: str | None
    value: float | None
    fields: dict[str, Any]  # what the plugin passed as keywords (epoch=..., step=...)
    index: int  # 1-based order within its (trial, category, key) series
    time: float

    @property
    def x(self) -> tuple[str, float]:
        """The point's position: ``("step", n)``, ``("epoch", n)`` or ``("index", n)``."""
        for name in ("step", "epoch"):
            value = self.fields.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return name, float(value)
        return "index", float(self.index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "category": self.category,
            "key": self.key,
            "value": self.value,
            "step": self.fields.get("step"),
            "epoch": self.fields.get("epoch"),
            "index": self.index,
            "metrics": self.fields,
            "time": iso_utc(self.time),
        }


def series_label(point: Point, *, with_trial: bool, with_name: bool) -> str:
    parts = ([point.trial_id or ""] if with_trial else []) + ([f"{point.category}/{point.key}"] if with_name else [])
    return " ".join(parts)


@dataclass
class MetricFilter:
    """Which points to keep; records what it saw, to say what there is when nothing matched."""

    key: str | None = None
    category: str | None = None
    trial: str | None = None
    names: set[tuple[str, str]] = field(default_factory=set)  # every (category, key) seen
    trials: set[str] = field(default_factory=set)  # every trial id seen
    kept: int = 0

    def matches(self, category: str, key: str, trial: str | None) -> bool:
        self.names.add((category, key))
        if trial is not None:
            self.trials.add(trial)
        return (
            (self.key is None or key == self.key)
            and (self.category is None or category == self.category)
            and (self.trial is None or trial == self.trial)
        )

    def nothing_matched(self, job_id: int) -> NotFoundError:
        """The error to raise when no point matched: it lists what the job has."""
        if not self.names:
            return NotFoundError(
                f"job {job_id} has logged no metrics (run.log_metric) yet; nothing to show. "
                f"See its log: trainaction jobs logs {job_id}"
            )
        present = ", ".join(f"{c}/{k}" for c, k in sorted(self.names))
        if self.key is not None and all(k != self.key for _, k in self.names):
            return NotFoundError(f"--key: job {job_id} has no metric '{self.key}'; it has (category/key): {present}")
        if self.category is not None and not any(
            c == self.category and (self.key is None or k == self.key) for c, k in self.names
        ):
            return NotFoundError(
                f"--category: job {job_id} has no metric in category '{self.category}'"
                f"{'' if self.key is None else f' with key {self.key!r}'}; it has (category/key): {present}"
            )
        trials = ", ".join(sorted(self.trials)) or "none (a training job logs no trial ids)"
        return NotFoundError(f"--trial: no metric of trial '{self.trial}' in job {job_id}; its trials: {trials}")


def read_points(backend: Backend, job_id: int, selection: MetricFilter) -> Iterator[Point]:
    """The job's metric points that ``selection`` keeps, oldest first, streamed from the backend.

    Raises :class:`NotFoundError` at the call for an unknown job (the backend checks it first).
    """
    events = backend.iter_events(job_id, "metric")

    def points() -> Iterator[Point]:
        counts: dict[tuple[str | None, str, str], int] = {}
        for event in events:
            data = event.data
            category, key, trial = str(data.get("category")), str(data.get("key")), data.get("trial_id")
            trial = None if trial is None else str(trial)
            if not selection.matches(category, key, trial):
                continue
            value = data.get("value")
            number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            fields = data.get("metrics")
            series = (trial, category, key)
            counts[series] = counts.get(series, 0) + 1
            selection.kept += 1
            yield Point(
                category, key, trial, number, fields if isinstance(fields, dict) else {}, counts[series], event.time
            )

    return points()
