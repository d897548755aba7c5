"""Tuning documents that validated and then failed inside Ray: quantised ranges off the q grid, bounds
no searcher can draw from, trials that ask for nothing or more than the machine has, job names that
are not folder names."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trainaction.action import TrainAction
from trainaction.cli import app
from trainaction.plugin import load_plugin
from trainaction.validation import parse_job

PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        run.log_metric("training", "seen", 1.0)
        tune.report({"accuracy": 1.0})
"""

# Bounds that are not multiples of q. Floats: the grid is min + k*q inside [min, max] (Ray refuses
# such bounds). Integers: the multiples of q inside [min, max], as Ray samples them.
OFF_GRID = [
    {"name": "qu", "type": "quniform", "min": 0.05, "max": 1.0, "q": 0.1},
    {"name": "qlu", "type": "qloguniform", "min": 0.003, "max": 0.5, "q": 0.01, "base": 10},
    {"name": "qri", "type": "qrandint", "min": 1, "max": 20, "q": 3},
    {"name": "qlri", "type": "qlograndint", "min": 3, "max": 100, "q": 5, "base": 2},
]
_SEARCHERS = ["basicvariantgenerator", "hyperoptsearch", "optunasearch", "bayesoptsearch"]


def _document(
    hyperparameters: list[dict[str, Any]],
    name: str = "edges",
    search_alg: str = "basicvariantgenerator",
    num_samples: int = 1,
    **params: Any,
) -> dict[str, Any]:
    return {
        "action": "train",
        "params": {
            "name": name,
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 0.5,
            **params,
            "hyperparameters": hyperparameters,
            "tune_config": {"metric": "accuracy", "num_samples": num_samples, "search_alg": search_alg, "seed": 3},
        },
    }


def _on_grid(spec: dict[str, Any], value: Any) -> bool:
    low, high, q = spec["min"], spec["max"], spec["q"]
    if not low <= value <= high:
        return False
    if spec["type"] in ("qrandint", "qlograndint"):
        return isinstance(value, int) and value % q == 0
    steps = (value - low) / q
    return math.isclose(steps, round(steps), abs_tol=1e-9)


@pytest.mark.parametrize("searcher", _SEARCHERS)
@pytest.mark.slow
def test_quantised_ranges_off_the_grid_run_with_every_searcher(
    ray_instance, backend, dataset_dir, make_plugin, tmp_path, searcher
):
    backend.add_dataset(dataset_dir, "data")
    job = parse_job(_document(OFF_GRID, search_alg=searcher, num_samples=6)).job
    action = TrainAction(backend, load_plugin(make_plugin(PLUGIN)), work_root=tmp_path / "runs")
    outcome = action.execute(job)
    assert outcome.status == "SUCCEEDED", outcome.error
    configs = [trial["config"] for trial in outcome.result["trial_models"]]
    assert len(configs) == 6
    for config in configs:
        for spec in OFF_GRID:
            assert _on_grid(spec, config[spec["name"]]), (spec, config)


def _validate(document: dict[str, Any], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(app, ["validate", str(path), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_validate_shows_how_an_off_grid_range_is_searched(tmp_path):
    code, report = _validate(_document(OFF_GRID[:1]), tmp_path)
    assert code == 0, report["errors"]
    assert any("'qu' transformed" in n and "min + k·0.1" in n for n in report["notices"]), report["notices"]


@pytest.mark.parametrize(
    "spec, path, phrase",
    [
        ({"name": "n", "type": "randint", "min": 0, "max": 10**30}, "params.hyperparameters[0].max", "64-bit"),
        (
            {"name": "n", "type": "lograndint", "min": 1, "max": 2**63, "base": 2},
            "params.hyperparameters[0].max",
            "64-bit",
        ),
        ({"name": "x", "type": "uniform", "min": -1e308, "max": 1e308}, "params.hyperparameters[0]", "overflows"),
        ({"name": "x", "type": "quniform", "min": 0, "max": 1e300, "q": 1e-300}, "params.hyperparameters[0]", "q"),
        ({"name": "x", "type": "qrandn", "mean": 1e300, "sd": 1, "q": 1e-10}, "params.hyperparameters[0]", "q"),
        ({"name": "n", "type": "qrandint", "min": 5, "max": 7, "q": 10}, "params.hyperparameters[0]", "no multiple"),
    ],
)
def test_bounds_no_searcher_can_draw_from_are_refused(tmp_path, spec, path, phrase):
    code, report = _validate(_document([spec]), tmp_path)
    assert code == 2
    assert any(e["path"] == path and phrase in e["message"] for e in report["errors"]), report["errors"]


def test_a_trial_must_ask_for_some_cpu_or_a_gpu(tmp_path):
    spec = {"name": "x", "type": "choice", "options": [1, 2]}
    code, report = _validate(_document([spec], num_cpus=0), tmp_path)
    assert code == 2
    assert [e["path"] for e in report["errors"]] == ["params.num_cpus"] and "0 CPUs" in report["errors"][0]["message"]
    # 0 CPUs beside a GPU is a GPU trial: num_cpus is fine (whether a GPU is here is another check).
    code, report = _validate(_document([spec], num_cpus=0, num_gpus=1), tmp_path)
    assert "params.num_cpus" not in [e["path"] for e in report["errors"]]


@pytest.mark.slow
def test_no_trial_fits_this_machine(cli, backend, dataset_dir, make_plugin, tmp_path):
    backend.add_dataset(dataset_dir, "data")  # validate checks the dataset id in an existing home
    spec = {"name": "x", "type": "choice", "options": [1, 2]}
    code, report = _validate(_document([spec], num_cpus=100_000), tmp_path)
    assert code == 2
    (error,) = report["errors"]
    assert error["path"] == "params.num_cpus" and "this machine has" in error["message"]
    code, report = _validate(_document([spec], num_gpus=64), tmp_path)
    assert code == 2 and [e["path"] for e in report["errors"]] == ["params.num_gpus"]

    path = tmp_path / "big.json"
    path.write_text(json.dumps(_document([spec], num_cpus=100_000)))
    ran = cli("run", path, "--plugin", make_plugin(PLUGIN), "--json")
    assert ran.returncode == 2 and ran.json()["status"] == "INVALID" and "params.num_cpus" in ran.stderr
    assert backend.list_jobs() == []


@pytest.mark.slow
def test_a_long_job_name_with_slashes_runs(cli, backend, dataset_dir, make_plugin, tmp_path):
    name = "team/exp:1/" + "x" * 150 + "/../" + "é" * 140  # 305 characters, '/' and '..' inside
    path = tmp_path / "named.json"
    path.write_text(json.dumps(_document([{"name": "x", "type": "grid_search", "options": [1, 2]}], name=name)))
    cli("dataset", "add", dataset_dir)  # before validate, which checks the dataset id in an existing home
    assert cli("validate", path, "--json").returncode == 0

    ran = cli("run", path, "--plugin", make_plugin(PLUGIN), "--json", timeout=300)

    assert ran.returncode == 0, ran.stderr[-3000:]
    outcome = ran.json()
    assert outcome["status"] == "SUCCEEDED" and outcome["result"]["trials"] == {"total": 2, "ran": 2, "errored": 0}
    assert backend.get_job(outcome["job_id"]).display_name == name
    for trial in outcome["result"]["trial_models"]:
        folder = Path(trial["trial_logdir"])
        assert folder.is_dir() and len(folder.name) < 100 and trial["trial_id"] in folder.name
