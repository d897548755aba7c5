"""Benchmark: a training loop logging a metric every step to the team server, against no logging and
against the embedded backend, in the same run.

As ``benchmarks/logging.py`` does: the digits example's training loop (batch 32, about 45 steps an
epoch) logging ``training/step_loss`` after every batch through the real spool, while the job's real
pump (:class:`trainaction.pump.EventPump`) drains it in another process:

- "http": the pump stores into an :class:`~trainaction.backend.http.HttpBackend` talking to a real
  ``trainaction server`` (SQLite);
- "embedded": the pump stores into the embedded backend (:class:`~trainaction.backend.LocalBackend`);
- "silent": the same loop with ``log_metric`` a no-op.

The three alternate, ``--repeats`` times. Reported: medians, and the median of the ratios of runs
made one after the other (paired: drift on a shared machine cancels). Target: http < 2% slower than
silent. At the end every logged point is counted where it was stored.

On a machine of two cores the loop, the pumps and the server otherwise take turns on both, and the
medians of back-to-back runs spread wider (-2% to +10%) than the 2% to be measured. So by default the
loop runs alone on the first CPU and the pumps and the server on the others (``--no-pin``: wherever
the system puts them): the server stands for the team's machine, the pump for the rest of a training
machine, whose loop is one Python thread.

Run (from the repository root): .venv/bin/python benchmarks/http_logging.py [--repeats 15] [--no-pin]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/logging.py would shadow the standard library's logging: keep this folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tests' live server

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from servers import ServerProcess  # noqa: E402
from trainaction.backend import Backend, LocalBackend  # noqa: E402
from trainaction.backend.http import HttpBackend  # noqa: E402
from trainaction.progress import ProgressKeeper  # noqa: E402
from trainaction.pump import EventPump, NullObserver  # noqa: E402
from trainaction.run import SpoolSink, TrainRun  # noqa: E402
from trainaction.spool import SpoolWriter  # noqa: E402


def _pump(spool_root: str, where: str, token: str | None, job_id: int, stop: Any, interval: float | None) -> None:
    """What `trainaction run` does beside the plugin: drain the spool into the backend, in batches.
    ``where``: the server's URL (with ``token``), or the embedded backend's home."""
    backend: Backend
    if token is None:
        backend = LocalBackend(Path(where))
    else:
        backend = HttpBackend(where, token, cache_dir=Path(spool_root).parent / "cache")
    progress = ProgressKeeper(backend, job_id, {"train": 1.0})
    pump = EventPump(backend, job_id, Path(spool_root), progress, NullObserver(), lambda control: None, interval)
    pump.start()
    stop.wait()
    pump.stop()
    if isinstance(backend, HttpBackend):
        backend.close()
    if pump.failure_message():
        raise SystemExit(pump.failure_message())


def _pin(pid: int, cpus: set[int]) -> None:
    """Every thread of process ``pid`` onto ``cpus``; threads it starts later inherit them."""
    for task in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(task), cpus)


class _NoLogRun(TrainRun):
    def log_metric(self, category: str, key: str, value: Any, **metrics: Any) -> None:
        pass


VARIANTS = ("http", "embedded", "silent")


def runs(repeats: int, epochs: int, interval: float | None, pin: bool) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Seconds of each run of each variant, alternated; the points each backend stored."""
    sys.path.insert(0, str(REPO / "examples" / "digits"))
    import plugin as digits  # the example plugin
    import torch
    from prepare_data import write_digits

    from trainaction.resources import Dataset

    # One thread: on a shared 2-core machine torch's second worker thread waits on the other
    # processes' load, and both variants then vary 20-fold from run to run, drowning a 2% difference.
    torch.set_num_threads(1)
    hyperparameter = {
        "epochs": epochs,
        "batch_size": 32,
        "learning_rate": 0.001,
        "optimizer": "adam",
        "log_every_step": True,
    }
    with tempfile.TemporaryDirectory() as directory, ServerProcess(Path(directory) / "artifacts") as server:
        root = Path(directory)
        assert server.admin_token is not None and server.process is not None
        write_digits(root / "data")
        dataset = Dataset(1, "digits", root / "data")
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as http:
            new = {"action": "train", "params": {}, "name": "logging", "display_name": "logging"}
            http_job = http.post("/jobs", json=new).raise_for_status().json()["id"]
            home = root / "home"
            setup = LocalBackend(home)
            embedded_job = setup.create_job("train", {}, "logging", "logging").id
            setup.engine.dispose()  # no SQLite connection open across the fork below: the pump's would share its locks
            stop = multiprocessing.Event()
            pumps = [
                multiprocessing.Process(
                    target=_pump,
                    args=(str(root / "http-spool"), server.url, server.admin_token, http_job, stop, interval),
                ),
                multiprocessing.Process(
                    target=_pump, args=(str(root / "embedded-spool"), str(home), None, embedded_job, stop, interval)
                ),
            ]
            variants: dict[str, TrainRun] = {
                "http": TrainRun(SpoolSink(SpoolWriter(root / "http-spool" / "plugin")), output_dir=root / "http"),
                "embedded": TrainRun(
                    SpoolSink(SpoolWriter(root / "embedded-spool" / "plugin")), output_dir=root / "embedded"
                ),
                "silent": _NoLogRun(SpoolSink(SpoolWriter(root / "silent-spool")), output_dir=root / "silent"),
            }
            for pump in pumps:
                pump.start()
            cpus = sorted(os.sched_getaffinity(0))
            if pin and len(cpus) > 1:
                for pid in (server.process.pid, *(pump.pid for pump in pumps)):
                    _pin(pid, set(cpus[1:]))  # type: ignore[arg-type]
                _pin(os.getpid(), {cpus[0]})
            digits.train(variants["silent"], dataset, hyperparameter, None)  # warm-up: imports, allocator, pools
            times: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for _ in range(repeats):  # alternate so drift on a shared machine hits all alike
                for name in VARIANTS:
                    start = time.perf_counter()
                    digits.train(variants[name], dataset, hyperparameter, None)
                    times[name].append(time.perf_counter() - start)
            stop.set()
            for pump in pumps:
                pump.join()
            answer = http.get(f"/jobs/{http_job}/metrics", params={"key": "step_loss", "points": 2}).json()
            stored = {"http": sum(series["count"] for series in answer["series"])}
        local = LocalBackend(home).metric_series(embedded_job, key="step_loss", points=2)
        stored["embedded"] = sum(series["count"] for series in local)
    return times, stored


