"""A job with the HTTP backend outlives a server restart: nothing lost, nothing stored twice, the right end.

A real `trainaction run` against a real `trainaction server`, killed (SIGKILL) in the middle of the job
and started again on the same port and database."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from servers import ServerProcess
from trainaction.backend.http import HttpBackend

pytestmark = pytest.mark.slow

STEPS = 300

PLUGIN = f"""
    import time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        for step in range({STEPS}):
            run.log_metric("training", "loss", 1.0 / (step + 1), step=step)
            if step % 50 == 0:
                run.log_message(f"at step {{step}}")
            run.set_progress(step + 1, {STEPS})
            time.sleep(hyperparameter["pause"])
        model = Path(run.output_dir) / "weights.txt"
        model.write_text("trained")
        return str(model)
"""


def _start_job(server: ServerProcess, plugin: Path, job: Path, tmp_path: Path, retry_s: float) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "TRAINACTION_BACKEND": server.url,
        "TRAINACTION_TOKEN": str(server.admin_token),
        "TRAINACTION_STORE_RETRY_S": str(retry_s),
        "TRAINACTION_CACHE": str(tmp_path / "cache"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(job), "--plugin", str(plugin), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def _setup(server: ServerProcess, tmp_path: Path, dataset_dir: Path, pause: float) -> Path:
    with HttpBackend(server.url, str(server.admin_token), cache_dir=tmp_path / "cache") as client:
        dataset = client.add_dataset(dataset_dir, "numbers")
    job = tmp_path / "job.json"
    job.write_text(
        f'{{"action": "train", "params": {{"name": "restart", "dataset": {dataset.id}, '
        f'"hyperparameter": {{"pause": {pause}}}}}}}'
    )
    return job


def _wait_for_steps(client: HttpBackend, at_least: int, deadline_s: float = 120) -> int:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        jobs = client.list_jobs()
        if jobs and sum(1 for _ in client.iter_events(jobs[0].id, "metric")) >= at_least:
            return jobs[0].id
        time.sleep(0.2)
    raise AssertionError(f"the job did not store {at_least} metrics in {deadline_s} s")


def test_a_server_killed_and_restarted_mid_job_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, make_plugin: Any, dataset_dir: Path
):
    with ServerProcess(tmp_path / "server") as server:
        job = _setup(server, tmp_path, dataset_dir, pause=0.03)
        running = _start_job(server, make_plugin(PLUGIN), job, tmp_path, retry_s=60)
        with HttpBackend(server.url, str(server.admin_token), cache_dir=tmp_path / "reader") as client:
            job_id = _wait_for_steps(client, 30)
        server.kill()
        time.sleep(2)  # the job goes on meanwhile: its events wait in the spool on disk
        server.start()
        stdout, stderr = running.communicate(timeout=300)
        assert running.returncode == 0, stderr

        with HttpBackend(server.url, str(server.admin_token), cache_dir=tmp_path / "reader") as client:
            record = client.get_job(job_id)
            assert record.status == "SUCCEEDED", record.error
            steps = collections.Counter(e.data["metrics"]["step"] for e in client.iter_events(job_id, "metric"))
            assert steps == {step: 1 for step in range(STEPS)}  # every step, each exactly once
            log = client.read_log(job_id)
            assert [line for line in log.splitlines() if "at step" in line] == [
                f"[INFO] at step {step}" for step in range(0, STEPS, 50)
            ]
            assert f"job {job_id} succeeded" in log
            assert record.progress_percent == 100
            models = client.list_models(job_id)
            assert len(models) == 1 and record.result is not None and record.result["model_id"] == models[0].id
            assert (client.model_path(models[0].id) / "weights.txt").read_text() == "trained"
        # The job's work folder was in the cache of this server, and is gone with the job.
        assert not list((tmp_path / "cache").glob("*/runs/*/spool"))


def test_a_server_gone_past_the_retry_window_fails_the_job_and_says_what_was_lost(
    tmp_path: Path, make_plugin: Any, dataset_dir: Path
):
    with ServerProcess(tmp_path / "server") as server:
        job = _setup(server, tmp_path, dataset_dir, pause=0.02)
        running = _start_job(server, make_plugin(PLUGIN), job, tmp_path, retry_s=3)
        with HttpBackend(server.url, str(server.admin_token), cache_dir=tmp_path / "reader") as client:
            job_id = _wait_for_steps(client, 10)
        server.kill()
        stdout, stderr = running.communicate(timeout=300)  # the server stays down until the job has ended
        assert running.returncode == 1, stderr
        assert f"the server at {server.url} did not answer" in stderr
        assert "could not be stored and were dropped" in stderr
        assert "SUCCEEDED" not in stdout + stderr
        assert f"its FAILED status could not be recorded: the server at {server.url}" in stdout

        server.start()
        with HttpBackend(server.url, str(server.admin_token), cache_dir=tmp_path / "reader") as client:
            # Its runner is gone: the server reads the job FAILED, never RUNNING or SUCCEEDED.
            assert client.get_job(job_id).status == "FAILED"
