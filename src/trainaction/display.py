"""The live terminal view of a running job: one bar per phase and the latest metrics."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from .terminal import printable

__all__ = ["LiveJobView", "cell", "trials_table"]

_STATUS_STYLE = {"RUNNING": "cyan", "TERMINATED": "green", "ERROR": "red", "PAUSED": "yellow", "PENDING": "dim"}
_MAX_LIVE_ROWS = 20
_MAX_CELL = 60


def cell(value: Any) -> str:
    """A value as one short cell: any type, any size (a 10,000-digit int or a nested dict) fits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        if -(10**15) < value < 10**15:
            return str(value)
        exponent = int(abs(value).bit_length() * 0.30103)  # no str(): Python refuses ints past 4300 digits
        return f"{'-' if value < 0 else ''}~1e{exponent}"
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # an object whose repr fails: show its type
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _columns(table: dict[str, Any], field: str) -> list[str]:
    value = table.get(field)
    return [str(c) for c in value] if isinstance(value, list) else []


def trials_table(table: dict[str, Any], limit: int | None = None) -> Table:
    """A trials table as rich renders it: status, hyperparameters, metrics; the best trial marked.

    Cells are plain text (never rich markup), so no name or value can break the drawing.
    """
    view = Table(title="trials", header_style="bold")
    columns = ["trial_id", *_columns(table, "base"), *_columns(table, "hyperparameters"), *_columns(table, "metrics")]
    for column in columns:
        view.add_column(Text(printable(column)))
    trials = table.get("trials")
    rows = [(str(k), v if isinstance(v, dict) else {}) for k, v in (trials.items() if isinstance(trials, dict) else [])]
    if limit is not None and len(rows) > limit:
        # Show what moves: running trials first, then the most recent others.
        rows = sorted(rows, key=lambda item: item[1].get("status") != "RUNNING")[:limit]
    for trial_id, row in rows:
        cells = [Text(printable(f"{trial_id} *" if trial_id == table.get("best_trial") else trial_id))]
        for column in columns[1:]:
            text = printable(cell(row.get(column, "")))
            style = _STATUS_STYLE.get(text, "") if column == "status" else ""
            cells.append(Text(text, style=style))
        view.add_row(*cells)
    return view


class LiveJobView:
    """A :class:`~trainaction.supervisor.JobObserver` drawing with rich; use as a context manager."""

    def __init__(self, console: Console, phases: list[str]) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), console=console
        )
        self._tasks: dict[str, TaskID] = {phase: self._progress.add_task(phase, total=100) for phase in phases}
        self._overall = self._progress.add_task("[bold]overall", total=100)
        self._metrics: dict[tuple[str, str], dict[str, Any]] = {}
        self._trials: dict[str, Any] | None = None
        self._lock = threading.Lock()
        # Live redraws through __rich__, so every refresh shows the latest state.
        self._live = Live(self, console=console, refresh_per_second=8, transient=False)

    def __enter__(self) -> LiveJobView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.refresh()
        self._live.__exit__(*exc)  # type: ignore[arg-type]
        self._live.console.line()  # what follows starts on a line of its own

    def __rich__(self) -> Group:
        try:
            return self._render()
        except Exception as exc:  # the view must never take the command down with it
            return Group(self._progress, Text(f"(metrics cannot be shown: {type(exc).__name__}: {exc})"))

    def _render(self) -> Group:
        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("category", "key", "value", "at"):
            table.add_column(column)
        with self._lock:
            # Sorted as text: names of mixed types (an int key beside str keys) still sort.
            for (category, key), data in sorted(
                self._metrics.items(), key=lambda item: (cell(item[0][0]), cell(item[0][1]))
            ):
                fields = data.get("metrics")
                at = (
                    ", ".join(f"{cell(k)}={cell(v)}" for k, v in fields.items())
                    if isinstance(fields, dict)
                    else cell(fields)
                )
                table.add_row(Text(cell(category)), Text(cell(key)), Text(cell(data.get("value"))), Text(at))
            trials = self._trials
        parts: list[Any] = [self._progress, table]
        if trials is not None:
            parts.append(trials_table(trials, limit=_MAX_LIVE_ROWS))
        return Group(*parts)

    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        for phase, entry in progress.items():
            if phase not in self._tasks:
                self._tasks[phase] = self._progress.add_task(escape(cell(phase)), total=100)
            self._progress.update(self._tasks[phase], completed=entry["percent"])
        self._progress.update(self._overall, completed=percent)

    def on_metric(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._metrics[(cell(data.get("category")), cell(data.get("key")))] = data

    def on_trials(self, data: dict[str, Any]) -> None:
        changed = data.get("trials")
        with self._lock:
            rows = dict(self._trials["trials"]) if self._trials else {}
            rows.update(changed if isinstance(changed, dict) else {})
            self._trials = {**data, "trials": rows}

    def on_log(self, text: str) -> None:
        pass  # plugin output goes to the job log (`trainaction jobs logs ID`), not over the live view
