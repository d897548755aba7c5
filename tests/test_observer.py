"""A job's observer: the hooks it has are called, the ones it lacks are not required."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import trainaction
from trainaction.backend.local import LocalBackend

PLUGIN = """
def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    run.log_metric("training", "loss", 0.5, epoch=1)
    (run.output_dir / "model.txt").write_text("m")
"""


class OlderObserver:
    """An observer written before ``on_start`` existed: four hooks only."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, Any]] = []

    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        pass

    def on_metric(self, data: dict[str, Any]) -> None:
        self.metrics.append(data)

    def on_log(self, text: str) -> None:
        pass

    def on_trials(self, table: dict[str, Any]) -> None:
        pass


class StartRecorder(OlderObserver):
    def __init__(self) -> None:
        super().__init__()
        self.started: list[tuple[int, str]] = []

    def on_start(self, job_id: int, name: str) -> None:
        self.started.append((job_id, name))


@pytest.mark.slow
@pytest.mark.parametrize("observer_class", [OlderObserver, StartRecorder])
def test_a_job_runs_with_or_without_on_start(
    observer_class: type[OlderObserver],
    backend: LocalBackend,
    make_plugin: Callable[[str], Path],
    dataset_dir: Path,
) -> None:
    backend.add_dataset(dataset_dir, "numbers")
    view = observer_class()
    document = {"action": "train", "params": {"name": "watched", "dataset": 1, "hyperparameter": {}}}

    outcome = trainaction.run_job(document, make_plugin(PLUGIN), backend=backend, observer=view)

    assert outcome.status == "SUCCEEDED", outcome.error
    assert [m["key"] for m in view.metrics] == ["loss"]
    if isinstance(view, StartRecorder):
        assert view.started == [(outcome.job_id, "watched")]
