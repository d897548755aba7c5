"""Reading a tuning job's trials table back, and turning its best trial into a training job."""

from __future__ import annotations

from typing import Any

from .backend import Backend, JobRecord
from .errors import NotFoundError
from .wire import TRIALS

__all__ = ["best_training_job", "fold_tables", "latest_table"]


def fold_tables(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest full trials table from a job's ``trials`` events (each holds the rows that changed)."""
    if not events:
        return None
    rows: dict[str, dict[str, Any]] = {}
    for data in events:
        for trial_id, row in data.get("trials", {}).items():
            rows[trial_id] = row
    last = events[-1]
    best = next((e["best_trial"] for e in reversed(events) if e.get("best_trial")), "")
    return {
        "base": last.get("base", ["status"]),
        "hyperparameters": last.get("hyperparameters", []),
        "metrics": last.get("metrics", []),
        "trials": rows,
        "best_trial": best,
    }


def latest_table(backend: Backend, job_id: int) -> dict[str, Any]:
    """``{"base", "hyperparameters", "metrics", "trials", "best_trial"}`` as last logged."""
    table = fold_tables([event.data for event in backend.list_events(job_id, TRIALS)])
    if table is None:
        raise NotFoundError(f"job {job_id} has no trials table; only tuning jobs (is_tune=true) log one")
    return table


def best_training_job(job: JobRecord, table: dict[str, Any]) -> dict[str, Any]:
    """A ready-to-run training-mode job with the best trial's hyperparameters."""
    best = table["best_trial"]
    if not best:
        raise NotFoundError(f"job {job.id} has no best trial (it is still running, or every trial failed)")
    row = table["trials"][best]
    params = job.params
    return {
        "action": "train",
        "params": {
            "name": f"{params['name']}-best",
            "dataset": params["dataset"],
            "checkpoint": params.get("checkpoint"),
            "is_tune": False,
            "hyperparameter": {name: row[name] for name in table["hyperparameters"] if name in row},
        },
    }
