"""Times in JSON answers: ISO-8601 in UTC, whatever the machine's zone; stored as epoch seconds."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["iso_utc"]


def iso_utc(value: Any) -> Any:
    """Epoch seconds as ``2024-05-01T12:00:00.250Z`` (always milliseconds, so every time has one width);
    anything else (None) as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
