"""What the queue's tests share: a plugin whose jobs say who they are, job documents, the CLI on a home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Every value a job produces carries its own x: a metric, a log line, the model file. A trial or
# training run also appends "x" to $CALLS (when set), so a test can count train()/tune() calls;
# x >= 20 runs slowly (steps of 0.25 s), to be stopped or killed mid-way.
PLUGIN = """
import os, time
from pathlib import Path

def _work(run, x, report):
    if os.environ.get("CALLS"):
        with open(os.environ["CALLS"], "a") as calls:
            calls.write(f"{x}\\n")
    print(f"job-of-x={x}", flush=True)
    Path(run.output_dir, "model.txt").write_text(str(x))
    for step in range(x if x >= 20 else 2):
        run.log_metric("training", "x", x, step=step)
        report(x * 100 + step)
        if x >= 20:
            time.sleep(0.25)

def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    _work(run, hyperparameter["x"], lambda value: None)
    return str(Path(run.output_dir) / "model.txt")

def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
    from ray import tune
    _work(run, hyperparameter["x"], lambda value: tune.report({"score": value}))
"""


def write_plugin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.py").write_text(PLUGIN)
    return folder


def training_job(folder: Path, x: int, name: str = "") -> Path:
    document = {"action": "train", "params": {"name": name or f"train-{x}", "dataset": 1, "hyperparameter": {"x": x}}}
    path = folder / f"{name or f'train-{x}'}.json"
    path.write_text(json.dumps(document))
    return path


def tuning_job(folder: Path, options: list[int], name: str, num_cpus: float = 0.5) -> Path:
    document = {
        "action": "train",
        "params": {
            "name": name,
            "dataset": 1,
            "is_tune": True,
            "num_cpus": num_cpus,
            "hyperparameters": [{"name": "x", "type": "grid_search", "options": options}],
            "tune_config": {"metric": "score", "mode": "max"},
        },
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document))
    return path


def cli(
    home: Path, *args: Any, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``trainaction ARGS`` on the embedded home ``home``."""
    return subprocess.run(
        [sys.executable, "-m", "trainaction", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TRAINACTION_HOME": str(home), **(env or {})},
    )


def wait_for(check: Callable[[], Any], timeout: float = 180, what: str = "the condition") -> Any:
    """Poll ``check`` until it returns something truthy; generous: the test machines are loaded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rfind(b")") + 2 :].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                found.append((child, commands.get(child, "")))
                frontier.append(child)
    return found
