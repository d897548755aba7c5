"""Every RUNNING job is really running: a killed runner, SIGHUP, children left behind, spools, old databases."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import add_dataset
from trainaction.backend import LocalBackend, store
from trainaction.liveness import Runner, process_start

SLEEPING_PLUGIN = """
    import os, subprocess, sys, time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        Path(hyperparameter["pids"]).write_text(f"{os.getpid()} {child.pid}")
        run.log_metric("training", "loss", 1.0, epoch=0)
        print("plugin-started", flush=True)
        time.sleep(300)
"""


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent (in a container, nobody may reap it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _wait_until(condition, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _start_job(home: Path, job_file: Path, plugin: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "run", str(job_file), "--plugin", str(plugin), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    backend = LocalBackend(home)
    _wait_until(
        lambda: backend.list_jobs() and "plugin-started" in backend.read_log(backend.list_jobs()[-1].id),
        "the plugin never started",
    )
    return process, backend.list_jobs()[-1].id


@pytest.mark.slow
def test_sigkill_of_the_runner_ends_the_plugin_and_the_job_reads_failed(
    home, cli, make_plugin, dataset_dir, write_job, tmp_path
):
    add_dataset(dataset_dir)
    pids_file = tmp_path / "pids"
    process, job_id = _start_job(home, write_job({"pids": str(pids_file)}), make_plugin(SLEEPING_PLUGIN))
    plugin_pid, child_pid = map(int, pids_file.read_text().split())
    running = cli("jobs", "show", job_id, "--json").json()
    assert running["status"] == "RUNNING"
    assert (running["runner_host"], running["runner_pid"]) == (socket.gethostname(), process.pid)
    assert running["runner_start"] == process_start(process.pid) and running["heartbeat_at"] is not None

    process.kill()
    process.communicate(timeout=60)

    _wait_until(
        lambda: not _alive(plugin_pid) and not _alive(child_pid), "the plugin or its child outlived the runner", 30
    )
    shown = cli("jobs", "show", job_id, "--json").json()
    assert shown["status"] == "FAILED"
    assert shown["error"].startswith("the trainaction process running this job stopped at ")
    assert shown["error"].endswith("(killed or lost)")
    assert [j["status"] for j in cli("jobs", "list", "--json").json()] == ["FAILED"]
    backend = LocalBackend(home)
    assert len(backend.list_events(job_id, "metric")) == 1  # its events so far are kept
    assert "(killed or lost)" in backend.read_log(job_id)

    # The dead job's spool is reclaimed by the next run.
    spool = home / "runs" / str(job_id) / "spool"
    assert spool.is_dir()
    quick = tmp_path / "quick"
    quick.mkdir()
    (quick / "plugin.py").write_text("def train(run, dataset, hyperparameter, checkpoint, **kwargs):\n    pass\n")
    assert cli("run", write_job(), "--plugin", quick, "--json").returncode == 0
    assert not spool.exists()
    assert not any((home / "runs").glob("*/spool"))


@pytest.mark.slow
def test_sighup_stops_the_job(home, cli, make_plugin, dataset_dir, write_job, tmp_path):
    add_dataset(dataset_dir)
    pids_file = tmp_path / "pids"
    process, job_id = _start_job(home, write_job({"pids": str(pids_file)}), make_plugin(SLEEPING_PLUGIN))

    process.send_signal(signal.SIGHUP)
    stdout, _ = process.communicate(timeout=90)

    assert process.returncode == 130
    assert json.loads(stdout)["status"] == "STOPPED"
    job = LocalBackend(home).get_job(job_id)
    assert job.status == "STOPPED" and len(LocalBackend(home).list_events(job_id, "metric")) == 1
    plugin_pid, child_pid = map(int, pids_file.read_text().split())
    _wait_until(
        lambda: not _alive(plugin_pid) and not _alive(child_pid), "the plugin or its child outlived the job", 30
    )


@pytest.mark.slow
def test_children_left_by_train_do_not_keep_the_job_running(
    cli, backend, make_plugin, dataset_dir, write_job, tmp_path, monkeypatch
):
    monkeypatch.setenv("TRAINACTION_CHILD_GRACE_S", "1")
    add_dataset(dataset_dir)
    pids_file = tmp_path / "pids"
    plugin = make_plugin(
        """
        import subprocess, sys
        from pathlib import Path

        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            sleep = [sys.executable, "-c", "import time; time.sleep(300)"]
            holding = subprocess.Popen(sleep)  # inherits stdout: the job's output pipe stays open
            quiet = subprocess.Popen(sleep, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            Path(hyperparameter["pids"]).write_text(f"{holding.pid} {quiet.pid}")
            run.log_metric("training", "loss", 0.5)
        """
    )
    started = time.monotonic()
    done = cli("run", write_job({"pids": str(pids_file)}), "--plugin", plugin, "--json", timeout=200)
    took = time.monotonic() - started

    assert done.returncode == 0, done.stderr
    assert took < 150  # not the children's 300 s
    pids = sorted(map(int, pids_file.read_text().split()))
    _wait_until(lambda: not any(_alive(pid) for pid in pids), "a child outlived the job", 30)
    log = backend.read_log(done.json()["job_id"])
    assert f"the plugin left 2 process(es) running (pids {pids[0]}, {pids[1]}); terminated them after 1 s" in log


def test_a_job_whose_runner_is_gone_reads_failed_and_a_live_one_running(backend: LocalBackend):
    host = socket.gethostname()
    me = Runner(host, os.getpid(), process_start(os.getpid()))
    cases = {
        "alive here": me,
        "pid reused": Runner(host, os.getpid(), "12345"),
        "dead pid": Runner(host, 2**22 + 1, None),
        "other host, fresh": Runner("elsewhere.example", 1, None),
        "other host, stale": Runner("elsewhere.example", 1, None),
    }
    ids = {}
    for name, runner in cases.items():
        ids[name] = backend.create_job("train", {}, name, name).id
        backend.heartbeat(ids[name], runner)
        backend.update_job(ids[name], status="RUNNING")
    with backend._engine.begin() as conn:
        conn.execute(
            store.jobs.update()
            .where(store.jobs.c.id == ids["other host, stale"])
            .values(heartbeat_at=time.time() - 120)
        )
    finished = backend.create_job("train", {}, "done", "done").id
    backend.heartbeat(finished, Runner(host, 2**22 + 1, None))
    backend.update_job(finished, status="SUCCEEDED")

    statuses = {job.name: job.status for job in backend.list_jobs()}

    assert statuses == {
        "alive here": "RUNNING",
        "pid reused": "FAILED",
        "dead pid": "FAILED",
        "other host, fresh": "RUNNING",
        "other host, stale": "FAILED",
        "done": "SUCCEEDED",
    }
    assert "(killed or lost)" in backend.get_job(ids["dead pid"]).error
    assert backend.get_job(finished).error is None  # a real end is never overwritten


OLD_SCHEMA = """
CREATE TABLE datasets (id INTEGER NOT NULL, name VARCHAR(255) NOT NULL, location TEXT NOT NULL, files JSON NOT NULL,
    metadata JSON NOT NULL, created_at FLOAT NOT NULL, PRIMARY KEY (id));
CREATE TABLE jobs (id INTEGER NOT NULL, action VARCHAR(32) NOT NULL, params JSON NOT NULL, name VARCHAR(512) NOT NULL,
    display_name VARCHAR(512) NOT NULL, status VARCHAR(16) NOT NULL, progress JSON NOT NULL,
    progress_percent FLOAT NOT NULL, result JSON, error TEXT, best_trial VARCHAR(255), created_at FLOAT NOT NULL,
    started_at FLOAT, finished_at FLOAT, PRIMARY KEY (id));
CREATE TABLE events (id INTEGER NOT NULL, job_id INTEGER NOT NULL, type VARCHAR(16) NOT NULL, trial_id VARCHAR(255),
    data JSON NOT NULL, time FLOAT NOT NULL, PRIMARY KEY (id), FOREIGN KEY(job_id) REFERENCES jobs (id));
CREATE INDEX ix_events_job_type ON events (job_id, type);
CREATE TABLE job_logs (id INTEGER NOT NULL, job_id INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(job_id) REFERENCES jobs (id));
CREATE INDEX ix_job_logs_job_id ON job_logs (job_id);
CREATE TABLE models (id INTEGER NOT NULL, name VARCHAR(512) NOT NULL, job_id INTEGER, trial_id VARCHAR(255),
    config JSON NOT NULL, metrics JSON NOT NULL, files JSON NOT NULL, size INTEGER NOT NULL, sha256 VARCHAR(64) NOT NULL,
    created_at FLOAT NOT NULL, PRIMARY KEY (id), FOREIGN KEY(job_id) REFERENCES jobs (id));
INSERT INTO jobs VALUES (1, 'train', '{}', 'old', 'old', 'SUCCEEDED', '{}', 100.0, NULL, NULL, NULL, 1.0, 1.0, 2.0);
INSERT INTO jobs VALUES (2, 'train', '{}', 'old-running', 'old-running', 'RUNNING', '{}', 10.0, NULL, NULL, NULL, 1.0, 1.0, NULL);
"""


@pytest.mark.slow
def test_a_database_made_by_the_previous_schema_opens_and_works(home, cli, make_plugin, dataset_dir, write_job):
    home.mkdir(parents=True)
    with sqlite3.connect(home / "trainaction.db") as conn:
        conn.executescript(OLD_SCHEMA)

    backend = LocalBackend(home)

    old, unknown = backend.get_job(1), backend.get_job(2)
    assert (old.status, old.runner_pid, old.heartbeat_at) == ("SUCCEEDED", None, None)
    assert unknown.status == "RUNNING"  # no runner recorded: nothing to judge it by
    columns = {c["name"] for c in sa.inspect(backend._engine).get_columns("jobs")}
    assert {"runner_host", "runner_pid", "runner_start", "heartbeat_at"} <= columns
    LocalBackend(home)  # a second open finds nothing to add
    add_dataset(dataset_dir)
    plugin = make_plugin(
        "def train(run, dataset, hyperparameter, checkpoint, **kwargs):\n    run.log_metric('t', 'loss', 1.0)\n"
    )
    done = cli("run", write_job(), "--plugin", plugin, "--json")
    assert done.returncode == 0, done.stderr
    job = backend.get_job(done.json()["job_id"])
    assert job.status == "SUCCEEDED" and job.runner_pid is not None and job.id == 3
