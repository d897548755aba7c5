"""`jobs delete`, `models delete`, `dataset remove`: confirmed with --yes, refused while in use, files freed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trainaction.backend import LocalBackend

pytestmark = pytest.mark.slow

PLUGIN = """
from pathlib import Path

def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    run.log_metric("training", "loss", 0.5, epoch=0)
    run.log_visualization("picture", "validation", 0, b"\\x89PNG not really")
    if hyperparameter.get("sleep"):
        import time
        Path(hyperparameter["ready"]).write_text("started")
        time.sleep(hyperparameter["sleep"])
    model = Path(run.output_dir) / "model.bin"
    model.write_bytes(b"weights" * 100)
    return str(model)
"""


@pytest.fixture(scope="module")
def two_jobs_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(home, plugin, dataset folder): job 1 makes model 1; job 2 resumes from model 1 and makes
    model 2. Made once by the real commands; each test deletes from its own copy of the home (each
    test ran both jobs before)."""
    root = tmp_path_factory.mktemp("two-jobs")
    home, plugin, data = root / "home", root / "plugin", root / "data"
    plugin.mkdir()
    (plugin / "plugin.py").write_text(PLUGIN)
    data.mkdir()
    (data / "values.txt").write_text("1\n2\n3\n")
    env = {**os.environ, "TRAINACTION_HOME": str(home)}

    def command(*args: str) -> int:
        done = subprocess.run([sys.executable, "-m", "trainaction", *args], env=env, capture_output=True, timeout=300)
        return done.returncode

    assert command("dataset", "add", str(data)) == 0
    for n, checkpoint in enumerate((None, 1)):
        job = root / f"job{n}.json"
        params = {"name": "test-job", "dataset": 1, "checkpoint": checkpoint, "hyperparameter": {}}
        job.write_text(json.dumps({"action": "train", "params": params}))
        assert command("run", str(job), "--plugin", str(plugin), "--json") == 0
    return home, plugin, data


@pytest.fixture
def jobs(two_jobs_home: tuple[Path, Path, Path], home: Path) -> Path:
    """This test's home: a copy of the two jobs' home; returns the plugin."""
    template, plugin, _ = two_jobs_home
    shutil.copytree(template, home)
    return plugin


def test_a_delete_without_yes_says_what_it_would_delete_and_deletes_nothing(home, cli, jobs):
    done = cli("jobs", "delete", "2")

    assert done.returncode == 2
    assert "would delete: job 2 'test-job'" in done.stderr and "model 2" in done.stderr
    assert str(home / "models" / "2") in done.stderr and "add --yes" in done.stderr
    assert (home / "models" / "2").is_dir()
    assert [j["id"] for j in cli("jobs", "list", "--json").json()] == [1, 2]


def test_jobs_delete_frees_its_models_files_and_run_folder(home, cli, jobs):
    assert (home / "files" / "jobs" / "2").is_dir() and (home / "runs" / "2").is_dir()

    done = cli("jobs", "delete", "2", "--yes", "--json")

    assert done.returncode == 0, done.stderr
    answer = done.json()
    assert answer["deleted"] is True and answer["kind"] == "job" and answer["size"] > 700
    assert not (home / "models" / "2").exists()
    assert not (home / "files" / "jobs" / "2").exists() and not (home / "runs" / "2").exists()
    assert [j["id"] for j in cli("jobs", "list", "--json").json()] == [1]
    assert [m["id"] for m in cli("models", "list", "--json").json()] == [1]
    gone = cli("jobs", "show", "2")
    assert gone.returncode == 2 and "job 2 does not exist" in gone.stderr
    assert not any((home / ".deleted").iterdir())


def test_a_model_another_job_resumed_from_needs_force(home, cli, jobs):
    refused = cli("models", "delete", "1", "--yes")
    assert refused.returncode == 2
    assert "job 2 (SUCCEEDED) resumes from it (params.checkpoint)" in refused.stderr
    assert "--force" in refused.stderr and (home / "models" / "1").is_dir()
    refused_job = cli("jobs", "delete", "1", "--yes")
    assert refused_job.returncode == 2 and "model 1" in refused_job.stderr

    done = cli("models", "delete", "1", "--yes", "--force")

    assert done.returncode == 0, done.stderr
    assert "deleted: model 1" in done.stdout
    assert not (home / "models" / "1").exists()
    assert [m["id"] for m in cli("models", "list", "--json").json()] == [2]
    assert cli("jobs", "show", "1", "--json").json()["status"] == "SUCCEEDED"  # the job stays


def test_a_running_job_is_not_deleted_nor_its_dataset_removed(home, cli, jobs, write_job, tmp_path):
    ready = tmp_path / "ready"
    job = write_job({"sleep": 60, "ready": str(ready)})
    runner = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(job), "--plugin", str(jobs), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(ready)
        refused = cli("jobs", "delete", "3", "--yes", "--force")
        assert refused.returncode == 2 and "job 3 is not deleted: it is RUNNING" in refused.stderr
        dataset = cli("dataset", "remove", "1", "--yes")
        assert dataset.returncode == 2 and "RUNNING job(s) 3 use it" in dataset.stderr
    finally:
        runner.kill()
        runner.communicate(timeout=60)
    # Its runner is gone: the job reads FAILED, and can be deleted.
    assert cli("jobs", "delete", "3", "--yes").returncode == 0


def test_dataset_remove_forgets_the_registration_and_keeps_the_folder(home, cli, jobs, two_jobs_home):
    dataset_dir = two_jobs_home[2]
    asked = cli("dataset", "remove", "1")
    assert asked.returncode == 2 and "would delete: dataset 1" in asked.stderr

    done = cli("dataset", "remove", "1", "--yes")

    assert done.returncode == 0, done.stderr
    assert "stays" in done.stdout
    assert cli("dataset", "list", "--json").json() == []
    assert (dataset_dir / "values.txt").read_text() == "1\n2\n3\n"
    missing = cli("dataset", "remove", "1", "--yes")
    assert missing.returncode == 2 and "dataset 1 does not exist" in missing.stderr


def test_unknown_ids_are_reported(cli, jobs):
    for command in (("jobs", "delete", "9"), ("models", "delete", "9"), ("dataset", "remove", "9")):
        done = cli(*command, "--yes")
        assert done.returncode == 2 and "9 does not exist" in done.stderr, command


def _wait_for(path: Path, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_deletion_answer_is_json(home, cli, jobs):
    done = cli("models", "delete", "2", "--json")
    assert done.returncode == 2
    plan = json.loads(done.stdout)
    assert plan == {
        "kind": "model",
        "id": 2,
        "records": ["model 2 'test-job'"],
        "folders": [str(LocalBackend(home).home / "models" / "2")],
        "size": 700,
        "deleted": False,
    }
