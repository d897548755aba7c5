"""Test doubles for plugin authors: call your ``train()`` with a :class:`FakeRun` and inspect what it logged.

run = FakeRun(tmp_path)
train(run, dataset, {"epochs": 2}, None)
assert run.metrics("validation", "accuracy")[-1] > 0.9
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .run import TrainRun
from .wire import METRIC, Record

__all__ = ["FakeRun"]


class _ListSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def send(self, record: Record) -> None:
        self.events.append((record.NAME, record.to_payload()))


class FakeRun(TrainRun):
    """A TrainRun that keeps every event in memory instead of sending it to a backend."""

    def __init__(self, output_dir: str | Path, *, is_tune: bool = False, trial_id: str | None = None) -> None:
        self._sink = _ListSink()
        super().__init__(self._sink, output_dir=output_dir, is_tune=is_tune, trial_id=trial_id)

    @property
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return self._sink.events

    def metrics(self, category: str, key: str) -> list[Any]:
        """Every value logged for ``category``/``key``, in order."""
        return [d["value"] for t, d in self.events if t == METRIC and d["category"] == category and d["key"] == key]
