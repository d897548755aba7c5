"""Benchmark: exporting a big job's events and log, with the CLI's peak memory.

1. A real job (``trainaction run``) whose plugin logs N metrics (default 1,000,000) through the
   spool and the pump into the embedded backend; the time it takes.
2. A job log of M megabytes (default 1024), appended in 1 MiB chunks as the pump writes it.
3. ``trainaction jobs events ID --json-lines``, ``--json`` and ``jobs logs ID``, each in a fresh
   process writing to /dev/null: wall time (including the start-up, about 1 s) and peak RSS
   (from wait4, that process alone).

Run: .venv/bin/python benchmarks/events_export.py [--metrics N] [--log-mb M]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/logging.py would shadow the standard library's logging: keep this folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402

PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        for step in range(hyperparameter["metrics"]):
            run.log_metric("training", "loss", 1.0 / (step + 1), step=step)
"""


# A child's peak RSS counts the memory of the process that forked it (Linux records the old address
# space's high-water mark at exec), so the CLI is started from a small Python of its own.
_MEASURE = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def _cli(*args: str) -> tuple[float, float, int]:
    """Run ``trainaction ARGS`` with its output to /dev/null; returns (seconds, peak RSS in MiB, exit status)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "trainaction", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    status, max_rss_kib = done.stdout.split()
    return seconds, int(max_rss_kib) / 1024, int(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", type=int, default=1_000_000)
    parser.add_argument("--log-mb", type=int, default=1024)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["TRAINACTION_HOME"] = str(root / "home")
        (root / "data").mkdir()
        (root / "data" / "x.txt").write_text("x")
        (root / "plugin").mkdir()
        (root / "plugin" / "plugin.py").write_text(textwrap.dedent(PLUGIN))
        job = root / "job.json"
        job.write_text(
            json.dumps(
                {
                    "action": "train",
                    "params": {"name": "big", "dataset": 1, "hyperparameter": {"metrics": args.metrics}},
                }
            )
        )
        _cli("dataset", "add", str(root / "data"))

        seconds, rss, status = _cli("run", str(job), "--plugin", str(root / "plugin"), "--json")
        assert status == 0, f"the job failed ({status})"
        print(f"run, {args.metrics:,} metrics logged and stored: {seconds:.1f} s, peak RSS {rss:.0f} MiB")

        from trainaction.backend import LocalBackend

        backend = LocalBackend(root / "home")
        log_job = backend.create_job("train", {}, "big-log", "big-log").id
        chunk = ("x" * 99 + "\n") * ((1 << 20) // 100)
        started = time.perf_counter()
        for _ in range(args.log_mb * (1 << 20) // len(chunk)):
            backend.append_log(log_job, chunk)
        print(f"log of {args.log_mb} MiB appended in {time.perf_counter() - started:.1f} s")

        for what in (
            ["jobs", "events", "1", "--json-lines"],
            ["jobs", "events", "1", "--json"],
            ["jobs", "logs", str(log_job)],
        ):
            seconds, rss, status = _cli(*what)
            assert status == 0, f"{' '.join(what)} exited {status}"
            print(f"trainaction {' '.join(what)}: {seconds:.1f} s, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