def _percent(ratio: float) -> str:
    return f"{100.0 * (ratio - 1.0):+.2f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the digits loop (about 45 steps each)")
    parser.add_argument("--interval", type=float, default=None, help="the pumps' seconds between batches (default)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="leave every process on every CPU")
    args = parser.parse_args()
    times, stored = runs(args.repeats, args.epochs, args.interval, args.pin)
    where = "loop alone on CPU 0, pumps and server on the others" if args.pin else "not pinned"
    median = {name: statistics.median(times[name]) for name in VARIANTS}
    print(f"digits training loop, log_metric every step ({where}; {args.epochs} epochs, median of {args.repeats}):")
    print("  " + ", ".join(f"{name} {median[name]:.3f} s" for name in VARIANTS))
    for name, base in (("http", "silent"), ("embedded", "silent"), ("http", "embedded")):
        paired = statistics.median(a / b for a, b in zip(times[name], times[base], strict=True))
        target = " (target < 2%)" if (name, base) == ("http", "silent") else ""
        print(
            f"  {name} vs {base}: medians {_percent(median[name] / median[base])}, "
            f"paired runs {_percent(paired)}{target}"
        )
    for name in VARIANTS:
        print(f"  {name} runs: {', '.join(f'{t:.3f}' for t in times[name])} s")
    print(f"  step_loss points stored: {stored['http']:,} on the server, {stored['embedded']:,} in the embedded home")


if __name__ == "__main__":
    main()
