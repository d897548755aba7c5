"""The job result of a tuning job, shaped from a summary and the uploaded model ids (no Ray, no I/O)."""

from __future__ import annotations

from pathlib import Path

from trainaction.job import TuneConfig
from trainaction.results import every_trial_failed, models_missing, tuning_result
from trainaction.tuning.summary import INTERRUPTED, TIME_BUDGET, TrialSummary, TuningSummary

CONFIG = TuneConfig(metric="accuracy", search_alg="hyperoptsearch", time_budget_s=60.0)  # type: ignore[arg-type]


def trial(trial_id: str, **fields: object) -> TrialSummary:
    values: dict[str, object] = {
        "trial_id": trial_id,
        "trial_logdir": f"/runs/{trial_id}",
        "status": "TERMINATED",
        "config": {"lr": 0.1},
        "metrics": {"accuracy": 0.5},
        "error": None,
        "history": (0.5,),
        "started": True,
        "model_source": Path(f"/models/{trial_id}"),
    }
    values.update(fields)
    return TrialSummary(**values)  # type: ignore[arg-type]


def summary(
    *trials: TrialSummary, total: int | None = None, best: str | None = "a", stop: str | None = None
) -> TuningSummary:
    return TuningSummary(tuple(trials), total or len(trials), best, "", stop)


def test_entries_mark_errors_stops_and_missing_models() -> None:
    done = summary(
        trial("a"),
        trial("b", status="ERROR", error="ValueError: boom", model_source=None),
        trial("c", status="STOPPED"),
        trial("d", model_source=None),
        trial("e", status="STOPPED", started=False, model_source=None),
    )
    result, note = tuning_result(done, CONFIG, {"a": 11, "c": 12})
    entries = {entry["trial_id"]: entry for entry in result["trial_models"]}
    assert list(entries) == ["a", "b", "c", "d", "e"]
    assert list(entries["a"]) == ["trial_id", "trial_logdir", "model_id", "config", "metrics"]
    assert entries["a"]["model_id"] == 11
    assert (entries["b"]["status"], entries["b"]["error"], entries["b"]["model_id"]) == (
        "ERROR",
        "ValueError: boom",
        None,
    )
    assert (entries["c"]["status"], entries["c"]["model_id"]) == ("STOPPED", 12)
    assert entries["d"]["note"].startswith("trial d ended without a model")
    assert entries["e"]["note"] == "stopped before it started"
    assert models_missing(done) == ["d"]
    assert result["model_id"] == 11 and result["best_trial"]["trial_id"] == "a"
    assert result["trials"] == {"total": 5, "ran": 4, "errored": 1}
    assert result["best_rule"] == {"metric": "accuracy", "mode": "max", "scope": "last", "ties": "earlier trial"}
    assert note == result["note"] and note is not None and note.startswith("only 4 of 5 trials ran")


def test_no_note_when_every_trial_ran() -> None:
    result, note = tuning_result(summary(trial("a"), trial("b")), CONFIG, {"a": 1, "b": 2})
    assert note is None and "note" not in result


def test_a_search_that_stopped_suggesting_says_so() -> None:
    result, note = tuning_result(summary(trial("a"), total=4), CONFIG, {"a": 1})
    assert note == result["note"]
    assert note is not None and note.startswith("only 1 of 4 trials ran: the search algorithm hyperoptsearch")


def test_a_spent_time_budget_counts_the_stopped_trials() -> None:
    done = summary(trial("a"), trial("b", status="STOPPED"), total=3, stop=TIME_BUDGET)
    result, note = tuning_result(done, CONFIG, {})
    assert result["trials"] == {"total": 3, "ran": 2, "errored": 0, "stopped": 1}
    assert note == "tune_config.time_budget_s (60 s) ran out: 2 of 3 trials ran, 1 of them stopped before they finished"


def test_every_trial_failed_unless_a_signal_stopped_the_search() -> None:
    failed = summary(trial("a", error="boom", status="ERROR"), trial("b", error="bad", status="ERROR"), best=None)
    assert every_trial_failed(failed) == "every trial failed (2 of 2); the first error: boom"
    assert (
        every_trial_failed(summary(best=None, total=3)) == "every trial failed (0 of 3); the first error: no trial ran"
    )
    assert every_trial_failed(summary(best=None, total=3, stop=INTERRUPTED)) is None
    assert every_trial_failed(summary(trial("a"), trial("b", error="bad", status="ERROR"))) is None
