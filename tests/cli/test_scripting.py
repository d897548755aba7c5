"""Every command scriptable: --version, completion, --json with ISO-8601 UTC times, filters, --follow."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from trainaction.backend import LocalBackend

pytestmark = pytest.mark.slow

SLOW_PLUGIN = """
import time
from pathlib import Path

def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    run.log_message("first line")
    Path(hyperparameter["ready"]).write_text("started")
    time.sleep(hyperparameter["sleep"])
    run.log_message("last line")
"""

QUICK_PLUGIN = """
from pathlib import Path

def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    run.log_metric("training", "loss", 0.25, epoch=0)
    if hyperparameter.get("fail"):
        raise RuntimeError("boom")
    (Path(run.output_dir) / "model.txt").write_text("m")
"""


def _utc(text: str) -> dt.datetime:
    assert text.endswith("Z"), text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_version_and_completion(cli):
    shown = cli("--version")
    assert shown.returncode == 0 and shown.stdout.strip() == f"trainaction {version('trainaction')}"
    script = cli("--show-completion", "bash")
    assert script.returncode == 0 and "_trainaction_completion" in script.stdout


@pytest.fixture(scope="module")
def three_jobs_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with three finished jobs (the second failed), made once for the module's readers: each
    reading test made its own three jobs before."""
    root = tmp_path_factory.mktemp("three-jobs")
    home, plugin, data = root / "home", root / "plugin", root / "data"
    plugin.mkdir()
    (plugin / "plugin.py").write_text(QUICK_PLUGIN)
    data.mkdir()
    (data / "values.txt").write_text("1\n2\n3\n")
    env = {**os.environ, "TRAINACTION_HOME": str(home)}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trainaction", *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert command("dataset", "add", str(data)).returncode == 0
    for n, hyperparameter in enumerate(({}, {"fail": True}, {})):
        job = root / f"job{n}.json"
        document = {"action": "train", "params": {"name": "test-job", "dataset": 1, "hyperparameter": hyperparameter}}
        job.write_text(json.dumps(document))
        command("run", str(job), "--plugin", str(plugin), "--json")
    return home


@pytest.fixture
def three_jobs(three_jobs_home: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The module's three jobs, as this test's TRAINACTION_HOME (for ``cli`` too: set after ``home``)."""
    monkeypatch.setenv("TRAINACTION_HOME", str(three_jobs_home))
    return three_jobs_home


def test_jobs_list_filters_by_status_and_keeps_the_most_recent(cli, three_jobs):
    assert [j["id"] for j in cli("jobs", "list", "--status", "SUCCEEDED", "--json").json()] == [1, 3]
    assert [j["id"] for j in cli("jobs", "list", "--status", "failed", "--json").json()] == [2]
    assert [j["id"] for j in cli("jobs", "list", "--limit", "2", "--json").json()] == [2, 3]
    table = cli("jobs", "list")
    assert "started" in table.stdout and "duration" in table.stdout
    wrong = cli("jobs", "list", "--status", "DONE")
    assert wrong.returncode == 2
    assert "--status must be one of QUEUED, PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED, got 'DONE'" in wrong.stderr


def test_json_times_are_iso_utc_everywhere(cli, three_jobs):
    job = cli("jobs", "show", "1", "--json").json()
    started, finished = _utc(job["started_at"]), _utc(job["finished_at"])
    assert _utc(job["created_at"]) <= started <= finished
    assert abs((dt.datetime.now(dt.UTC) - finished).total_seconds()) < 3600
    assert _utc(cli("models", "list", "--json").json()[0]["created_at"])
    assert _utc(cli("dataset", "list", "--json").json()[0]["created_at"])
    event = json.loads(cli("jobs", "events", "1", "--json-lines").stdout.splitlines()[0])
    assert _utc(event["time"])


def test_jobs_show_reads_as_key_value_without_json(cli, three_jobs):
    shown = cli("jobs", "show", "2")
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == "job 2 'test-job'"
    assert "status     FAILED" in lines and "mode       train" in lines
    assert any(line.split() == ["train", "0%", "(0/1)"] for line in lines)
    assert any(line.startswith("error      RuntimeError: boom") or "boom" in line for line in lines)
    assert not shown.stdout.lstrip().startswith("{")
    assert "metrics    training.loss=0.25" in cli("jobs", "show", "1").stdout


def test_logs_as_ndjson(cli, three_jobs):
    done = cli("jobs", "logs", "1", "--json")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows and all(set(r) == {"job_id", "line"} and r["job_id"] == 1 for r in rows)
    assert any("job 1 succeeded" in r["line"] for r in rows)


def test_init_and_download_answer_json(cli, three_jobs, tmp_path):
    made = cli("init", tmp_path / "starter", "--json").json()
    assert [Path(f).name for f in made["files"]] == ["plugin.py", "plugin.yaml", "job.json", "tune_job.json"]
    got = cli("models", "download", "1", tmp_path / "out", "--json").json()
    assert got == {"model_id": 1, "dest": str((tmp_path / "out").resolve()), "files": ["model.txt"]}


def _start(make_plugin, write_job, tmp_path, sleep: float) -> tuple[subprocess.Popen[str], Path]:
    ready = tmp_path / f"ready-{sleep}"
    runner = subprocess.Popen(
        [
            sys.executable, "-m", "trainaction", "run",
            str(write_job({"sleep": sleep, "ready": str(ready)})),
            "--plugin", str(make_plugin(SLOW_PLUGIN)), "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert time.monotonic() < deadline and runner.poll() is None, "the plugin never started"
        time.sleep(0.1)
    return runner, ready


def _follow(job_id: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "trainaction", "jobs", "logs", str(job_id), "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_logs_follow_prints_until_the_job_ends(cli, make_plugin, dataset_dir, write_job, tmp_path):
    assert cli("dataset", "add", dataset_dir).returncode == 0
    runner, _ = _start(make_plugin, write_job, tmp_path, sleep=4)
    follower = _follow(1)

    out, err = follower.communicate(timeout=120)
    runner.communicate(timeout=60)

    assert follower.returncode == 0, err
    assert out.index("first line") < out.index("last line") < out.index("job 1 succeeded")


def test_logs_follow_ends_when_the_runner_dies(home, cli, make_plugin, dataset_dir, write_job, tmp_path):
    assert cli("dataset", "add", dataset_dir).returncode == 0
    runner, _ = _start(make_plugin, write_job, tmp_path, sleep=600)
    follower = _follow(1)
    time.sleep(1)

    os.kill(runner.pid, signal.SIGKILL)
    runner.communicate(timeout=60)
    out, err = follower.communicate(timeout=120)

    assert follower.returncode == 0, err
    assert "first line" in out and "(killed or lost)" in out
    assert LocalBackend(home).get_job(1).status == "FAILED"
