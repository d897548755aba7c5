"""Running a tuning job in-process for the tests of how tuning ends (tests/tuning/faults/test_ends_*)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from trainaction.action import JobOutcome, TrainAction
from trainaction.backend import LocalBackend
from trainaction.plugin import load_plugin
from trainaction.validation import parse_job


def write_plugin(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "plugin.py").write_text(textwrap.dedent(source))
    return directory


def tuning_document(hyperparameters: list[dict[str, Any]], **tune_config: Any) -> dict[str, Any]:
    return {
        "action": "train",
        "params": {
            "name": "ends",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 0.5,
            "hyperparameters": hyperparameters,
            "tune_config": {"metric": "accuracy", "mode": "max", **tune_config},
        },
    }


def run_tuning(
    backend: LocalBackend, plugin: Path, work_root: Path, hyperparameters: list[dict[str, Any]], **tune_config: Any
) -> JobOutcome:
    """Run a tuning job on the Ray already started in this process, against ``backend`` (dataset 1 must exist)."""
    job = parse_job(tuning_document(hyperparameters, **tune_config)).job
    return TrainAction(backend, load_plugin(plugin), work_root=work_root).execute(job)
