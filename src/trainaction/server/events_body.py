"""The events batch: parsed and checked by hand into the rows it is stored as, because a pydantic model
per event is too slow for the 100,000 events a second the route must take."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from fastapi import HTTPException, Request

from ..backend.batches import Rows, encode_data, number
from ..wire import METRIC
from .deps import JobId
from .limits import too_large

__all__ = ["EVENTS_SCHEMA", "MAX_EVENTS", "Batch", "events_batch"]

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
    """A checked batch as the rows it is stored as (see :func:`trainaction.backend.batches.event_rows`)."""

    def __init__(self, batch_id: str | None, rows: Rows) -> None:
        self.batch_id = batch_id
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows[0])


def _unprocessable(where: str, problem: str) -> HTTPException:
    return HTTPException(422, f"{where}: {problem}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON; send null for a missing number")


# A run of 19 digits: an integer orjson may read as a float (past 64 bits) — or a float's long
# fraction, which merely takes the standard library's slower path. Python writes no float with more
# than 17 significant digits, 20 with the leading zeros of 1e-4. Found by mapping every digit to "0"
# and the rest to " ", then one substring search: ~1 ms a megabyte, where a regular expression took
# longer than orjson's whole parse.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_LONG_NUMBER = b"0" * 19


def _parse(raw: bytes) -> tuple[Any, bool]:
    """The body as JSON, and whether orjson read it (then its values hold no NaN, ±inf, lone surrogate
    or integer past 64 bits, and orjson writes them back exactly); 422 when it is not JSON.

    orjson parses a 10,000-event body in about half the standard library's time. What it refuses or
    would change (a lone surrogate, 1e400, an integer past 64 bits, deep nesting) goes to the standard
    library, which reads it as the route always has."""
    if raw.translate(_DIGITS_AS_ZERO).find(_LONG_NUMBER) < 0:
        try:
            return orjson.loads(raw), True
        except (orjson.JSONDecodeError, TypeError):
            pass
    try:
        return json.loads(raw, parse_constant=_no_constant), False
    except (ValueError, RecursionError) as exc:
        raise _unprocessable("body", f"not valid JSON ({exc}); send a JSON object") from None


async def events_batch(job_id: JobId, request: Request) -> Batch:
    """``{"batch_id": str?, "events": [{"type", "data", "time"}…]}``, every error naming its place.

    The checks and the rows are one pass over the events, with no Event objects between."""
    body, exact = _parse(await request.body())
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
    encode = _orjson_text if exact else encode_data
    rows: list[tuple[Any, ...]] = []
    points: list[tuple[Any, ...]] = []
    for n, item in enumerate(items):
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
            points.append(_metric_point(n, job_id, trial, data))
        rows.append((job_id, kind, trial, encode(data), when))
    return Batch(batch_id, (rows, points))


def _orjson_text(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()


def _metric_point(n: int, job_id: int, trial: Any, data: dict[str, Any]) -> tuple[Any, ...]:
    """The checked fields of a metric's chart point, as :func:`trainaction.backend.batches.metric_point`
    makes it from data already checked (here in one pass: this runs for every event of a batch)."""
    category, key, metrics = data.get("category", ""), data.get("key", ""), data.get("metrics", {})
    for name, value in (("category", category), ("key", key)):
        if not (type(value) is str and len(value) <= _SHORT and "\0" not in value):
            raise _unprocessable(f"events[{n}].data.{name}", f"must be a string of at most {_SHORT} characters")
    if type(metrics) is not dict:
        raise _unprocessable(f"events[{n}].data.metrics", 'must be an object, e.g. {"step": 3}')
    return (
        job_id,
        trial,
        category,
        key,
        number(metrics.get("step")),
        number(metrics.get("epoch")),
        number(data.get("value")),
    )


def _short_text(value: Any, limit: int, *, empty: bool = False) -> bool:
    return isinstance(value, str) and (empty or value != "") and len(value) <= limit and "\0" not in value
