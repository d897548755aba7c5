"""A storage fault is retried, then fails the job with its cause and the count; the live view survives odd data."""

from __future__ import annotations

import io
import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from trainaction.action import TrainAction
from trainaction.backend import LocalBackend
from trainaction.display import LiveJobView, trials_table
from trainaction.events import Event
from trainaction.plugin import load_plugin
from trainaction.validation import parse_job

PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        for step in range(20):
            run.log_metric("training", "loss", 1.0 / (step + 1), step=step)
"""


class FlakyBackend:
    """The real embedded backend, except that storing events raises until ``healthy_after`` (seconds)."""

    def __init__(self, inner: LocalBackend, healthy_after: float) -> None:
        self._inner = inner
        self._healthy_after = healthy_after
        self._first_failure: float | None = None
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def add_events(self, job_id: int, events: Sequence[Event], *, batch_id: str | None = None) -> None:
        now = time.monotonic()
        self._first_failure = self._first_failure or now
        if now - self._first_failure < self._healthy_after:
            self.failures += 1
            raise sqlite3.OperationalError("database is locked")
        self._inner.add_events(job_id, events, batch_id=batch_id)


def _run(backend: Any, plugin: Path) -> Any:
    job = parse_job({"action": "train", "params": {"name": "flaky", "dataset": 1, "hyperparameter": {}}}).job
    return TrainAction(backend, load_plugin(str(plugin))).execute(job)


@pytest.mark.slow
def test_a_store_that_recovers_within_the_bound_loses_nothing(backend, make_plugin, dataset_dir, monkeypatch):
    monkeypatch.setenv("TRAINACTION_STORE_RETRY_S", "30")
    backend.add_dataset(dataset_dir, "numbers")
    flaky = FlakyBackend(backend, healthy_after=1.0)

    outcome = _run(flaky, make_plugin(PLUGIN))

    assert outcome.status == "SUCCEEDED", outcome.error
    assert flaky.failures >= 2
    assert [e.data["metrics"]["step"] for e in backend.list_events(outcome.job_id, "metric")] == list(range(20))
    assert re.search(
        r"storing events failed for [\d.]+ s, then succeeded; nothing was lost", backend.read_log(outcome.job_id)
    )


@pytest.mark.slow
def test_a_store_that_keeps_failing_fails_the_job_with_the_cause_and_the_count(
    backend, make_plugin, dataset_dir, monkeypatch
):
    monkeypatch.setenv("TRAINACTION_STORE_RETRY_S", "1")
    backend.add_dataset(dataset_dir, "numbers")

    outcome = _run(FlakyBackend(backend, healthy_after=1e9), make_plugin(PLUGIN))

    assert outcome.status == "FAILED"
    match = re.search(
        r"storing the job's events failed for \d+ s \(OperationalError: database is locked\); "
        r"(\d+) event\(s\)/log chunk\(s\) of this job could not be stored and were dropped",
        outcome.error,
    )
    assert match, outcome.error
    assert int(match.group(1)) >= 20  # every metric, counted
    job = backend.get_job(outcome.job_id)
    assert job.status == "FAILED" and job.error == outcome.error
    assert outcome.error in backend.read_log(outcome.job_id)
    assert backend.list_events(outcome.job_id) == []


def test_the_live_view_draws_data_it_did_not_expect():
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    view = LiveJobView(console, ["dataset", "train", "model_upload"])
    view.on_metric({"category": "train", "key": 3, "value": 0.5, "metrics": {"epoch": 1}})
    view.on_metric({"category": "train", "key": "loss", "value": 10**5000, "metrics": {}})
    view.on_metric({"category": "[/]", "key": "[bold]x", "value": {"nested": [1, {"deep": 2}]}, "metrics": "odd"})
    view.on_metric({"category": "train", "key": "huge", "value": 1e308, "metrics": {"step": "x" * 10_000}})
    view.on_metric({"category": ["a"], "value": None})
    view.on_progress({"[red": {"percent": 50.0}}, 10.0)
    view.on_trials(
        {
            "trials": {"t1": {"status": "RUNNING", "lr": [0.1] * 1000}, 2: "not a row"},
            "base": ["status"],
            "hyperparameters": ["lr"],
            "metrics": None,
            "best_trial": 2,
        }
    )

    console.print(view)

    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[/]" in text and "[bold]x" in text and "~1e50" in text and "1e+308" in text and "…" in text
    assert "cannot be shown" not in text


def test_a_trials_table_with_missing_and_odd_fields_renders():
    console = Console(file=io.StringIO(), width=120)
    console.print(trials_table({"trials": {"a": {"status": "ERROR", "acc": float("nan")}}}))
    assert "a" in console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["", "-1", "abc", "inf"])
def test_a_bad_retry_setting_falls_back_to_the_default(monkeypatch, value):
    from trainaction.pump import store_retry_seconds

    monkeypatch.setenv("TRAINACTION_STORE_RETRY_S", value)
    assert store_retry_seconds() == 60.0
