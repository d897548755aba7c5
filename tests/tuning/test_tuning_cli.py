"""Tuning through the real CLI (each run starts and stops its own Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO, add_dataset

pytestmark = pytest.mark.slow  # tuning jobs on Ray through the CLI

PLUGIN = """
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        out = Path(run.output_dir) / "best.json"
        out.write_text(json.dumps(hyperparameter))
        run.log_metric("training", "x", hyperparameter["x"])
        return str(out)

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        run.checkpoint_output = str(Path(run.output_dir) / "ckpt")
        Path(run.checkpoint_output).mkdir(parents=True, exist_ok=True)
        (Path(run.checkpoint_output) / "x.txt").write_text(str(hyperparameter["x"]))
        print("trial says hello")
        run.log_metric("training", "distance", abs(hyperparameter["x"] - 4))
        tune.report({"accuracy": -abs(hyperparameter["x"] - 4)})

    import json
"""


def _job(tmp_path: Path, name: str, **params) -> Path:
    document = {
        "action": "train",
        "params": {
            "name": "cli:tune",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 0.5,
            "hyperparameters": [{"name": "x", "type": "grid_search", "options": [1, 4, 6]}],
            "tune_config": {"metric": "accuracy", "mode": "max"},
            **params,
        },
    }
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_tuning_job_trials_table_and_best_job(cli, backend, make_plugin, dataset_dir, tmp_path):
    plugin = make_plugin(PLUGIN)
    add_dataset(dataset_dir)

    done = cli("run", _job(tmp_path, "tune.json"), "--plugin", plugin, "--json", timeout=300)

    assert done.returncode == 0, done.stderr
    outcome = done.json()  # stdout holds nothing but the answer, whatever Ray printed
    assert outcome["status"] == "SUCCEEDED"
    best = outcome["result"]["best_trial"]
    assert best["config"] == {"x": 4}
    models = cli("models", "list", "--job", outcome["job_id"], "--json").json()
    assert sorted(m["name"] for m in models) == sorted(
        f"cli%3Atune-trial-{t['trial_id']}" for t in outcome["result"]["trial_models"]
    )
    model = next(m for m in models if m["trial_id"] == best["trial_id"])
    assert backend.model_path(model["id"]).joinpath("x.txt").read_text() == "4"  # run.checkpoint_output was uploaded
    assert "trial says hello" in cli("jobs", "logs", outcome["job_id"]).stdout

    table = cli("trials", outcome["job_id"], "--json").json()
    assert set(table) == {"base", "hyperparameters", "metrics", "trials", "best_trial"}
    assert table["best_trial"] == best["trial_id"] and len(table["trials"]) == 3
    assert table["hyperparameters"] == ["x"] and table["metrics"] == ["accuracy"]
    assert "TERMINATED" in cli("trials", outcome["job_id"]).stdout

    best_job = cli("trials", outcome["job_id"], "--best-job")
    assert best_job.returncode == 0
    path = tmp_path / "best.json"
    path.write_text(best_job.stdout)
    assert json.loads(best_job.stdout)["params"]["hyperparameter"] == {"x": 4}
    trained = cli("run", path, "--plugin", plugin, "--json")
    assert trained.returncode == 0, trained.stderr
    assert trained.json()["result"]["metrics"]["training"]["x"] == 4


def test_trials_of_a_training_job_is_a_clear_error(cli, make_plugin, dataset_dir, write_job):
    add_dataset(dataset_dir)
    done = cli("run", write_job({"x": 1}), "--plugin", make_plugin(PLUGIN), "--json")
    missing = cli("trials", done.json()["job_id"])
    assert missing.returncode == 2 and "has no trials table" in missing.stderr


def test_infeasible_gpu_request_is_refused_with_the_resource_named(cli, backend, make_plugin, dataset_dir, tmp_path):
    add_dataset(dataset_dir)
    done = cli("run", _job(tmp_path, "gpu.json", num_gpus=1), "--plugin", make_plugin(PLUGIN), timeout=120)
    assert done.returncode == 2  # this machine's size is known before Ray starts: refused before a record
    assert "params.num_gpus" in done.stderr and "GPU" in done.stderr
    assert backend.list_jobs() == []


def test_validate_previews_a_tuning_job(cli, tmp_path):
    document = {
        "action": "train",
        "params": {
            "name": "preview",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 1,
            "hyperparameters": [
                {"name": "epochs", "type": "randint", "min": 1, "max": 27},
                {"name": "lr", "type": "qloguniform", "min": 0.0001, "max": 0.1, "base": 10, "q": 0.0001},
                {"name": "opt", "type": "choice", "options": ["adam", "sgd"]},
            ],
            "tune_config": {
                "metric": "accuracy",
                "mode": "max",
                "num_samples": 8,
                "max_concurrent_trials": 1,
                "search_alg": "bayesoptsearch",
                "scheduler": "hyperband",
            },
        },
    }
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document))
    report = cli("validate", path, "--json").json()
    assert report["valid"] is True and set(report) == {"valid", "errors", "job", "notices"}
    notices = "\n".join(report["notices"])
    assert "total trials: 8" in notices and "trials at once: 1" in notices
    assert "bayesoptsearch sees 'lr' transformed: searched in log10 space" in notices
    assert "bayesoptsearch sees 'opt' transformed: searched by index" in notices
    assert "hyperband bracket 0" in notices  # max_t defaults to the epochs maximum, 27
    assert "ties go to the earlier trial" in notices

    document["params"]["hyperparameters"].append({"name": "noise", "type": "randn", "mean": 0, "sd": 1})
    document["params"]["tune_config"]["search_alg"] = {"name": "bayesoptsearch", "options": {"n_iter": 3}}
    path.write_text(json.dumps(document))
    invalid = cli("validate", path, "--json")
    assert invalid.returncode == 2
    paths = {e["path"]: e["message"] for e in invalid.json()["errors"]}
    assert "uniform" in paths["params.hyperparameters[3]"] and "hyperoptsearch" in paths["params.hyperparameters[3]"]
    assert "unknown option for bayesoptsearch" in paths["params.tune_config.search_alg.options.n_iter"]


def test_deprecated_tune_action_example_runs(cli, tmp_path):
    data = tmp_path / "digits"
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, str(REPO / "examples/digits/prepare_data.py"), str(data)], check=True, capture_output=True
    )
    cli("dataset", "add", data)
    digits = REPO / "examples" / "digits"
    done = cli("run", digits / "jobs" / "deprecated_tune_action.json", "--plugin", digits, "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "deprecated" in done.stderr and '"is_tune": true' in done.stderr
    result = done.json()["result"]
    assert result["trials"]["ran"] == 2 and result["best_trial"]["metrics"]["validation_accuracy"] > 0.5
    assert all(t["model_id"] is not None for t in result["trial_models"])


def test_ctrl_c_stops_a_tuning_job(home, cli, make_plugin, dataset_dir, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from trainaction.backend import LocalBackend

    slow = make_plugin("""
        import time

        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            pass

        def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
            run.log_metric("training", "started", 1.0)
            time.sleep(120)
    """)
    add_dataset(dataset_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(_job(tmp_path, "slow.json")), "--plugin", str(slow), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    backend = LocalBackend(home)
    deadline = time.monotonic() + 120
    while not (backend.list_jobs() and backend.list_events(backend.list_jobs()[-1].id, "metric")):
        assert time.monotonic() < deadline and process.poll() is None, "no trial started"
        time.sleep(0.5)

    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=120)

    assert process.returncode == 130
    assert json.loads(stdout)["status"] == "STOPPED"
    assert backend.list_jobs()[-1].status == "STOPPED"
