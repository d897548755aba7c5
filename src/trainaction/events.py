"""Event shapes shared by the plugin side (TrainRun) and the backend.

An event is ``{"type", "data", "time"}``; ``data`` follows the reference, e.g. a metric is
``{"category", "key", "value", "metrics": {...}}`` plus ``trial_id`` while tuning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .times import iso_utc
from .wire import MESSAGE, METRIC, PROGRESS, TRIALS, VISUALIZATION

__all__ = ["EVENT_TYPES", "Event", "plain"]

# The event records of the wire protocol are stored under their names.
EVENT_TYPES = (METRIC, VISUALIZATION, MESSAGE, TRIALS, PROGRESS)


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    time: float
    # The backend's id, once stored: callers page with it (``jobs events --after ID``).
    id: int | None = None

    @property
    def trial_id(self) -> str | None:
        return self.data.get("trial_id")

    def to_dict(self) -> dict[str, Any]:
        stored = {} if self.id is None else {"id": self.id}
        return {**stored, "type": self.type, "data": self.data, "time": iso_utc(self.time)}


def plain(value: Any) -> Any:
    """Convert a metric value to JSON-ready Python: numpy/torch scalars via ``.item()``, NaN kept as None."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return plain(item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)
