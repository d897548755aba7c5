"""The events batch: parsed and checked by hand, because a pydantic model per event is too slow for
the 100,000 events a second the route must take."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import HTTPException, Request

from ..events import Event
from ..wire import METRIC
from .limits import too_large

__all__ = ["EVENTS_SCHEMA", "MAX_EVENTS", "Batch", "events_batch", "json_body"]

MAX_EVENTS = 50_000
_SHORT = 255  # the length of the string columns an event's fields are copied into

# The spec of the body, for /openapi.json (the route reads the raw body).
EVENTS_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["events"],
                "properties": {
                    "batch_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[^\\x00]*$"},
                    "events": {
                        "type": "array",
                        "maxItems": MAX_EVENTS,
                        "items": {
                            "type": "object",
                            "required": ["type", "data", "time"],
                            "properties": {
                                "type": {"type": "string", "minLength": 1, "maxLength": 16, "pattern": "^[^\\x00]*$"},
                                "data": {"type": "object"},
                                "time": {"type": "number"},
                            },
                        },
                    },
                },
            }
        }
    },
}


class Batch:
    def __init__(self, batch_id: str | None, events: list[Event]) -> None:
        self.batch_id = batch_id
        self.events = events


def _unprocessable(where: str, problem: str) -> HTTPException:
    return HTTPException(422, f"{where}: {problem}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON; send null for a missing number")


async def json_body(request: Request) -> Any:
    """The request's body as JSON; 422 when it is not (NaN and Infinity included: they are not JSON)."""
    raw = await request.body()
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise _unprocessable("body", f"not valid JSON ({exc}); send a JSON object") from None


async def events_batch(request: Request) -> Batch:
    """``{"batch_id": str?, "events": [{"type", "data", "time"}…]}``, every error naming its place."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _unprocessable("body", f"must be an object with 'events', got {type(body).__name__}")
    batch_id = body.get("batch_id")
    if batch_id is not None and not _short_text(batch_id, 64):
        raise _unprocessable("batch_id", "must be a string of 1 to 64 characters without NUL, or null")
    items = body.get("events")
    if not isinstance(items, list):
        raise _unprocessable("events", "must be a list of events")
    if len(items) > MAX_EVENTS:
        raise too_large(f"the batch of {len(items)} events", f"{MAX_EVENTS} events", "send smaller batches")
    return Batch(batch_id, [_event(n, item) for n, item in enumerate(items)])


def _event(n: int, item: Any) -> Event:
    # Exact type checks first (``type(x) is str``): the common case passes without a call; what
    # fails them (or a subclass) gets the full check and its message.
    if type(item) is not dict:
        raise _unprocessable(f"events[{n}]", "must be an object with 'type', 'data' and 'time'")
    kind, data, when = item.get("type"), item.get("data"), item.get("time")
    if not (type(kind) is str and 0 < len(kind) <= 16 and "\0" not in kind):
        raise _unprocessable(f"events[{n}].type", "must be a string of 1 to 16 characters, e.g. 'metric'")
    if type(data) is not dict:
        raise _unprocessable(f"events[{n}].data", "must be an object")
    if type(when) is not float or when - when != 0:
        if isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when):
            raise _unprocessable(f"events[{n}].time", "must be a number: seconds since the epoch")
        when = float(when)
    trial = data.get("trial_id")
    if trial is not None and not _short_text(trial, _SHORT, empty=True):
        where = f"events[{n}].data.trial_id"
        raise _unprocessable(where, f"must be a string of at most {_SHORT} characters, or null")
    if kind == METRIC:
        _metric(n, data)
    return Event(kind, data, when)


def _metric(n: int, data: dict[str, Any]) -> None:
    """The fields a metric's chart row is made of (see backend.batches.event_rows)."""
    for name in ("category", "key"):
        value = data.get(name, "")
        if not (type(value) is str and len(value) <= _SHORT and "\0" not in value):
            raise _unprocessable(f"events[{n}].data.{name}", f"must be a string of at most {_SHORT} characters")
    if type(data.get("metrics", {})) is not dict:
        raise _unprocessable(f"events[{n}].data.metrics", 'must be an object, e.g. {"step": 3}')


def _short_text(value: Any, limit: int, *, empty: bool = False) -> bool:
    return isinstance(value, str) and (empty or value != "") and len(value) <= limit and "\0" not in value
