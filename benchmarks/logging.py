"""Benchmark: the cost of ``run.log_metric`` to the plugin.

1. ``log_metric`` calls per second on the calling thread, through the real spool, while another
   process drains it (as ``trainaction run`` does).
2. The digits example's training loop logging a metric every step vs the same loop with
   ``log_metric`` a no-op: the slowdown, as a percentage.

Run: .venv/bin/python benchmarks/logging.py [--calls N] [--repeats R]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named logging.py: keep its folder off sys.path so `import logging` finds the stdlib.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from trainaction.run import SpoolSink, TrainRun  # noqa: E402
from trainaction.spool import SpoolReader, SpoolWriter  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _drain(directory: str, stop: Any) -> None:
    reader = SpoolReader(directory)
    while not stop.is_set():
        reader.read()
        time.sleep(0.05)
    reader.read()


def calls_per_second(calls: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        stop = multiprocessing.Event()
        drainer = multiprocessing.Process(target=_drain, args=(directory, stop))
        drainer.start()
        run = TrainRun(SpoolSink(SpoolWriter(directory)), output_dir=Path(directory) / "out")
        start = time.perf_counter()
        for step in range(calls):
            run.log_metric("training", "loss", 0.5, epoch=1, step=step)
        elapsed = time.perf_counter() - start
        stop.set()
        drainer.join()
    return calls / elapsed


class _NoLogRun(TrainRun):
    def log_metric(self, category: str, key: str, value: Any, **metrics: Any) -> None:
        pass


def digits_slowdown(repeats: int) -> tuple[float, float, float]:
    """Median seconds of the digits loop with and without per-step logging, and the slowdown in %."""
    sys.path.insert(0, str(REPO / "examples" / "digits"))
    import plugin as digits  # the example plugin
    from prepare_data import write_digits

    from trainaction.resources import Dataset

    hyperparameter = {
        "epochs": 10,
        "batch_size": 32,
        "learning_rate": 0.001,
        "optimizer": "adam",
        "log_every_step": True,
    }
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write_digits(root / "data")
        dataset = Dataset(1, "digits", root / "data")
        stop = multiprocessing.Event()
        drainer = multiprocessing.Process(target=_drain, args=(str(root / "spool"), stop))
        logged = TrainRun(SpoolSink(SpoolWriter(root / "spool")), output_dir=root / "logged")
        silent = _NoLogRun(SpoolSink(SpoolWriter(root / "silent-spool")), output_dir=root / "silent")
        drainer.start()
        digits.train(silent, dataset, hyperparameter, None)  # warm-up: imports, allocator, thread pools
        times: dict[str, list[float]] = {"logged": [], "silent": []}
        for _ in range(repeats):  # alternate so drift on a shared machine hits both alike
            for name, run in (("logged", logged), ("silent", silent)):
                start = time.perf_counter()
                digits.train(run, dataset, hyperparameter, None)
                times[name].append(time.perf_counter() - start)
        stop.set()
        drainer.join()
    with_logs, without = statistics.median(times["logged"]), statistics.median(times["silent"])
    return with_logs, without, 100.0 * (with_logs - without) / without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rates = [calls_per_second(args.calls) for _ in range(3)]
    print(f"log_metric on the calling thread: {statistics.median(rates):,.0f} calls/s (median of 3 x {args.calls:,})")
    with_logs, without, slowdown = digits_slowdown(args.repeats)
    print(
        f"digits training loop, log_metric every step: {with_logs:.3f} s vs {without:.3f} s without logging "
        f"(median of {args.repeats}): slowdown {slowdown:+.2f}%"
    )


if __name__ == "__main__":
    main()
