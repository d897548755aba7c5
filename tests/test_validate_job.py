"""``validate_job()``: the library call behind ``trainaction validate``, which only renders its result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trainaction
from trainaction.validation import validate_job

LR = {"name": "lr", "type": "uniform", "min": 0.0, "max": 1.0}
GRID = {"name": "batch", "type": "grid_search", "options": [16, 32]}


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def _tuning(**tune_config: Any) -> dict[str, Any]:
    return {
        "action": "train",
        "params": {
            "name": "t",
            "dataset": 1,
            "is_tune": True,
            "hyperparameters": [LR, GRID],
            "tune_config": {"metric": "accuracy", **tune_config},
        },
    }


def test_valid_training_job(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "train.json", {"action": "train", "params": {"name": "j", "dataset": 1, "hyperparameter": {}}}
    )
    check = validate_job(path)
    assert check["valid"] is True and check["errors"] == [] and check["preview"] is None
    assert check["job"] is not None and check["job"]["params"]["name"] == "j"


def test_invalid_job_reports_every_error_and_no_job(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "bad.json", {"action": "train", "params": {"name": "", "dataset": "x", "hyperparameter": {}}}
    )
    check = validate_job(path)
    assert check["valid"] is False and check["job"] is None
    assert {e["path"] for e in check["errors"]} == {"params.name", "params.dataset"}


def test_tuning_job_carries_its_preview(tmp_path: Path) -> None:
    check = validate_job(_write(tmp_path, "tune.json", _tuning(num_samples=3)))
    assert check["valid"] is True
    assert check["preview"] is not None and check["preview"]["total_trials"] == 6
    assert any(n.startswith("total trials: 6") for n in check["notices"])


def test_tuning_errors_are_reported_not_raised(tmp_path: Path) -> None:
    check = validate_job(_write(tmp_path, "refused.json", _tuning(search_alg={"name": "optunasearch"})))
    assert check["valid"] is False and check["preview"] is None
    assert [e["path"] for e in check["errors"]] == ["params.hyperparameters[1]"]


def test_unknown_plugin_is_an_error_at_the_plugin_option(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "train.json", {"action": "train", "params": {"name": "j", "dataset": 1, "hyperparameter": {}}}
    )
    check = validate_job(path, plugin=str(tmp_path / "no-such-plugin"))
    assert check["valid"] is False and [e["path"] for e in check["errors"]] == ["--plugin"]


def test_cli_json_is_the_library_result(cli: Any, tmp_path: Path) -> None:
    for name, document in (
        ("train.json", {"action": "train", "params": {"name": "j", "dataset": 1, "hyperparameter": {}}}),
        ("bad.json", {"action": "train", "params": {"name": "j", "hyperparameter": {}}}),
        ("tune.json", _tuning()),
    ):
        path = _write(tmp_path, name, document)
        check = validate_job(path)
        answer = cli("validate", str(path), "--json")
        assert answer.json() == {key: check[key] for key in ("valid", "errors", "job", "notices")}
        assert answer.returncode == (0 if check["valid"] else 2)


def test_exported_from_the_package() -> None:
    assert trainaction.validate_job is validate_job
    assert "validate_job" in trainaction.__all__
