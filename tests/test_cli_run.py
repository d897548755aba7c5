"""End-to-end through the real CLI: training jobs, failures, abrupt ends, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import add_dataset
from trainaction.backend import LocalBackend

pytestmark = pytest.mark.slow  # real training jobs through CLI subprocesses

GOOD_PLUGIN = """
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        start = 0.0 if checkpoint is None else float((Path(checkpoint.path) / "weights.txt").read_text())
        files = sorted(p.name for p in Path(dataset.path).iterdir())
        run.log_message(f"dataset files: {files}")
        for epoch in range(hyperparameter["epochs"]):
            run.log_metric("training", "loss", 1.0 / (epoch + 1), epoch=epoch)
            run.set_progress(epoch + 1, hyperparameter["epochs"])
        run.log_metric("validation", "accuracy", 0.9, epoch=hyperparameter["epochs"] - 1)
        print("stdout from the plugin")
        model = Path(run.output_dir) / "weights.txt"
        model.write_text(str(start + hyperparameter["epochs"]))
        return str(model)
"""

CRASHING_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        for epoch in range(3):
            run.log_metric("training", "loss", 0.5, epoch=epoch)
        {crash}
"""


def _events(backend: LocalBackend, job_id: int, type: str) -> list[dict]:
    return [e.data for e in backend.list_events(job_id, type)]


def test_training_job_end_to_end_inspected_then_resumed(cli, backend, make_plugin, dataset_dir, write_job, tmp_path):
    """One real job, read back by every inspection command, then resumed from its model (each was
    a test with its own job)."""
    plugin = make_plugin(GOOD_PLUGIN)
    added = cli("dataset", "add", dataset_dir, "--name", "numbers", "--json")
    assert added.returncode == 0, added.stderr
    assert added.json()["id"] == 1 and added.json()["name"] == "numbers"

    done = cli("run", write_job({"epochs": 4}), "--plugin", plugin, "--json")

    assert done.returncode == 0, done.stderr
    outcome = done.json()
    assert set(outcome) == {"job_id", "status", "result", "error"}
    assert outcome["status"] == "SUCCEEDED" and outcome["error"] is None
    assert outcome["result"]["metrics"] == {"training": {"loss": 0.25}, "validation": {"accuracy": 0.9}}
    job = backend.get_job(outcome["job_id"])
    assert job.status == "SUCCEEDED" and job.progress_percent == 100.0
    assert set(job.progress) == {"dataset", "train", "model_upload"}
    losses = _events(backend, job.id, "metric")
    assert losses[0] == {"category": "training", "key": "loss", "value": 1.0, "metrics": {"epoch": 0}}
    assert len(losses) == 5
    model = backend.get_model(outcome["result"]["model_id"])
    assert model.name == "test-job" and model.job_id == job.id
    assert model.config == {"epochs": 4}
    assert [f["path"] for f in model.files] == ["weights.txt"]
    log = cli("jobs", "logs", job.id).stdout
    assert "stdout from the plugin" in log and "dataset files: ['values.txt']" in log

    # The inspection commands.
    job_id, model_id = outcome["job_id"], outcome["result"]["model_id"]
    assert [d["name"] for d in cli("dataset", "list", "--json").json()] == ["numbers"]
    assert [j["status"] for j in cli("jobs", "list", "--json").json()] == ["SUCCEEDED"]
    assert cli("jobs", "show", job_id, "--json").json()["result"]["model_id"] == model_id
    events = cli("jobs", "events", job_id, "--json").json()
    assert {e["type"] for e in events} == {"metric", "message", "progress"}
    assert all(set(e) == {"id", "type", "data", "time"} for e in events)
    progress = cli("jobs", "events", job_id, "--type", "progress", "--json").json()
    assert [e["data"]["current"] for e in progress] == [1, 2, 3, 4]
    assert [m["id"] for m in cli("models", "list", "--job", job_id, "--json").json()] == [model_id]
    assert cli("models", "list", "--job", job_id + 1, "--json").json() == []
    dest = tmp_path / "downloaded"
    assert cli("models", "download", model_id, dest).returncode == 0
    assert (dest / "weights.txt").read_text() == "4.0"
    unknown = cli("jobs", "show", 99)
    assert unknown.returncode == 2 and "job 99 does not exist" in unknown.stderr

    # Resumed from the model the job produced: the plugin reads its weights back.
    second = cli("run", write_job({"epochs": 2}, checkpoint=model_id), "--plugin", plugin, "--json")
    assert second.returncode == 0, second.stderr
    resumed = backend.model_path(second.json()["result"]["model_id"]) / "weights.txt"
    assert resumed.read_text() == "6.0"


def test_model_falls_back_to_checkpoint_output_then_output_dir(cli, backend, make_plugin, dataset_dir, write_job):
    add_dataset(dataset_dir)
    by_attribute = make_plugin(
        """
        from pathlib import Path
        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            folder = Path(run.output_dir) / "ckpt"
            folder.mkdir()
            (folder / "a.bin").write_bytes(b"a")
            run.checkpoint_output = str(folder)
        """
    )
    by_folder = make_plugin(
        """
        from pathlib import Path
        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            (Path(run.output_dir) / "left.bin").write_bytes(b"b")
        """
    )
    first = cli("run", write_job(), "--plugin", by_attribute, "--json").json()
    second = cli("run", write_job(), "--plugin", by_folder, "--json").json()
    assert [f["path"] for f in backend.get_model(first["result"]["model_id"]).files] == ["a.bin"]
    assert [f["path"] for f in backend.get_model(second["result"]["model_id"]).files] == ["left.bin"]


@pytest.mark.parametrize(
    ("crash", "expected_error", "expected_in_log"),
    [
        (
            "raise RuntimeError('diverged at epoch 3')",
            "RuntimeError: diverged at epoch 3",
            "Traceback (most recent call last)",
        ),
        ("import os; os._exit(7)", "exit status 7", "exit status 7"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL", "killed by signal SIGKILL"),
        ("import ctypes; ctypes.string_at(0)", "SIGSEGV", "killed by signal SIGSEGV"),
    ],
    ids=["exception", "os-exit", "sigkill", "segfault"],
)
def test_a_crashing_plugin_fails_the_job_and_keeps_its_metrics(
    cli, backend, make_plugin, dataset_dir, write_job, crash, expected_error, expected_in_log
):
    add_dataset(dataset_dir)
    plugin = make_plugin(CRASHING_PLUGIN.replace("{crash}", crash))

    done = cli("run", write_job(), "--plugin", plugin)

    assert done.returncode == 1
    job = backend.list_jobs()[-1]
    assert job.status == "FAILED" and expected_error in job.error
    assert len(_events(backend, job.id, "metric")) == 3  # everything logged before the crash
    log = backend.read_log(job.id)
    assert expected_in_log in log
    # One line: the error and the command to see the log; no traceback on the terminal.
    assert f"trainaction jobs logs {job.id}" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_json_output_of_a_failed_job(cli, make_plugin, dataset_dir, write_job):
    add_dataset(dataset_dir)
    plugin = make_plugin(CRASHING_PLUGIN.replace("{crash}", "raise ValueError('bad batch')"))
    done = cli("run", write_job(), "--plugin", plugin, "--json")
    assert done.returncode == 1
    assert done.json()["status"] == "FAILED" and done.json()["error"] == "ValueError: bad batch"


def test_ctrl_c_marks_the_job_stopped(home, make_plugin, dataset_dir, write_job, cli):
    add_dataset(dataset_dir)
    plugin = make_plugin(
        """
        import time
        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            run.log_metric("training", "loss", 1.0, epoch=0)
            print("plugin-started", flush=True)
            time.sleep(60)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(write_job()), "--plugin", str(plugin), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    backend = LocalBackend(home)
    deadline = time.monotonic() + 60
    while not (backend.list_jobs() and "plugin-started" in backend.read_log(backend.list_jobs()[-1].id)):
        assert time.monotonic() < deadline, "the plugin never started"
        time.sleep(0.1)

    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)

    assert process.returncode == 130
    job = backend.list_jobs()[-1]
    assert job.status == "STOPPED"
    assert json.loads(stdout)["status"] == "STOPPED"
    assert len(_events(backend, job.id, "metric")) == 1, backend.read_log(job.id)


def test_unknown_dataset_and_checkpoint_are_refused_before_anything_runs(
    cli, backend, make_plugin, dataset_dir, write_job
):
    plugin = make_plugin(GOOD_PLUGIN)
    missing_dataset = cli("run", write_job({"epochs": 1}, dataset=42), "--plugin", plugin)
    assert missing_dataset.returncode == 2
    assert "params.dataset" in missing_dataset.stderr and "dataset 42 does not exist" in missing_dataset.stderr
    add_dataset(dataset_dir)
    missing_checkpoint = cli("run", write_job({"epochs": 1}, checkpoint=789), "--plugin", plugin)
    assert missing_checkpoint.returncode == 2 and "model 789 does not exist" in missing_checkpoint.stderr
    assert backend.list_jobs() == []


def test_invalid_document_exits_2_with_every_error_and_no_traceback(cli, tmp_path, make_plugin):
    job = tmp_path / "bad.json"
    job.write_text(json.dumps({"action": "train", "params": {"name": "", "dataset": "one", "is_tune": False}}))
    done = cli("run", job, "--plugin", make_plugin(GOOD_PLUGIN))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for path in ("params.name", "params.dataset", "params.hyperparameter"):
        assert path in done.stderr
    assert "hyperparameter is required when is_tune=False" in done.stderr


def test_validate_json_shape(cli, tmp_path):
    job = tmp_path / "legacy.json"
    job.write_text(
        json.dumps(
            {
                "action": "tune",
                "params": {
                    "name": "old",
                    "dataset": 1,
                    "hyperparameter": [{"name": "lr", "type": "quniform", "min": 0.0001, "max": 0.01}],
                    "tune_config": {"metric": "accuracy", "mode": "max"},
                },
            }
        )
    )
    done = cli("validate", job, "--json")
    assert done.returncode == 0, done.stderr
    report = done.json()
    assert set(report) == {"valid", "errors", "job", "notices"}
    assert report["valid"] is True and report["errors"] == []
    assert report["job"]["action"] == "train" and report["job"]["params"]["is_tune"] is True
    assert report["job"]["params"]["hyperparameters"][0]["q"] == pytest.approx(1e-05)
    assert any("deprecated" in notice for notice in report["notices"])

    job.write_text(json.dumps({"action": "train", "params": {"name": "x", "dataset": 1, "is_tune": True}}))
    invalid = cli("validate", job, "--json")
    assert invalid.returncode == 2
    assert {
        "path": "params.hyperparameters",
        "message": "hyperparameters is required when is_tune=True",
    } in invalid.json()["errors"]


def test_deprecated_tune_action_prints_the_migrated_document_on_stderr(cli, tmp_path):
    job = tmp_path / "legacy.json"
    job.write_text(
        json.dumps(
            {
                "action": "tune",
                "params": {
                    "name": "old",
                    "dataset": 1,
                    "hyperparameter": [{"name": "b", "type": "choice", "options": [1, 2]}],
                    "tune_config": {"metric": "accuracy"},
                },
            }
        )
    )
    done = cli("validate", job)
    assert done.returncode == 0
    assert "deprecated" in done.stderr and '"is_tune": true' in done.stderr


def test_plugin_schema_is_checked_before_the_job_runs(cli, backend, make_plugin, dataset_dir, write_job):
    add_dataset(dataset_dir)
    plugin = make_plugin(
        GOOD_PLUGIN,
        manifest="""
        name: counted
        hyperparameter_schema:
          type: object
          properties: {epochs: {type: integer, minimum: 1}}
          required: [epochs]
    """,
    )
    done = cli("run", write_job({"epochs": 0}), "--plugin", plugin)
    assert done.returncode == 2 and "params.hyperparameter.epochs" in done.stderr
    assert backend.list_jobs() == []


def test_init_writes_a_plugin_that_runs(cli, dataset_dir, tmp_path):
    starter = tmp_path / "starter"
    assert cli("init", starter).returncode == 0
    add_dataset(dataset_dir)
    done = cli("run", starter / "job.json", "--plugin", starter, "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["result"]["metrics"]["training"]["loss"] < 0.05
    again = cli("init", starter)
    assert again.returncode == 2 and "not overwriting" in again.stderr


def test_library_entry_point_runs_a_job(home, make_plugin, dataset_dir):
    import trainaction

    backend = LocalBackend(home)
    backend.add_dataset(dataset_dir, "numbers")
    document = {"action": "train", "params": {"name": "lib", "dataset": 1, "hyperparameter": {"epochs": 2}}}
    outcome = trainaction.run_job(document, make_plugin(GOOD_PLUGIN), backend=backend)
    assert outcome.status == "SUCCEEDED" and outcome.result["metrics"]["training"]["loss"] == 0.5
    assert sorted(trainaction.__all__) == trainaction.__all__
    assert all(getattr(trainaction, name) is not None for name in trainaction.__all__)
    with pytest.raises(trainaction.ValidationError, match="hyperparameter is required when is_tune=False"):
        trainaction.run_job({"action": "train", "params": {"name": "x", "dataset": 1}}, make_plugin(GOOD_PLUGIN))


def test_live_display_without_json_and_the_name_encoded_for_the_model(
    cli, backend, make_plugin, dataset_dir, write_job
):
    add_dataset(dataset_dir)
    job_file = write_job({"epochs": 2}, name="experiment:v1,batch:32")
    done = cli("run", job_file, "--plugin", make_plugin(GOOD_PLUGIN))
    assert done.returncode == 0, done.stderr
    for phase in ("dataset", "train", "model_upload"):
        assert phase in done.stdout
    assert "SUCCEEDED" in done.stdout and "loss" in done.stdout
    (job,) = backend.list_jobs()
    assert job.name == "experiment%3Av1%2Cbatch%3A32"
    assert job.display_name == "experiment:v1,batch:32"
    assert backend.get_model(job.result["model_id"]).name == "experiment%3Av1%2Cbatch%3A32"
