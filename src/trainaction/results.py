"""The job's result document, for both modes, from what ran and which models were uploaded.

Pure shaping: :class:`~trainaction.action.TrainAction` does the uploads and the log, and passes
the model ids in. The documents are what ``jobs show`` and ``run --json`` print: keep their keys.
"""

from __future__ import annotations

from typing import Any

from .backend.base import ModelRecord
from .job import TuneConfig
from .tuning.models import no_model_note
from .tuning.summary import INTERRUPTED, TIME_BUDGET, TrialSummary, TuningSummary

__all__ = ["every_trial_failed", "models_missing", "training_result", "tuning_result"]


def training_result(model: ModelRecord | None, metrics: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"model_id": None, "model_name": None, "metrics": metrics}
    if model is not None:
        result.update(model_id=model.id, model_name=model.name)
    return result


def models_missing(summary: TuningSummary) -> list[str]:
    """The trials that ran, did not fail, and left no model: one warning names them all."""
    return [
        t.trial_id
        for t in summary.trials
        if t.error is None and t.model_source is None and t.model_id is None and t.started
    ]


def _trial_entry(trial: TrialSummary, model_id: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "trial_id": trial.trial_id,
        "trial_logdir": trial.trial_logdir,
        "model_id": model_id,
        "config": trial.config,
        "metrics": trial.metrics,
    }
    if trial.error is not None:
        entry.update(status="ERROR", error=trial.error)
        return entry
    if trial.status == "STOPPED":
        entry["status"] = "STOPPED"
    if model_id is None and not trial.started:
        entry["note"] = "stopped before it started"
    elif model_id is None:
        entry["note"] = no_model_note([trial.trial_id])
    return entry


def tuning_result(
    summary: TuningSummary, config: TuneConfig, model_ids: dict[str, int]
) -> tuple[dict[str, Any], str | None]:
    """The result, and a note when fewer trials ran than asked for (it is also the result's ``note``).

    ``model_ids``: trial id → the id of its uploaded model."""
    best = next((t for t in summary.trials if t.trial_id == summary.best_trial), None)
    total, ran, stopped = summary.total, len(summary.ran), len(summary.stopped)
    result: dict[str, Any] = {
        "model_id": model_ids.get(best.trial_id) if best is not None else None,
        "best_trial": None
        if best is None
        else {
            "trial_id": best.trial_id,
            "trial_logdir": best.trial_logdir,
            "config": best.config,
            "metrics": best.metrics,
        },
        "trial_models": [_trial_entry(t, model_ids.get(t.trial_id)) for t in summary.trials],
        "best_rule": {"metric": config.metric, "mode": config.mode, "scope": config.scope, "ties": "earlier trial"},
        "trials": {"total": total, "ran": ran, "errored": len(summary.errored)},
    }
    if summary.stop_reason is not None:
        result["trials"]["stopped"] = stopped  # only a cut-short search has stopped trials
    why = None
    if summary.stop_reason == TIME_BUDGET:
        why = (
            f"tune_config.time_budget_s ({config.time_budget_s:g} s) ran out: {ran} of {total} trials ran, "
            f"{stopped} of them stopped before they finished"
        )
    elif ran < total and summary.stop_reason is None:
        why = (
            f"only {ran} of {total} trials ran: the search algorithm {config.search_alg.name} "
            "stopped suggesting new configurations (see the [ray warning] lines in this log)"
        )
    if why is not None:
        result["note"] = why
    return result, why


def every_trial_failed(summary: TuningSummary) -> str | None:
    """The job's error when no trial succeeded (a search stopped by a signal is STOPPED instead)."""
    errored = summary.errored
    if summary.stop_reason == INTERRUPTED or (summary.trials and len(errored) < len(summary.trials)):
        return None
    first = errored[0].error if errored else "no trial ran"
    return f"every trial failed ({len(errored)} of {summary.total}); the first error: {first}"
