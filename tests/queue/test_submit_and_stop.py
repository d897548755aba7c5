"""`trainaction submit` and `jobs stop` through the real CLI against a real `trainaction server --workers 2`
on the same embedded home, with real Ray (each worker keeps one Ray session for its tuning jobs)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from queue_jobs import cli, descendants, training_job, tuning_job, wait_for, write_plugin
from servers import ServerProcess
from trainaction.backend import LocalBackend

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("queue")
    home = root / "home"
    (root / "data").mkdir()
    (root / "data" / "values.txt").write_text("1\n")
    assert cli(home, "dataset", "add", root / "data").returncode == 0
    plugin = write_plugin(root / "plugin")
    with ServerProcess(home, args=("--workers", "2")) as server:
        yield {"root": root, "home": home, "plugin": plugin, "server": server}


def _submit(setup: dict[str, Any], job: Path) -> dict[str, Any]:
    done = cli(setup["home"], "submit", job, "--plugin", setup["plugin"], "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _status(home: Path, job_id: int) -> str:
    return LocalBackend(home).get_job(job_id).status


def test_submit_returns_queued_at_once_and_a_worker_runs_the_job(setup: dict[str, Any]) -> None:
    answer = _submit(setup, training_job(setup["root"], 3, "quick"))
    assert answer == {"job_id": answer["job_id"], "status": "QUEUED", "executor": "server"}
    # --follow waits through QUEUED and ends when the job ends.
    follow = cli(setup["home"], "jobs", "logs", answer["job_id"], "--follow", timeout=240)
    assert follow.returncode == 0 and "job-of-x=3" in follow.stdout and "succeeded" in follow.stdout
    assert _status(setup["home"], answer["job_id"]) == "SUCCEEDED"


def test_a_bad_document_or_plugin_is_refused_as_run_refuses_it(setup: dict[str, Any]) -> None:
    bad = setup["root"] / "bad.json"
    bad.write_text(json.dumps({"action": "train", "params": {"name": "b", "dataset": 1}}))
    done = cli(setup["home"], "submit", bad, "--plugin", setup["plugin"])
    assert done.returncode == 2 and "params.hyperparameter" in done.stderr and "Traceback" not in done.stderr
    missing = cli(setup["home"], "submit", training_job(setup["root"], 3), "--plugin", setup["root"] / "nope")
    assert missing.returncode == 2 and "--plugin" in missing.stderr
    embedded = cli(
        setup["home"],
        "submit",
        training_job(setup["root"], 3),
        "--plugin",
        setup["plugin"],
        "--ray-address",
        "http://127.0.0.1:1",
    )
    assert embedded.returncode == 2 and "--backend" in embedded.stderr


def test_four_jobs_submitted_at_once_keep_their_own_metrics_logs_and_models(setup: dict[str, Any]) -> None:
    root, home = setup["root"], setup["home"]
    jobs = [training_job(root, 11, "four-a"), training_job(root, 12, "four-b")]
    jobs += [tuning_job(root, [13, 14], "four-c"), tuning_job(root, [15, 16], "four-d")]
    commands = [
        [sys.executable, "-m", "trainaction", "submit", str(job), "--plugin", str(setup["plugin"]), "--json"]
        for job in jobs
    ]
    env = {**os.environ, "TRAINACTION_HOME": str(home)}
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True, env=env) for c in commands]
    ids = [json.loads(p.communicate(timeout=120)[0])["job_id"] for p in processes]
    expected = {ids[0]: {11}, ids[1]: {12}, ids[2]: {13, 14}, ids[3]: {15, 16}}
    backend = LocalBackend(home)
    wait_for(lambda: all(backend.get_job(i).status in ("SUCCEEDED", "FAILED") for i in ids), 300, "four jobs' ends")
    for job_id, xs in expected.items():
        assert backend.get_job(job_id).status == "SUCCEEDED", backend.read_log(job_id)
        metrics = {e.data["value"] for e in backend.list_events(job_id, "metric")}
        assert metrics == xs
        log = backend.read_log(job_id)
        assert {int(x) for x in re.findall(r"job-of-x=(\d+)", log)} == xs
        models = backend.list_models(job_id)
        assert {int((backend.model_path(m.id) / "model.txt").read_text()) for m in models} == xs


def test_stop_of_a_running_tuning_job_keeps_what_it_made_and_ends_its_trials(setup: dict[str, Any]) -> None:
    root, home = setup["root"], setup["home"]
    job_id = _submit(setup, tuning_job(root, [2, 200, 201], "to-stop", num_cpus=0.3))["job_id"]
    backend = LocalBackend(home)
    wait_for(
        lambda: {2, 200, 201} <= {e.data["value"] for e in backend.list_events(job_id, "metric")},
        240,
        "the long trials' first metrics",
    )
    worker = backend.get_job(job_id).runner_pid
    assert worker is not None

    done = cli(home, "jobs", "stop", job_id, timeout=180)

    assert done.returncode == 0 and f"job {job_id} STOPPED" in done.stdout, done.stderr
    record = backend.get_job(job_id)
    assert record.status == "STOPPED"
    assert {2, 200, 201} <= {e.data["value"] for e in backend.list_events(job_id, "metric")}
    assert {m.trial_id for m in backend.list_models(job_id)}  # the models so far are kept
    trials = [cmd for _, cmd in descendants(worker) if "ImplicitFunc" in cmd or "to-stop" in cmd]
    assert (
        wait_for(lambda: not [c for _, c in descendants(worker) if "ImplicitFunc" in c], 60, "trials' end") is not None
    ), trials
    again = cli(home, "jobs", "stop", job_id)
    assert again.returncode == 0 and "already STOPPED" in again.stdout


def test_stop_of_a_queued_job_is_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "data").mkdir()
    assert cli(home, "dataset", "add", tmp_path / "data").returncode == 0
    plugin = write_plugin(tmp_path / "plugin")
    job_id = json.loads(cli(home, "submit", training_job(tmp_path, 1), "--plugin", plugin, "--json").stdout)["job_id"]
    listed = cli(home, "jobs", "list", "--status", "queued", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [job_id]

    done = cli(home, "jobs", "stop", job_id, "--json")

    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "STOPPED"
    assert LocalBackend(home).get_job(job_id).error == "stopped before it started"


def test_submit_through_the_team_server_runs_on_its_workers(setup: dict[str, Any]) -> None:
    server = setup["server"]
    remote = ("--backend", server.url, "--token", server.admin_token)
    done = cli(
        setup["root"] / "elsewhere",
        "submit",
        training_job(setup["root"], 7, "over-http"),
        "--plugin",
        setup["plugin"],
        *remote,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    job_id = json.loads(done.stdout)["job_id"]
    follow = cli(setup["root"] / "elsewhere", "jobs", "logs", job_id, "--follow", *remote, timeout=240)
    assert follow.returncode == 0 and "job-of-x=7" in follow.stdout
    assert LocalBackend(setup["home"]).get_job(job_id).status == "SUCCEEDED"
    finished = cli(setup["root"] / "elsewhere", "jobs", "stop", job_id, *remote)
    assert finished.returncode == 0 and "already SUCCEEDED" in finished.stdout


def test_stop_of_a_run_job_on_this_host_interrupts_its_runner(setup: dict[str, Any]) -> None:
    home = setup["home"]
    job = training_job(setup["root"], 400, "run-to-stop")
    env = {**os.environ, "TRAINACTION_HOME": str(home)}
    runner = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(job), "--plugin", str(setup["plugin"]), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    backend = LocalBackend(home)
    try:
        job_id = wait_for(
            lambda: next(
                (j.id for j in backend.list_jobs(status="RUNNING") if j.display_name == "run-to-stop" and j.id), None
            ),
            120,
            "the run's start",
        )
        wait_for(lambda: backend.list_events(job_id, "metric"), 120, "its first metric")

        done = cli(home, "jobs", "stop", job_id, "--json")

        assert done.returncode == 0 and json.loads(done.stdout)["status"] == "STOPPED", done.stderr
        assert runner.wait(60) == 130  # the run ended as Ctrl-C ends it
        assert backend.list_events(job_id, "metric")
    finally:
        runner.kill()
        runner.wait(30)
