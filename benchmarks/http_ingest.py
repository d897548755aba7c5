"""Benchmark: events per second posted over HTTP, in batches, into the team server; MLflow beside it.

A real ``trainaction server`` subprocess (``tests/servers.py``) over SQLite, then over a throwaway
PostgreSQL (``tests/postgres.py``), takes ``--batches`` batches of ``--events`` metric events each,
posted one after the other with batch ids on one keep-alive connection:

- "server": bodies encoded before the clock starts: what the server's events route takes;
- "HttpBackend": ``HttpBackend.add_events`` from Event objects, as a job's pump sends them (its
  JSON encoding and the HTTP round trips included).

Then MLflow's ``log_batch`` (1,000 metrics a call, its limit) into its file store and into SQLite,
run by the separate venv ``--mlflow-python`` (default /work/mlflow-venv/bin/python, made with
``python3 -m venv /work/mlflow-venv && /work/mlflow-venv/bin/pip install mlflow``): the peer.
Target: >= 100,000 events/s into SQLite and into PostgreSQL.

Run (from the repository root): .venv/bin/python benchmarks/http_ingest.py [--batches 10] [--events 10000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/logging.py would shadow the standard library's logging: keep this folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tests' live server and PostgreSQL cluster

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import httpx  # noqa: E402

from postgres import PostgresCluster  # noqa: E402
from servers import ServerProcess  # noqa: E402
from trainaction.backend.http import HttpBackend  # noqa: E402
from trainaction.events import Event  # noqa: E402

_MLFLOW = r"""
import json, sys, time, tempfile, pathlib, logging, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
batches, per_batch = int(sys.argv[1]), int(sys.argv[2])
answer = {"version": mlflow.__version__}
root = pathlib.Path(tempfile.mkdtemp())
for store, uri in (("file store", (root / "mlruns").as_uri()), ("sqlite", f"sqlite:///{root / 'mlflow.db'}")):
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(client.create_experiment(f"bench-{store.replace(' ', '-')}"))
    now = int(time.time() * 1000)
    calls = [
        [Metric("loss", 0.5 + i * 1e-6, now, b * per_batch + i) for i in range(start, min(start + 1000, per_batch))]
        for b in range(batches) for start in range(0, per_batch, 1000)
    ]
    started = time.perf_counter()
    for metrics in calls:
        client.log_batch(run.info.run_id, metrics=metrics)
    answer[store] = batches * per_batch / (time.perf_counter() - started)
print(json.dumps(answer))
"""


def _events(batch: int, per_batch: int) -> list[Event]:
    now = time.time()
    return [
        Event(
            "metric",
            {
                "category": "training",
                "key": "loss",
                "value": 0.5 + i * 1e-6,
                "metrics": {"step": batch * per_batch + i},
            },
            now,
        )
        for i in range(per_batch)
    ]


def _body(events: list[Event]) -> bytes:
    rows = [{"type": e.type, "data": e.data, "time": e.time} for e in events]
    return json.dumps({"batch_id": f"bench-{uuid.uuid4().hex}", "events": rows}).encode()


@contextlib.contextmanager
def server(kind: str, root: Path) -> Iterator[ServerProcess]:
    if kind == "sqlite":
        with ServerProcess(root / "artifacts") as process:
            yield process
        return
    with PostgresCluster.running() as cluster, ServerProcess(root / "artifacts", cluster.create_database()) as process:
        yield process


def ingest(kind: str, batches: int, per_batch: int) -> dict[str, float]:
    """Events/s into a fresh server, posted raw and through HttpBackend; checks every event was stored."""
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory, server(kind, Path(directory)) as process:
        assert process.admin_token is not None
        headers = {"Authorization": f"Bearer {process.admin_token}"}
        with httpx.Client(base_url=f"{process.url}/api/v1", headers=headers, timeout=120) as http:
            new = {"action": "train", "params": {}, "name": "ingest", "display_name": "ingest"}
            raw_job, client_job = (http.post("/jobs", json=new).raise_for_status().json()["id"] for _ in range(2))
            bodies = [_body(_events(b, per_batch)) for b in range(batches)]
            started = time.perf_counter()
            for body in bodies:
                answer = http.post(
                    f"/jobs/{raw_job}/events", content=body, headers={"Content-Type": "application/json"}
                )
                assert answer.status_code == 200, answer.text
            rates["server"] = batches * per_batch / (time.perf_counter() - started)
            backend = HttpBackend(process.url, process.admin_token, cache_dir=Path(directory) / "cache")
            batches_of_events = [_events(b, per_batch) for b in range(batches)]
            started = time.perf_counter()
            for events in batches_of_events:
                backend.add_events(client_job, events, batch_id=f"bench-{uuid.uuid4().hex}")
            rates["HttpBackend"] = batches * per_batch / (time.perf_counter() - started)
            backend.close()
            for job_id in (raw_job, client_job):
                (series,) = http.get(f"/jobs/{job_id}/metrics", params={"points": 2}).json()["series"]
                assert series["count"] == batches * per_batch, series["count"]
    return rates


def mlflow_rates(python: str, batches: int, per_batch: int) -> dict[str, float] | str:
    if not Path(python).exists():
        return f"not measured: {python} does not exist (python3 -m venv /work/mlflow-venv; pip install mlflow)"
    # MLflow 3 refuses its file store unless asked: it is the peer the issue names, so it is asked.
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    done = subprocess.run(
        [python, "-c", _MLFLOW, str(batches), str(per_batch)], capture_output=True, text=True, timeout=3600, env=env
    )
    if done.returncode:
        return f"not measured: MLflow failed: {done.stderr.strip().splitlines()[-1:]}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--mlflow-python", default="/work/mlflow-venv/bin/python")
    args = parser.parse_args()
    total = args.batches * args.events
    ours: dict[tuple[str, str], float] = {}
    for kind in [name for name in args.databases.split(",") if name]:
        runs = [ingest(kind, args.batches, args.events) for _ in range(args.repeats)]
        for way in ("server", "HttpBackend"):
            ours[(kind, way)] = statistics.median(run[way] for run in runs)
            each = ", ".join(f"{run[way]:,.0f}" for run in runs)
            print(
                f"trainaction server, {kind}, {way}: {ours[(kind, way)]:,.0f} events/s "
                f"(median of {args.repeats}: {each}; {args.batches} x {args.events:,}); target >= 100,000"
            )
    peer = mlflow_rates(args.mlflow_python, args.batches, args.events)
    if isinstance(peer, str):
        print(f"MLflow log_batch: {peer}")
        return
    print(f"MLflow {peer.pop('version')} log_batch ({total:,} metrics, 1,000 a call):")
    for store, rate in peer.items():
        print(f"  into its {store}: {rate:,.0f} metrics/s")
    for (kind, way), rate in ours.items():
        ratios = ", ".join(f"{rate / other:.1f}x MLflow's {store}" for store, other in peer.items())
        print(f"  trainaction {kind} ({way}): {ratios}")


if __name__ == "__main__":
    main()
