"""The real CLI in a real terminal (tmux, capture-pane) at 80×40 and 160×50.

A tuning job of 8 trials whose table is ~150 columns wide: trial ids are never cut, the
best-trial marker sits on its own trial's row, the job id is on screen while the job runs, Ray's
banners stay off the screen, and `trainaction trials` fits too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # tuning jobs on Ray, in a terminal

# Trials with learning_rate >= 0.005 wait for the gate file: the test looks at the screen mid-run.
PLUGIN = """
    import os, time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        return None

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        rate = hyperparameter["learning_rate"]
        while rate >= 0.005 and not Path(os.environ["GATE"]).exists():
            time.sleep(0.2)
        for epoch in range(3):
            accuracy = 1 - abs(rate - 0.004) * 100 + epoch * 0.01
            run.log_metric("validation", "accuracy", accuracy, epoch=epoch)
            tune.report({"validation_accuracy": accuracy, "training_loss_value": 1 - accuracy})
"""

JOB = {
    "action": "train",
    "params": {
        "name": "terminal-check",
        "dataset": 1,
        "is_tune": True,
        "num_cpus": 0.25,
        "hyperparameters": [
            {"name": "learning_rate", "type": "grid_search", "options": [i / 1000 for i in range(1, 9)]},
            {"name": "momentum", "type": "choice", "options": [0.8, 0.9]},
            {"name": "batch_size", "type": "choice", "options": [16, 32]},
            {"name": "optimizer", "type": "choice", "options": ["adamw", "sgd"]},
        ],
        "tune_config": {"metric": "validation_accuracy", "mode": "max", "max_concurrent_trials": 2},
    },
}


class Terminal:
    """One tmux session on a private server, running one command."""

    def __init__(self, socket: Path, columns: int, rows: int, command: list[str], env: dict[str, str]) -> None:
        self._base = ["tmux", "-S", str(socket)]
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # env -i: the test process's own LINES/COLUMNS (pytest sets them) must not reach the terminal's programs.
        shell = f"env -i {exports} {shlex.join(command)}; echo EXIT=$?; sleep 600"
        subprocess.run(
            [*self._base, "new-session", "-d", "-s", "t", "-x", str(columns), "-y", str(rows), shell], check=True
        )

    def screen(self, history: bool = False, joined: bool = False) -> str:
        extra = (["-S", "-"] if history else []) + (["-J"] if joined else [])
        done = subprocess.run(
            [*self._base, "capture-pane", "-p", "-t", "t", *extra], check=True, capture_output=True, text=True
        )
        return done.stdout

    def wait_for(self, pattern: str, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"'{pattern}' never appeared on the screen:\n{screen}")
            time.sleep(0.5)

    def close(self) -> None:
        subprocess.run([*self._base, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path, home: Path) -> Callable[..., Terminal]:
    opened: list[Terminal] = []

    def open_terminal(columns: int, rows: int, *args: str) -> Terminal:
        env = {"TRAINACTION_HOME": str(home), "GATE": str(tmp_path / "gate"), "TERM": "xterm-256color"}
        env.update({k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "RAY_AUTH_MODE")})
        opened.append(
            Terminal(tmp_path / f"tmux{len(opened)}", columns, rows, [sys.executable, "-m", "trainaction", *args], env)
        )
        return opened[-1]

    yield open_terminal
    for one in opened:
        one.close()


def _row(screen: str, trial_id: str) -> str:
    """The table row of ``trial_id`` (the lines between the table's edges), checked to be one line."""
    rows = [line for line in screen.splitlines() if line.startswith("│") and trial_id in line]
    assert len(rows) == 1, (trial_id, screen)
    return rows[0]


@pytest.mark.parametrize(("columns", "rows"), [(80, 40), (160, 50)])
def test_a_tuning_job_in_a_terminal_fits_it(terminal, cli, make_plugin, dataset_dir, tmp_path, columns, rows):
    plugin = make_plugin(PLUGIN)
    job = tmp_path / "job.json"
    job.write_text(json.dumps(JOB))
    assert cli("dataset", "add", dataset_dir).returncode == 0

    run = terminal(columns, rows, "run", str(job), "--plugin", str(plugin))

    # Mid-run: 4 trials done, 2 waiting for the gate. The job id is on the screen before the end.
    mid = run.wait_for(r"trials 4/8 done, 2 running")
    assert re.search(r"^job 1 'terminal-check'\s+elapsed \d\d:\d\d", mid, re.M), mid
    assert "ETA ~" in mid and "best so far: " in mid and "latest metrics of trial " in mid
    table = mid[mid.index("trial_id") :]
    statuses = re.findall(r"\b(RUNNING|TERMINATED|PENDING)\b", table)
    assert statuses[:2] == ["RUNNING", "RUNNING"] and "RUNNING" not in statuses[2:], mid  # running trials first
    assert "Token authentication" not in mid and "[ray" not in mid  # Ray's banner is in the job log instead
    assert max(len(line) for line in mid.splitlines()) <= columns

    (tmp_path / "gate").touch()
    end = run.wait_for(r"EXIT=\d+")
    assert "EXIT=0" in end, end
    stored = cli("trials", "1", "--json").json()
    best = stored["best_trial"]
    assert len(stored["trials"]) == 8 and best
    for trial_id in stored["trials"]:  # every id whole; the marker on the best trial's row only
        marked = _row(end, trial_id).lstrip("│┃ ").startswith(f"* {trial_id}")
        assert marked == (trial_id == best), _row(end, trial_id)
    assert "Token authentication" not in run.screen(history=True)
    if "RAY_AUTH_MODE" not in os.environ:
        assert "[ray warning] Token authentication is enabled" in cli("jobs", "logs", "1").stdout
    narrow = columns < 120
    assert (
        # Live, the footer is one line that fits: how many columns, and the command that shows them.
        ("column(s) hidden to fit — see them with trainaction trials 1 --wide" in end) == narrow
        and "validation_accuracy" in end
        and "learning_rate" in end
    )

    stored_view = terminal(columns, rows, "trials", "1").wait_for(r"EXIT=0")
    for trial_id in stored["trials"]:
        assert _row(stored_view, trial_id).lstrip("│┃ ").startswith(f"* {trial_id}" if trial_id == best else trial_id)
    assert ("see them with --wide or --json" in " ".join(stored_view.split())) == narrow  # the footer may wrap
    if narrow:
        wide = terminal(columns, rows, "trials", "1", "--wide")
        wide.wait_for(r"EXIT=0")
        lines = wide.screen(joined=True)  # --wide: lines as long as the table, the terminal wraps them
        assert "batch_size" in lines and "training_loss_value" in lines and "hidden" not in lines
