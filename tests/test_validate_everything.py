"""`validate` reports every problem in one go: structure, plugin schema, tune(), dataset and checkpoint ids."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

NO_TUNE = "def train(run, dataset, hyperparameter, checkpoint, **kwargs):\n    pass\n"
SCHEMA = """
name: strict
hyperparameter_schema:
  type: object
  properties:
    epochs: {type: integer, minimum: 1}
  required: [epochs]
"""


def _paths(answer: dict) -> dict[str, str]:
    return {e["path"]: e["message"] for e in answer["errors"]}


def test_structure_schema_and_ids_in_one_report(cli, make_plugin, dataset_dir, tmp_path):
    assert cli("dataset", "add", dataset_dir).returncode == 0  # the home exists: ids are checked
    plugin = make_plugin(NO_TUNE, SCHEMA)
    job = tmp_path / "job.json"
    document = {
        "action": "train",
        "params": {"name": "", "dataset": 5, "checkpoint": 9, "hyperparameter": {"epochs": 0}, "bogus": 1},
    }
    job.write_text(json.dumps(document))

    done = cli("validate", job, "--plugin", plugin, "--json")

    assert done.returncode == 2
    errors = _paths(done.json())
    assert "params.name" in errors and "params.bogus" in errors  # structure
    assert "(plugin 'strict' schema)" in errors["params.hyperparameter.epochs"]
    assert errors["params.dataset"].startswith("dataset 5 does not exist")
    assert (
        errors["params.checkpoint"].startswith("model 9 does not exist") and "model id" in errors["params.checkpoint"]
    )
    human = cli("validate", job, "--plugin", plugin)
    assert human.returncode == 2 and "5 error(s)" in human.stderr


def test_a_tuning_job_for_a_plugin_without_tune_is_invalid(cli, make_plugin, dataset_dir, tmp_path):
    assert cli("dataset", "add", dataset_dir).returncode == 0
    job = tmp_path / "tune.json"
    document = {
        "action": "train",
        "params": {
            "name": "t",
            "dataset": 1,
            "is_tune": True,
            "hyperparameters": [{"name": "lr", "type": "uniform", "min": 0.1, "max": 0.01}],
            "tune_config": {"metric": "accuracy"},
        },
    }
    job.write_text(json.dumps(document))

    done = cli("validate", job, "--plugin", make_plugin(NO_TUNE), "--json")

    assert done.returncode == 2
    errors = _paths(done.json())
    assert "has no tune() function" in errors["params.is_tune"]
    assert "params.hyperparameters[0].min" in errors or "params.hyperparameters[0]" in errors


def test_a_tuning_job_too_big_for_the_machine_keeps_that_error_beside_the_plugins(
    cli, make_plugin, dataset_dir, tmp_path
):
    assert cli("dataset", "add", dataset_dir).returncode == 0
    plugin = make_plugin(NO_TUNE, SCHEMA)
    job = tmp_path / "big.json"
    document = {
        "action": "train",
        "params": {
            "name": "big",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 4096,
            "hyperparameter": {"epochs": 0},
            "hyperparameters": [{"name": "lr", "type": "uniform", "min": 0.01, "max": 0.1}],
            "tune_config": {"metric": "accuracy"},
        },
    }
    job.write_text(json.dumps(document))

    done = cli("validate", job, "--plugin", plugin, "--json")

    assert done.returncode == 2
    errors = _paths(done.json())
    assert "no trial can run" in errors["params.num_cpus"]  # the machine's error is not replaced by the plugin's
    assert "(plugin 'strict' schema)" in errors["params.hyperparameter.epochs"]
    assert "has no tune() function" in errors["params.is_tune"]
