"""What storing a batch of events adds beside the events: its delivery record and its metric points."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..events import Event
from ..wire import METRIC
from . import store

__all__ = ["first_delivery", "metric_points"]


def first_delivery(conn: Connection, batch_id: str | None, job_id: int) -> bool:
    """Record ``batch_id`` as stored, in the caller's transaction; False when it was stored before.

    A sender retries a batch whose answer it never got with the same id; this makes that retry a no-op.
    Without an id every call stores."""
    if batch_id is None:
        return True
    seen = conn.execute(sa.select(store.batches.c.id).where(store.batches.c.id == batch_id)).first()
    if seen is not None:
        return False
    conn.execute(store.batches.insert().values(id=batch_id, job_id=job_id, created_at=time.time()))
    return True


def metric_points(job_id: int, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The rows of ``metric_points`` for the metric events among ``events``."""
    return [
        {
            "job_id": job_id,
            "trial_id": event.trial_id,
            "category": str(event.data.get("category", "")),
            "key": str(event.data.get("key", "")),
            "step": _number(event.data.get("metrics", {}).get("step")),
            "epoch": _number(event.data.get("metrics", {}).get("epoch")),
            "value": _number(event.data.get("value")),
            "time": event.time,
        }
        for event in events
        if event.type == METRIC
    ]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
