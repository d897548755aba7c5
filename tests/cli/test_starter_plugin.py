"""`trainaction init` writes a starter whose training job and tuning job both run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_the_starter_trains_and_tunes(cli, dataset_dir, tmp_path):
    starter = tmp_path / "starter"
    assert cli("init", starter).returncode == 0
    assert cli("dataset", "add", dataset_dir).returncode == 0
    assert cli("validate", starter / "tune_job.json", "--plugin", starter).returncode == 0

    tuned = cli("run", starter / "tune_job.json", "--plugin", starter, "--json", timeout=600)

    assert tuned.returncode == 0, tuned.stderr
    result = tuned.json()["result"]
    assert result["trials"]["total"] == 4 and result["trials"]["errored"] == 0
    assert result["best_trial"]["metrics"]["loss"] < 0.1
    assert all(t["model_id"] is not None for t in result["trial_models"])
    trials = cli("trials", "1", "--json")
    assert trials.returncode == 0
    trained = cli("run", starter / "job.json", "--plugin", starter, "--json")
    assert trained.returncode == 0 and trained.json()["result"]["model_id"] is not None
