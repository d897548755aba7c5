"""Writing a job's events and log to a stream, one piece at a time.

A job can hold millions of events and a log of gigabytes: nothing here builds the whole answer.
``--json`` is still one JSON array (written element by element), ``--json-lines`` one event per
line (NDJSON), and the plain form one line per event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from .events import Event

__all__ = ["FORMATS", "write_events", "write_log"]

FORMATS = ("table", "json", "json-lines")


def write_events(events: Iterable[Event], fmt: str, out: TextIO) -> None:
    """Write ``events`` to ``out`` in ``fmt``, one event at a time."""
    if fmt == "json":
        separator = "\n  "
        out.write("[")
        for event in events:
            out.write(separator + json.dumps(event.to_dict(), default=str))
            separator = ",\n  "
        out.write("]\n" if separator == "\n  " else "\n]\n")
    elif fmt == "json-lines":
        for event in events:
            out.write(json.dumps(event.to_dict(), default=str) + "\n")
    else:
        out.write(f"{'id':>10}  {'time':>14}  {'type':<13}  data\n")
        # json.dumps escapes control characters (ensure_ascii), so the data column is safe to print.
        for event in events:
            out.write(f"{event.id:>10}  {event.time:>14.3f}  {event.type:<13}  {json.dumps(event.data, default=str)}\n")


def write_log(chunks: Iterable[str], out: TextIO) -> None:
    for chunk in chunks:
        out.write(chunk)
