"""``trainaction jobs show ID`` for a person: a short ``key: value`` page (``--json`` has every field)."""

from __future__ import annotations

import json
from typing import Any

from ..backend import JobRecord
from .shown import duration, local_time

__all__ = ["job_lines"]

_WIDTH = 10  # the key column


def job_lines(record: JobRecord) -> list[str]:
    tuning = bool(record.params.get("is_tune"))
    lines = [f"job {record.id} '{record.display_name}'"]
    rows: list[tuple[str, str]] = [
        ("status", record.status),
        ("mode", "tune" if tuning else "train"),
        ("dataset", str(record.params.get("dataset"))),
        ("checkpoint", str(record.params.get("checkpoint") or "none")),
        ("created", local_time(record.created_at)),
        ("started", local_time(record.started_at) or "not yet"),
        ("finished", local_time(record.finished_at) or "not yet"),
        ("duration", duration(record.started_at, record.finished_at) or "-"),
        ("progress", f"{record.progress_percent:.0f}%"),
    ]
    lines += [f"{key:<{_WIDTH}} {value}" for key, value in rows]
    for phase, entry in record.progress.items():
        lines.append(
            f"  {phase:<14} {entry.get('percent', 0):>5.0f}%  ({_number(entry.get('current'))}/{_number(entry.get('total'))})"
        )
    lines += _result_lines(record.result)
    if record.error:
        error, *rest = record.error.splitlines() or [""]
        lines.append(f"{'error':<{_WIDTH}} {error}")
        lines += [f"{'':<{_WIDTH}} {line}" for line in rest]
    lines.append(f"log: trainaction jobs logs {record.id}   everything: trainaction jobs show {record.id} --json")
    return lines


def _result_lines(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return [f"{'result':<{_WIDTH}} none"]
    lines = []
    if "model_id" in result:
        model = result["model_id"]
        name = f" '{result['model_name']}'" if result.get("model_name") else ""
        lines.append(f"{'model':<{_WIDTH}} {model}{name}" if model is not None else f"{'model':<{_WIDTH}} none")
    best = result.get("best_trial")
    if isinstance(best, dict):
        lines.append(f"{'best':<{_WIDTH}} trial {best.get('trial_id')}  {_flat(best.get('metrics'))}")
        lines.append(f"{'config':<{_WIDTH}} {_flat(best.get('config'))}")
    trials = result.get("trials")
    if isinstance(trials, dict):
        lines.append(f"{'trials':<{_WIDTH}} " + ", ".join(f"{k} {v}" for k, v in trials.items()))
    metrics = result.get("metrics")
    if isinstance(metrics, dict) and metrics:
        pairs = [
            f"{category}.{key}={_number(value)}"
            for category, values in metrics.items()
            for key, value in (values.items() if isinstance(values, dict) else [("", values)])
        ]
        lines.append(f"{'metrics':<{_WIDTH}} " + ", ".join(pairs))
    if result.get("note"):
        lines.append(f"{'note':<{_WIDTH}} {result['note']}")
    return lines or [f"{'result':<{_WIDTH}} {json.dumps(result, default=str)}"]


def _flat(values: Any) -> str:
    if not isinstance(values, dict):
        return str(values)
    return ", ".join(f"{k}={_number(v)}" for k, v in values.items() if not isinstance(v, (dict, list)))


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
