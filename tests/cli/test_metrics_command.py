"""`trainaction metrics`: a job's metric series as a table, CSV, JSON or a terminal chart, through the CLI."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from trainaction.events import Event

# The table on a pipe runs the real command in a subprocess (slow); the other outputs go through the
# same app in this process (cli_in_process): a subprocess each was most of this file's time.

T0 = 1_700_000_000.0


def _job(backend, name: str, events: list[Event], is_tune: bool = False) -> int:
    job = backend.create_job("train", {"name": name, "dataset": 1, "is_tune": is_tune}, name, name)
    backend.add_events(job.id, events)
    return job.id


def _metric(category: str, key: str, value: float, n: int, trial: str | None = None) -> Event:
    data = {"category": category, "key": key, "value": value, "metrics": {"epoch": n}}
    if trial is not None:
        data["trial_id"] = trial
    return Event("metric", data, T0 + n)


@pytest.fixture
def training(backend) -> int:
    events = [_metric("training", "loss", 1.0 / (n + 1), n) for n in range(5)]
    events += [_metric("validation", "accuracy", 0.5 + n / 10, n) for n in range(5)]
    return _job(backend, "training-job", events)


@pytest.fixture
def tuning(backend) -> int:
    events = [
        _metric("validation", "accuracy", base + n / 100, n, trial)
        for trial, base in (("t_a", 0.5), ("t_b", 0.9), ("t_c", 0.7))
        for n in range(3)
    ]
    table = {
        "trials": {t: {"status": "TERMINATED"} for t in ("t_a", "t_b", "t_c")},
        "base": ["status"],
        "hyperparameters": [],
        "metrics": ["accuracy"],
        "best_trial": "t_b",
    }
    return _job(backend, "tuning-job", [*events, Event("trials", table, T0 + 10)], is_tune=True)


@pytest.mark.slow
def test_a_series_prints_as_a_table_never_cut_on_a_pipe(cli, training):
    done = cli("metrics", training, "--key", "loss")

    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 5 and "epoch" in done.stdout and "…" not in done.stdout
    assert "2023-11-14T22:13:20.000Z" in rows[0]  # the whole ISO time, though the test's COLUMNS is 80


def test_csv_and_json_carry_iso_utc_times(cli_in_process, training):
    cli = cli_in_process
    table = list(csv.DictReader(io.StringIO(cli("metrics", training, "--key", "accuracy", "--format", "csv").stdout)))
    assert [row["epoch"] for row in table] == ["0", "1", "2", "3", "4"] and float(table[4]["value"]) == pytest.approx(
        0.9
    )
    assert all(row["time"].endswith("Z") and row["category"] == "validation" for row in table)

    points = cli("metrics", training, "--format", "json").json()
    assert {(p["category"], p["key"]) for p in points} == {("training", "loss"), ("validation", "accuracy")}
    assert datetime.fromisoformat(points[0]["time"].replace("Z", "+00:00")).timestamp() == T0
    assert points[0]["epoch"] == 0 and points[0]["trial_id"] is None


def test_an_unknown_key_lists_the_keys_present(cli_in_process, training):
    cli = cli_in_process
    done = cli("metrics", training, "--key", "los")

    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no metric 'los'" in done.stderr and "training/loss, validation/accuracy" in done.stderr
    assert done.stdout == ""


def test_a_job_without_metrics_is_a_clear_error(cli_in_process, backend):
    cli = cli_in_process
    job = _job(backend, "quiet", [])

    for args in ([], ["--plot"], ["--format", "json"]):
        done = cli("metrics", job, *args)
        assert done.returncode == 2 and "has logged no metrics" in done.stderr, done.stderr
    assert cli("metrics", 99).returncode == 2


def test_trials_are_chosen_by_id_or_best(cli_in_process, tuning, training):
    cli = cli_in_process
    best = cli("metrics", tuning, "--best", "--format", "json").json()
    assert {p["trial_id"] for p in best} == {"t_b"} and len(best) == 3
    assert {p["trial_id"] for p in cli("metrics", tuning, "--trial", "t_a", "--format", "json").json()} == {"t_a"}

    unknown = cli("metrics", tuning, "--trial", "t_z")
    assert unknown.returncode == 2 and "t_a, t_b, t_c" in unknown.stderr
    both = cli("metrics", tuning, "--trial", "t_a", "--best")
    assert both.returncode == 2 and "give one" in both.stderr
    not_tuning = cli("metrics", training, "--best")
    assert not_tuning.returncode == 2 and "no best trial" in not_tuning.stderr


def test_plot_draws_one_line_per_trial_with_the_best_marked(cli_in_process, tuning):
    cli = cli_in_process
    done = cli("metrics", tuning, "--key", "accuracy", "--plot")

    assert done.returncode == 0, done.stderr
    chart = done.stdout
    assert "\x1b[" not in chart  # a pipe gets plain text
    assert f"job {tuning}: accuracy (validation)" in chart and "epoch" in chart
    assert "* t_b (best)" in chart and "t_a" in chart and "t_c" in chart
    assert "* t_a" not in chart and "* t_c" not in chart


def test_plot_of_a_training_job_labels_each_metric(cli_in_process, training):
    cli = cli_in_process
    done = cli("metrics", training, "--plot")

    assert done.returncode == 0, done.stderr
    assert "training/loss" in done.stdout and "validation/accuracy" in done.stdout
