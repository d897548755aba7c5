"""`jobs resume` of a tuning job whose driver (`trainaction run`) was killed with -9 mid-search: the
trials that had finished are not run again (their tune() calls are counted in a file), no model is
stored twice, the job is RUNNING again and SUCCEEDS with a result over every trial. Jobs that cannot
resume are refused with exit 2 and why."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from queue_jobs import cli, training_job, tuning_job, wait_for, write_plugin
from trainaction.backend import LocalBackend

pytestmark = pytest.mark.slow


def _finished_in_state(state: Path) -> int:
    """How many trials Ray Tune's saved experiment state holds as TERMINATED."""
    count = 0
    for path in glob.glob(str(state / "experiment_state-*.json")):
        try:
            trials = json.loads(Path(path).read_text())["trial_data"]
        except (OSError, ValueError, KeyError):
            return 0  # being written
        count += sum(json.loads(trial)["status"] == "TERMINATED" for trial, _ in trials)
    return count


def test_a_killed_tuning_job_resumes_without_rerunning_finished_trials(tmp_path: Path) -> None:
    home, calls = tmp_path / "home", tmp_path / "calls.txt"
    (tmp_path / "data").mkdir()
    assert cli(home, "dataset", "add", tmp_path / "data").returncode == 0
    plugin = write_plugin(tmp_path / "plugin")
    job = tuning_job(tmp_path, [1, 2, 20, 21], "resumed", num_cpus=1)  # two at a time on a 2-CPU Ray
    env = {**os.environ, "TRAINACTION_HOME": str(home), "CALLS": str(calls)}
    driver = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(job), "--plugin", str(plugin), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    state = home / "runs" / "1" / "ray" / "tune"
    try:
        # Killed once the two short trials are saved as finished and the two long ones run.
        wait_for(
            lambda: _finished_in_state(state) == 2 and {"20", "21"} <= set(calls.read_text().split()),
            240,
            "two finished trials in the saved state and the long trials' start",
        )
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    backend = LocalBackend(home)
    assert backend.get_job(1).status == "FAILED"  # its runner is gone
    before = calls.read_text().split()

    done = cli(home, "jobs", "resume", 1, "--plugin", plugin, "--json", timeout=300, env={"CALLS": str(calls)})

    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "SUCCEEDED" and backend.get_job(1).status == "SUCCEEDED"
    after = calls.read_text().split()[len(before) :]
    assert sorted(before) == ["1", "2", "20", "21"] and sorted(after) == ["20", "21"]  # 1 and 2 not rerun
    models = backend.list_models(1)
    assert len(models) == 4 and len({m.trial_id for m in models}) == 4
    assert {int((backend.model_path(m.id) / "model.txt").read_text()) for m in models} == {1, 2, 20, 21}
    result = outcome["result"]
    assert len(result["trial_models"]) == 4 and result["best_trial"]["config"] == {"x": 21}
    table = json.loads(cli(home, "trials", 1, "--json").stdout)
    assert {row["status"] for row in table["trials"].values()} == {"TERMINATED"} and len(table["trials"]) == 4

    again = cli(home, "jobs", "resume", 1, "--plugin", plugin)
    assert again.returncode == 2 and "SUCCEEDED" in again.stderr and "Traceback" not in again.stderr


def test_jobs_that_cannot_resume_are_refused_with_why(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "data").mkdir()
    assert cli(home, "dataset", "add", tmp_path / "data").returncode == 0
    plugin = write_plugin(tmp_path / "plugin")
    training = json.loads(cli(home, "submit", training_job(tmp_path, 1), "--plugin", plugin, "--json").stdout)
    tuning = json.loads(cli(home, "submit", tuning_job(tmp_path, [1], "t"), "--plugin", plugin, "--json").stdout)

    refused = cli(home, "jobs", "resume", training["job_id"])
    assert refused.returncode == 2 and "training job" in refused.stderr
    queued = cli(home, "jobs", "resume", tuning["job_id"])
    assert queued.returncode == 2 and "QUEUED" in queued.stderr
    assert cli(home, "jobs", "stop", tuning["job_id"]).returncode == 0
    no_state = cli(home, "jobs", "resume", tuning["job_id"])
    assert no_state.returncode == 2 and "no Ray Tune state" in no_state.stderr
    assert "Traceback" not in refused.stderr + queued.stderr + no_state.stderr
