"""Benchmark: a training loop logging a metric every step to the team server, against no logging.

As ``benchmarks/logging.py`` does for the embedded backend: the digits example's training loop
(10 epochs, batch 32, about 450 steps) logging ``training/step_loss`` after every batch through the
real spool, while another process runs the job's real pump (:class:`trainaction.pump.EventPump`)
into an :class:`~trainaction.backend.http.HttpBackend` talking to a real ``trainaction server``
(SQLite); against the same loop with ``log_metric`` a no-op. The two alternate, ``--repeats`` times;
medians compared. Target: < 2% slower. At the end, every logged point is checked on the server.

On a machine of two cores, the loop, the pump and the server otherwise take turns on both, and the
medians of back-to-back runs spread wider (-2% to +10%) than the 2% to be measured. So by default the
loop runs alone on the first CPU and the pump and the server on the others (``--no-pin``: wherever
the system puts them): the server stands for the team's machine it runs on, and the pump for the
rest of a training machine, whose loop is one Python thread.

Run (from the repository root): .venv/bin/python benchmarks/http_logging.py [--repeats 7] [--no-pin]
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
from trainaction.backend.http import HttpBackend  # noqa: E402
from trainaction.progress import ProgressKeeper  # noqa: E402
from trainaction.pump import EventPump, NullObserver  # noqa: E402
from trainaction.run import SpoolSink, TrainRun  # noqa: E402
from trainaction.spool import SpoolWriter  # noqa: E402


def _pump(spool_root: str, url: str, token: str, job_id: int, stop: Any, interval: float | None) -> None:
    """What `trainaction run` does beside the plugin: drain the spool into the backend, in batches."""
    backend = HttpBackend(url, token, cache_dir=Path(spool_root).parent / "cache")
    progress = ProgressKeeper(backend, job_id, {"train": 1.0})
    pump = EventPump(backend, job_id, Path(spool_root), progress, NullObserver(), lambda control: None, interval)
    pump.start()
    stop.wait()
    pump.stop()
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


def slowdown(
    repeats: int, epochs: int = 10, interval: float | None = None, pin: bool = True
) -> tuple[float, float, float, int, list[float], list[float]]:
    """Median seconds with and without per-step logging, the slowdown in %, the points stored, the runs."""
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
        assert server.admin_token is not None
        write_digits(root / "data")
        dataset = Dataset(1, "digits", root / "data")
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as http:
            new = {"action": "train", "params": {}, "name": "logging", "display_name": "logging"}
            job_id = http.post("/jobs", json=new).raise_for_status().json()["id"]
            stop = multiprocessing.Event()
            spool_root = root / "spool"
            pump = multiprocessing.Process(
                target=_pump, args=(str(spool_root), server.url, server.admin_token, job_id, stop, interval)
            )
            logged = TrainRun(SpoolSink(SpoolWriter(spool_root / "plugin")), output_dir=root / "logged")
            silent = _NoLogRun(SpoolSink(SpoolWriter(root / "silent-spool")), output_dir=root / "silent")
            pump.start()
            cpus = sorted(os.sched_getaffinity(0))
            if pin and len(cpus) > 1:
                assert server.process is not None
                for pid in (server.process.pid, pump.pid):
                    _pin(pid, set(cpus[1:]))  # type: ignore[arg-type]
                _pin(os.getpid(), {cpus[0]})
            digits.train(silent, dataset, hyperparameter, None)  # warm-up: imports, allocator, thread pools
            times: dict[str, list[float]] = {"logged": [], "silent": []}
            for _ in range(repeats):  # alternate so drift on a shared machine hits both alike
                for name, run in (("logged", logged), ("silent", silent)):
                    start = time.perf_counter()
                    digits.train(run, dataset, hyperparameter, None)
                    times[name].append(time.perf_counter() - start)
            stop.set()
            pump.join()
            answer = http.get(f"/jobs/{job_id}/metrics", params={"key": "step_loss", "points": 2}).json()
            stored = sum(series["count"] for series in answer["series"])
    with_logs, without = statistics.median(times["logged"]), statistics.median(times["silent"])
    percent = 100.0 * (with_logs - without) / without
    return with_logs, without, percent, stored, times["logged"], times["silent"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the digits loop (about 45 steps each)")
    parser.add_argument("--interval", type=float, default=None, help="the pump's seconds between batches (its default)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="leave every process on every CPU")
    args = parser.parse_args()
    with_logs, without, percent, stored, logged, silent = slowdown(args.repeats, args.epochs, args.interval, args.pin)
    where = "loop on CPU 0, pump and server on the others" if args.pin else "not pinned"
    print(
        f"digits training loop ({where}), log_metric every step to the server (HTTP, SQLite): {with_logs:.3f} s vs "
        f"{without:.3f} s without logging (median of {args.repeats}): ratio {with_logs / without:.4f}, "
        f"slowdown {percent:+.2f}% (target < 2%)"
    )
    print(
        f"  logged runs: {', '.join(f'{t:.3f}' for t in logged)} s; silent: {', '.join(f'{t:.3f}' for t in silent)} s"
    )
    print(f"  step_loss points stored on the server: {stored:,}")


if __name__ == "__main__":
    main()
