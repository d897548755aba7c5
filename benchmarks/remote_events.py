"""Benchmark: how a trial on another node of a Ray cluster gets its events to the team server.

Three ways, each with the trial as a Ray task (its own worker process) logging ``--events`` metrics
through ``TrainRun.log_metric`` into a real ``trainaction server`` subprocess over SQLite:

- "trial pump" (issue option a): a spool and an EventPump thread in the trial's own process, posting
  batches with batch ids through the HTTP backend;
- "node pump" (option a, as built: :mod:`trainaction.cluster.nodepump`): the trial writes the same
  spool; a pump actor on the trial's node (another process) drains it through the HTTP backend;
- "driver actor" (issue option b): the trial buffers encoded records and sends them in batches of
  ``--batch`` (or every 50 ms) to a Ray actor standing for the driver, which stores them through the
  same pump code (its queue instead of spools).

Per way: the per-step cost in the trial (its logging loop's time / events) and the events per second
until every event is stored (from the loop's start to the last batch stored), median of ``--repeats``.

Run (from the repository root): .venv/bin/python benchmarks/remote_events.py [--events 100000] [--repeats 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/logging.py would shadow the standard library's logging: keep this folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tests' live server

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any, cast  # noqa: E402

from servers import ServerProcess  # noqa: E402
from trainaction.backend.http import HttpBackend  # noqa: E402
from trainaction.progress import ProgressKeeper  # noqa: E402
from trainaction.pump import EventPump, NullObserver  # noqa: E402
from trainaction.run import SpoolSink, TrainRun  # noqa: E402
from trainaction.spool import SpoolWriter  # noqa: E402
from trainaction.wire import Record, decode, encode  # noqa: E402


class _NoProgress:
    def send(self, record: Any) -> None:
        pass

    def save(self, force: bool = False) -> None:
        pass


def _pump(backend: HttpBackend, job_id: int, root: Path) -> EventPump:
    return EventPump(backend, job_id, root, cast(ProgressKeeper, _NoProgress()), NullObserver(), lambda r: None)


def _log(run: TrainRun, events: int) -> float:
    started = time.perf_counter()
    for step in range(events):
        run.log_metric("train", "loss", step * 0.001, step=step)
    return time.perf_counter() - started


class Forwarder:
    """Option (b): the driver's actor; records arrive in batches and go through the pump's queue."""

    def __init__(self, url: str, token: str, job_id: int) -> None:
        self._backend = HttpBackend(url, token, cache_dir=Path(tempfile.mkdtemp()))
        self._pump = _pump(self._backend, job_id, Path(tempfile.mkdtemp())).start()

    def add(self, batch: list[bytes]) -> None:
        for data in batch:
            record, _ = decode(data)
            self._pump.send(record)

    def stop(self) -> float:
        self._pump.stop()
        return time.time()


class NodePump:
    """Option (a) as built: a pump in its own process on the trial's node, draining the node's spools."""

    def __init__(self, url: str, token: str, job_id: int, root: str) -> None:
        self._backend = HttpBackend(url, token, cache_dir=Path(tempfile.mkdtemp()))
        self._pump = _pump(self._backend, job_id, Path(root)).start()

    def stop(self) -> float:
        self._pump.stop()
        return time.time()


class _BatchSink:
    """The trial's side of option (b): records buffered, sent to the actor every ``size`` or 50 ms."""

    def __init__(self, actor: Any, size: int) -> None:
        self._actor, self._size = actor, size
        self._buffer: list[bytes] = []
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._last = time.monotonic()

    def send(self, record: Record) -> None:
        with self._lock:
            self._buffer.append(encode(record))
            if len(self._buffer) >= self._size or time.monotonic() - self._last > 0.05:
                self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._pending.append(self._actor.add.remote(self._buffer))
            self._buffer, self._last = [], time.monotonic()

    def close(self) -> None:
        import ray

        with self._lock:
            self._flush()
        ray.get(self._pending)


def _trial(
    way: str, url: str, token: str, job_id: int, events: int, batch: int, helper: Any, root: str
) -> dict[str, float]:
    started = time.time()
    if way == "trial pump":
        backend = HttpBackend(url, token, cache_dir=Path(tempfile.mkdtemp()))
        pump = _pump(backend, job_id, Path(root)).start()
        writer = SpoolWriter(Path(root) / uuid.uuid4().hex, segment_size=1 << 20)
        loop = _log(TrainRun(SpoolSink(writer), output_dir=tempfile.mkdtemp()), events)
        writer.close()
        pump.stop()
        return {"loop": loop, "started": started, "stored": time.time()}
    if way == "node pump":
        writer = SpoolWriter(Path(root) / uuid.uuid4().hex, segment_size=1 << 20)
        loop = _log(TrainRun(SpoolSink(writer), output_dir=tempfile.mkdtemp()), events)
        writer.close()
        return {"loop": loop, "started": started}
    sink = _BatchSink(helper, batch)
    loop = _log(TrainRun(sink, output_dir=tempfile.mkdtemp()), events)
    sink.close()
    return {"loop": loop, "started": started}


def main() -> None:
    import ray

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000, help="records per actor call (option b)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="remote-events-"))
    with ServerProcess(home / "server") as server:
        assert server.admin_token is not None
        url, token = server.url, server.admin_token
        client = HttpBackend(url, token, cache_dir=home / "cache")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        trial = ray.remote(num_cpus=1)(_trial)
        results: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.repeats):
            for way in ("trial pump", "node pump", "driver actor"):
                job_id = client.create_job("train", {}, f"bench-{way.replace(' ', '-')}", way).id
                root = str(home / "spool" / uuid.uuid4().hex)
                os.makedirs(root)
                helper: Any = None
                if way == "driver actor":
                    helper = ray.remote(num_cpus=0)(Forwarder).remote(url, token, job_id)
                elif way == "node pump":
                    helper = ray.remote(num_cpus=0)(NodePump).remote(url, token, job_id, root)
                ray.get(helper.__ray_ready__.remote()) if helper is not None else None
                answer = ray.get(trial.remote(way, url, token, job_id, args.events, args.batch, helper, root))
                stored = answer.get("stored") or ray.get(helper.stop.remote())
                assert sum(1 for _ in client.iter_events(job_id, "metric")) == args.events, way
                results.setdefault(way, []).append((answer["loop"], stored - answer["started"]))
        ray.shutdown()
        client.close()
    load = os.getloadavg()[0]
    print(f"{args.events} metric events per trial, median of {args.repeats}; load average {load:.1f}")
    print("| way | per step in the trial | events/s until all stored |")
    print("| --- | --- | --- |")
    for way, runs in results.items():
        loop = statistics.median(r[0] for r in runs)
        total = statistics.median(r[1] for r in runs)
        print(f"| {way} | {loop / args.events * 1e6:.1f} us | {args.events / total:,.0f} |")


if __name__ == "__main__":
    main()
