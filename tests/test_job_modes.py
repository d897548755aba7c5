"""The mode is the type of a job's params: a valid tuning job has its space and tune_config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticError

from trainaction.job import Job, TrainingParams, TuneConfig, TuningParams
from trainaction.validation import parse_job

TRAINING = {"action": "train", "params": {"name": "t", "dataset": 1, "hyperparameter": {"lr": 0.1}}}
TUNING = {
    "action": "train",
    "params": {
        "name": "t",
        "dataset": 1,
        "is_tune": True,
        "hyperparameters": [{"name": "lr", "type": "uniform", "min": 0.0, "max": 1.0}],
        "tune_config": {"metric": "accuracy"},
    },
}


def test_is_tune_picks_the_params_type() -> None:
    training, tuning = parse_job(TRAINING).job.params, parse_job(TUNING).job.params
    assert isinstance(training, TrainingParams) and training.total_trials == 1
    assert isinstance(tuning, TuningParams)
    assert tuning.tune_config.metric == "accuracy" and tuning.hyperparameters[0].name == "lr"


def test_both_modes_write_the_same_normalised_fields_in_the_same_order() -> None:
    fields = ["name", "dataset", "checkpoint", "is_tune", "num_cpus", "num_gpus"]
    fields += ["hyperparameter", "hyperparameters", "tune_config"]
    assert list(parse_job(TRAINING).job.to_document()["params"]) == fields
    assert list(parse_job(TUNING).job.to_document()["params"]) == fields
    again = parse_job(parse_job(TUNING).job.to_document()).job  # the normalised document is valid as it is
    assert again == parse_job(TUNING).job


def test_a_job_built_in_code_is_held_to_the_same_rule() -> None:
    assert isinstance(
        Job(action="train", params={"name": "t", "dataset": 1, "hyperparameter": {}}).params, TrainingParams
    )
    with pytest.raises(PydanticError, match="tune_config"):
        Job(action="train", params={"name": "t", "dataset": 1, "is_tune": True, "hyperparameters": []})
    with pytest.raises(PydanticError, match="hyperparameters"):
        TrainingParams(name="t", dataset=1, hyperparameter={}, hyperparameters=[])  # type: ignore[arg-type]
    params = TuningParams(name="t", dataset=1, is_tune=True, hyperparameters=[], tune_config=TuneConfig(metric="a"))
    assert Job(action="train", params=params).params is params
