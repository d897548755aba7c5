"""Tuning on a 2-node Ray cluster through the Ray Jobs API, reporting to a real team server.

One cluster for the module (``ray start --head`` and ``ray start --address``, one CPU each, each node
with its own temporary folder, HOME, TRAINACTION_HOME and TRAINACTION_CACHE): a trial that relied on
the driver's folders, or on a filesystem shared at the same path, fails these tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from raycluster import RayCluster

from servers import ServerProcess
from trainaction.backend.http import HttpBackend

pytestmark = pytest.mark.slow

STEPS = 4

PLUGIN = '''
import os
import signal
import time
from pathlib import Path

MODE = {mode!r}


def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    raise RuntimeError("a tuning-only plugin")


def _own_folders(run, dataset):
    """On the worker node every folder a trial is given must be that node's own."""
    if os.environ["TEST_NODE_ROLE"] != "worker":
        return
    own = os.environ["TRAINACTION_CACHE"]
    for what, path in (("dataset", dataset.path), ("output_dir", run.output_dir)):
        if not str(path).startswith(own):
            raise RuntimeError(f"{{what}} {{path}} is not in this node's own cache {{own}}")


def _first(name):
    """True once in the whole cluster: for the first trial that asks."""
    try:
        os.close(os.open(Path(os.environ["TEST_RENDEZVOUS"]) / name, os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


def _rendezvous(on_worker):
    """A trial on the head keeps its CPU until the worker node has run what the test needs there (a node's
    first Python worker can take many seconds to start on a loaded machine): the next trials must go there."""
    meeting = Path(os.environ["TEST_RENDEZVOUS"])
    awaited = ["raised", "killed", "worker-done"] if MODE == "spread" else [MODE]
    if on_worker:
        if MODE != "spread":
            (meeting / MODE).touch()
        return
    deadline = time.monotonic() + 120
    while not all((meeting / name).exists() for name in awaited) and time.monotonic() < deadline:
        time.sleep(0.1)


def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
    from ray import tune

    _own_folders(run, dataset)
    on_worker = os.environ["TEST_NODE_ROLE"] == "worker"
    _rendezvous(on_worker)
    assert (Path(dataset.path) / "values.txt").read_text() == "1 2 3"
    x = hyperparameter["x"]
    run.log_metric("info", "on_worker", int(on_worker))
    for step in range({steps}):
        run.log_metric("train", "loss", x * 10 + step, step=step)
        if MODE == "spread" and on_worker and step == 2:
            # The worker node's first trial raises, its second is killed, each after logging 3 steps.
            time.sleep(0.1)
            if _first("raised"):
                raise ValueError("a trial that fails on the worker node")
            if _first("killed"):
                os.kill(os.getpid(), signal.SIGKILL)
        tune.report({{"accuracy": x + step}})
        time.sleep({pause})
    (Path(run.output_dir) / "model.txt").write_text(f"{{x}} {{os.environ['TEST_NODE_ROLE']}}")
    if on_worker:
        (Path(os.environ["TEST_RENDEZVOUS"]) / "worker-done").touch()
'''


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    ray_cluster = RayCluster.create()
    try:
        yield ray_cluster.start()
    finally:
        ray_cluster.stop()
    deadline = time.monotonic() + 30
    while ray_cluster.leftover_pids() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ray_cluster.leftover_pids() == [], "Ray processes of the test's cluster outlived it"


@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("cluster-server") / "home") as server:
        yield server


@pytest.fixture(scope="module")
def client(team_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpBackend]:
    assert team_server.admin_token is not None
    with HttpBackend(team_server.url, team_server.admin_token, cache_dir=tmp_path_factory.mktemp("cache")) as backend:
        data = tmp_path_factory.mktemp("data")
        (data / "values.txt").write_text("1 2 3")
        backend.add_dataset(data, "values")
        yield backend


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    assert server.admin_token is not None
    command = [sys.executable, "-m", "trainaction", *args, "--backend", server.url, "--token", server.admin_token]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TRAINACTION_"))}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def _submit(cluster: RayCluster, server: ServerProcess, tmp: Path, mode: str, trials: int, pause: float) -> int:
    """``trainaction submit JOB --plugin DIR --ray-address DASHBOARD --backend URL --token T``: the job's id."""
    plugin = tmp / f"plugin-{mode}"
    plugin.mkdir()
    (plugin / "plugin.py").write_text(PLUGIN.format(mode=mode, steps=STEPS if mode != "stop" else 1000, pause=pause))
    document = {
        "action": "train",
        "params": {
            "name": f"cluster-{mode}",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 1,
            "hyperparameters": [{"name": "x", "type": "grid_search", "options": list(range(1, trials + 1))}],
            "tune_config": {"metric": "accuracy", "mode": "max"},
        },
    }
    job = tmp / f"{mode}.json"
    job.write_text(json.dumps(document))
    done = _cli(server, "submit", str(job), "--plugin", str(plugin), "--ray-address", cluster.dashboard, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "QUEUED" and answer["executor"] == "ray"
    assert server.admin_token not in done.stdout + done.stderr  # the token travels in the job's env only
    return int(answer["job_id"])


def _wait(client: HttpBackend, job_id: int, statuses: set[str], timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get_job(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.5)
    raise AssertionError(
        f"job {job_id} is {client.get_job(job_id).status} after {timeout} s\n{client.read_log(job_id)}"
    )


def _metrics(client: HttpBackend, job_id: int) -> dict[str, list[tuple[str, int]]]:
    """Each trial's stored train/loss steps, in order (one entry per stored event)."""
    steps: dict[str, list[tuple[str, int]]] = {}
    for event in client.iter_events(job_id, "metric"):
        if event.data["key"] == "loss":
            steps.setdefault(event.data["trial_id"], []).append(event.data["metrics"]["step"])
    return steps


def _workers(client: HttpBackend, job_id: int) -> set[str]:
    return {
        e.data["trial_id"]
        for e in client.iter_events(job_id, "metric")
        if e.data["key"] == "on_worker" and e.data["value"]
    }


def _table(team_server: ServerProcess, job_id: int) -> dict[str, Any]:
    import httpx

    answer = httpx.get(
        f"{team_server.url}/api/v1/jobs/{job_id}/trials", headers={"Authorization": f"Bearer {team_server.admin_token}"}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_tuning_job_runs_trials_on_both_nodes_and_keeps_what_crashed_trials_logged(
    cluster, team_server, client, tmp_path
):
    """5 trials; on the worker node one raises and one's process is killed, each after logging 3 steps."""
    job_id = _submit(cluster, team_server, tmp_path, "spread", trials=5, pause=0.3)

    job = _wait(client, job_id, {"SUCCEEDED", "FAILED", "STOPPED"})

    assert job.status == "SUCCEEDED", client.read_log(job_id)
    rows = _table(team_server, job_id)["trials"]
    log = client.read_log(job_id)
    errored = {trial for trial, row in rows.items() if row["status"] == "ERROR"}
    finished = {trial for trial, row in rows.items() if row["status"] == "TERMINATED"}
    assert len(errored) == 2 and len(finished) == 3, (rows, log)
    on_worker = _workers(client, job_id)
    assert errored <= on_worker and finished & on_worker and finished - on_worker, (rows, log)
    # Both nodes, as recorded in the trials table (and the API's rows) with the node's address.
    assert len({rows[t]["node"] for t in on_worker}) == 1
    assert len({row["node"] for row in rows.values()}) == 2, (rows, log)
    addresses = {row.get("node_ip") for row in rows.values()}
    assert len(addresses) == 1 and all(addresses)  # one machine: both nodes have its address
    assert any("a trial that fails on the worker node" in rows[t].get("error", "") for t in errored)
    # Every reported step stored, once; a crashed trial's steps up to its crash (the killed one's from the
    # spool it left on its node).
    assert _metrics(client, job_id) == {t: [0, 1, 2] if t in errored else list(range(STEPS)) for t in rows}
    # Every finished trial's model uploaded, from the node it ran on, and listed in the result.
    models = {m.trial_id: m for m in client.list_models(job_id=job_id)}
    assert set(models) == finished
    assert job.result is not None
    listed = {m["trial_id"]: m["model_id"] for m in job.result["trial_models"]}
    assert listed == {t: models[t].id if t in models else None for t in rows}
    roles = {t: client.model_path(m.id).joinpath("model.txt").read_text().split()[1] for t, m in models.items()}
    assert {t for t, role in roles.items() if role == "worker"} == finished & on_worker


def test_jobs_stop_through_the_ray_jobs_api_ends_it_stopped(cluster, team_server, client, tmp_path):
    job_id = _submit(cluster, team_server, tmp_path, "stop", trials=2, pause=0.2)
    deadline = time.monotonic() + 180
    while len(_metrics(client, job_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)  # both trials running and logging
    assert len(_metrics(client, job_id)) == 2, client.read_log(job_id)

    stopped = _cli(team_server, "jobs", "stop", str(job_id))  # through the Ray Jobs API: the driver gets SIGTERM
    assert stopped.returncode == 0, stopped.stderr

    job = _wait(client, job_id, {"SUCCEEDED", "FAILED", "STOPPED"}, timeout=120)
    assert job.status == "STOPPED", client.read_log(job_id)
    steps = _metrics(client, job_id)
    assert all(s == list(range(len(s))) and s for s in steps.values())  # what was logged is kept, once
    rows = _table(team_server, job_id)["trials"]
    assert {row["status"] for row in rows.values()} == {"STOPPED"}
