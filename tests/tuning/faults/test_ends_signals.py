"""SIGTERM and SIGHUP to a tuning ``trainaction run``: the job is STOPPED, not left RUNNING (real CLI, real Ray)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ends_jobs import tuning_document, write_plugin

from conftest import add_dataset
from trainaction.backend import LocalBackend
from trainaction.tables import latest_table

pytestmark = pytest.mark.slow  # signals a tuning job run through the CLI

# x = 1 finishes after two reports with a checkpoint; x = 2 reports once, then hangs.
PLUGIN = """
    import time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        run.checkpoint_output = str(Path(run.output_dir) / "weights")
        Path(run.checkpoint_output).mkdir(parents=True, exist_ok=True)
        for epoch in range(2):
            (Path(run.checkpoint_output) / "x.txt").write_text(str(hyperparameter["x"]))
            tune.report({"accuracy": hyperparameter["x"] + epoch}, checkpoint=tune.Checkpoint.from_directory(run.checkpoint_output))
            if hyperparameter["x"] > 1:
                run.log_metric("training", "hanging", 1.0)
                time.sleep(10**6)
"""


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Ray's GCS, raylet and workers), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_tuning_job_and_keeps_finished_models(home, cli, dataset_dir, tmp_path, signum):
    plugin = write_plugin(tmp_path / "plugin", PLUGIN)
    job = tmp_path / "job.json"
    job.write_text(json.dumps(tuning_document([{"name": "x", "type": "grid_search", "options": [1, 2]}])))
    add_dataset(dataset_dir)
    backend = LocalBackend(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(job), "--plugin", str(plugin), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 150
        while True:  # until x = 1 has finished and x = 2 hangs
            assert time.monotonic() < deadline and process.poll() is None, (
                process.stderr.read() if process.poll() else "too slow"
            )
            jobs = backend.list_jobs()
            if jobs and backend.list_events(jobs[-1].id, "metric") and backend.list_events(jobs[-1].id, "trials"):
                rows = latest_table(backend, jobs[-1].id)["trials"].values()
                if any(row["status"] == "TERMINATED" for row in rows):
                    break
            time.sleep(0.5)
        ray_processes = _descendants(process.pid)
        assert ray_processes, "Ray runs below the CLI process"

        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    assert process.returncode == 130, stderr
    answer = json.loads(stdout)
    job_id = answer["job_id"]
    assert answer["status"] == "STOPPED" and backend.get_job(job_id).status == "STOPPED"
    rows = latest_table(backend, job_id)["trials"]
    assert sorted((row["x"], row["status"]) for row in rows.values()) == [(1, "TERMINATED"), (2, "STOPPED")]
    # The finished trial's model is uploaded; the partial result is stored on the job.
    finished = next(t for t in answer["result"]["trial_models"] if t["config"] == {"x": 1})
    assert (backend.model_path(finished["model_id"]) / "x.txt").read_text() == "1"
    assert [m.trial_id for m in backend.list_models(job_id) if m.trial_id == finished["trial_id"]]
    assert backend.get_job(job_id).result["trials"]["stopped"] == 1
    assert "stopped by a signal: 1 trial(s) were still running or waiting" in backend.read_log(job_id)
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in ray_processes) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [pid for pid in ray_processes if _alive(pid)], "Ray processes of the job outlived it"
