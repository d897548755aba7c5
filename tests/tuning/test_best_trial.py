"""The best-trial rule over plain trial summaries: no Ray is imported or started here."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

from trainaction.tuning.best import best_trial
from trainaction.tuning.summary import TrialSummary


def trial(
    trial_id: str,
    value: Any = None,
    *,
    history: tuple[float, ...] = (),
    error: str | None = None,
    status: str = "TERMINATED",
) -> TrialSummary:
    metrics = {} if value is None else {"accuracy": value}
    return TrialSummary(
        trial_id=trial_id,
        trial_logdir=f"/runs/{trial_id}",
        status="ERROR" if error else status,
        config={"lr": 0.1},
        metrics=metrics,
        error=error,
        history=history,
        started=True,
        model_source=None,
    )


def best(trials: list[TrialSummary], mode: str = "max", scope: str = "last") -> str | None:
    return best_trial(trials, "accuracy", mode, scope)[0]


def test_highest_last_report_wins_in_max_mode() -> None:
    trials = [trial("a", 0.5), trial("b", 0.9), trial("c", 0.7)]
    assert best(trials) == "b"
    assert best_trial(trials, "accuracy", "max", "last")[1] == "highest 'accuracy' over its last report: 0.9"


def test_lowest_wins_in_min_mode() -> None:
    assert best([trial("a", 0.5), trial("b", 0.9), trial("c", 0.1)], mode="min") == "c"


@pytest.mark.parametrize("mode, winner", [("max", "b"), ("min", "a")])
def test_a_tie_goes_to_the_trial_that_started_earlier(mode: str, winner: str) -> None:
    assert best([trial("a", 0.2), trial("b", 0.5), trial("c", 0.5), trial("d", 0.2)], mode=mode) == winner


def test_error_trials_never_win_even_with_the_best_value() -> None:
    assert best([trial("a", 0.99, error="ValueError: boom"), trial("b", 0.1)]) == "b"


def test_a_stopped_trial_competes_with_what_it_reported() -> None:
    assert best([trial("a", 0.4), trial("b", 0.8, status="STOPPED")]) == "b"


def test_nan_never_wins() -> None:
    assert best([trial("a", math.nan), trial("b", 0.1)]) == "b"
    assert best([trial("a", math.nan)]) is None


def test_a_trial_without_the_metric_or_with_a_non_number_is_no_candidate() -> None:
    assert best([trial("a"), trial("b", "high"), trial("c", 0.3)]) == "c"


def test_scope_best_takes_each_trials_best_report() -> None:
    trials = [trial("a", 0.6, history=(0.9, 0.6)), trial("b", 0.8, history=(0.7, 0.8))]
    assert best(trials, scope="last") == "b"
    assert best(trials, scope="best") == "a"
    assert best(trials, mode="min", scope="best") == "a"  # a's lowest, 0.6, is below b's 0.7
    assert "over all its reports: 0.9" in best_trial(trials, "accuracy", "max", "best")[1]


def test_scope_best_without_history_falls_back_to_the_last_report() -> None:
    assert best([trial("a", 0.6), trial("b", 0.5, history=(0.5,))], scope="best") == "a"


def test_no_candidate_says_why() -> None:
    assert best_trial([], "accuracy", "max", "last") == (
        None,
        "no trial without an error reported a number for 'accuracy'",
    )
    assert best_trial([trial("a", error="boom")], "accuracy", "max", "last") == (None, "every trial failed")
    assert best_trial([trial("a")], "accuracy", "max", "last")[0] is None


def test_the_rule_and_the_summaries_import_no_ray() -> None:
    code = "import sys, trainaction.tuning.best, trainaction.results; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr
