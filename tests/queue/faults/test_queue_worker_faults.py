"""A server's worker killed with -9 leaves its job FAILED with the reason (never RUNNING) and is
replaced; SIGTERM to the server ends its running job STOPPED and leaves queued jobs QUEUED for the
next start, which runs them."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from queue_jobs import cli, training_job, wait_for, write_plugin
from servers import ServerProcess
from trainaction.backend import LocalBackend

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("faults")
    home = root / "home"
    (root / "data").mkdir()
    assert cli(home, "dataset", "add", root / "data").returncode == 0
    server = ServerProcess(home, args=("--workers", "1")).start()
    try:
        yield {"root": root, "home": home, "plugin": write_plugin(root / "plugin"), "server": server}
    finally:
        server.stop(90)
        server.kill()


def _submit(setup: dict[str, Any], x: int, name: str) -> int:
    done = cli(setup["home"], "submit", training_job(setup["root"], x, name), "--plugin", setup["plugin"], "--json")
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["job_id"])


def _running(backend: LocalBackend, job_id: int) -> bool:
    record = backend.get_job(job_id)
    return record.status == "RUNNING" and bool(backend.list_events(job_id, "metric"))


def test_a_worker_killed_with_9_leaves_its_job_failed_and_is_replaced(setup: dict[str, Any]) -> None:
    backend = LocalBackend(setup["home"])
    job_id = _submit(setup, 400, "killed")
    wait_for(lambda: _running(backend, job_id), 180, "the job's start")
    worker = backend.get_job(job_id).runner_pid
    assert worker is not None

    os.kill(worker, signal.SIGKILL)

    record = wait_for(lambda: (r := backend.get_job(job_id)).status != "RUNNING" and r, 60, "the job's end")
    assert record.status == "FAILED" and record.error
    assert backend.get_job(job_id).status == "FAILED"
    # The executor put a new worker in its place: the next job runs.
    after = _submit(setup, 5, "after-kill")
    wait_for(lambda: backend.get_job(after).status == "SUCCEEDED", 180, "the next job's success")


def test_server_shutdown_stops_the_running_job_and_keeps_queued_ones(setup: dict[str, Any]) -> None:
    backend = LocalBackend(setup["home"])
    running = _submit(setup, 400, "running-at-shutdown")
    wait_for(lambda: _running(backend, running), 180, "the job's start")
    queued = _submit(setup, 6, "queued-at-shutdown")  # one worker, busy: it waits

    assert setup["server"].stop(120) == 0

    assert backend.get_job(running).status == "STOPPED"
    assert backend.list_events(running, "metric")  # what it logged is kept
    assert backend.get_job(queued).status == "QUEUED"
    setup["server"].start()
    wait_for(lambda: backend.get_job(queued).status == "SUCCEEDED", 180, "the queued job's run after the restart")
