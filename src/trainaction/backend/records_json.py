"""Records as JSON and back: the one mapping the team server and its HTTP client share.

The server answers with each record's ``to_dict()`` (times as ISO-8601 UTC text); the client turns
those answers back into the same frozen records, times back into epoch seconds. Events travel with
their time as epoch seconds both ways, so a stored event reads back exactly as it was sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, TypeVar

from ..events import Event
from .base import DatasetRecord, Deletion, JobRecord, ModelRecord, SubmissionRecord

__all__ = [
    "event_from_json",
    "parse_time",
    "record_from_json",
    "record_to_json",
]

R = TypeVar("R", DatasetRecord, Deletion, JobRecord, ModelRecord, SubmissionRecord)


def parse_time(value: Any) -> float | None:
    """ISO-8601 text (``2024-05-01T12:00:00.250Z``) or epoch seconds → epoch seconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def record_to_json(record: DatasetRecord | Deletion | JobRecord | ModelRecord | SubmissionRecord) -> dict[str, Any]:
    return record.to_dict()


def record_from_json(cls: type[R], data: dict[str, Any]) -> R:
    """The record ``cls`` from its JSON form; unknown keys (a newer server's) are ignored."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {
        key: parse_time(value) if key.endswith("_at") else value for key, value in data.items() if key in names
    }
    return cls(**values)


def event_from_json(data: dict[str, Any]) -> Event:
    time = parse_time(data["time"])
    return Event(data["type"], data["data"], 0.0 if time is None else time, id=data.get("id"))
