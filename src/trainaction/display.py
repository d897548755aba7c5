"""The live terminal view of a running job: one bar per phase and the latest metrics."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from .terminal import printable

__all__ = ["LiveJobView", "trials_table"]

_STATUS_STYLE = {"RUNNING": "cyan", "TERMINATED": "green", "ERROR": "red", "PAUSED": "yellow", "PENDING": "dim"}
_MAX_LIVE_ROWS = 20


def trials_table(table: dict[str, Any], limit: int | None = None) -> Table:
    """A trials table as rich renders it: status, hyperparameters, metrics; the best trial marked."""
    view = Table(title="trials", header_style="bold")
    columns = ["trial_id", *table["base"], *table["hyperparameters"], *table["metrics"]]
    for column in columns:
        view.add_column(Text(printable(column)))
    rows = list(table["trials"].items())
    if limit is not None and len(rows) > limit:
        # Show what moves: running trials first, then the most recent others.
        rows = sorted(rows, key=lambda item: item[1]["status"] != "RUNNING")[:limit]
    for trial_id, row in rows:
        # Names and values come from the job: Text keeps rich from reading "[...]" in them as markup.
        cells = [Text(printable(f"{trial_id} *" if trial_id == table["best_trial"] else trial_id))]
        for column in columns[1:]:
            value = row.get(column, "")
            text = f"{value:.4g}" if isinstance(value, float) else printable(value)
            cells.append(Text(text, style=_STATUS_STYLE.get(text, "") if column == "status" else ""))
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
        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("category", "key", "value", "at"):
            table.add_column(column)
        with self._lock:
            for (category, key), data in sorted(self._metrics.items()):
                at = ", ".join(f"{k}={v}" for k, v in data["metrics"].items())
                value = data["value"]
                table.add_row(category, key, f"{value:.4g}" if isinstance(value, float) else str(value), at)
        parts: list[Any] = [self._progress, table]
        if self._trials is not None:
            parts.append(trials_table(self._trials, limit=_MAX_LIVE_ROWS))
        return Group(*parts)

    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        for phase, entry in progress.items():
            if phase not in self._tasks:
                self._tasks[phase] = self._progress.add_task(phase, total=100)
            self._progress.update(self._tasks[phase], completed=entry["percent"])
        self._progress.update(self._overall, completed=percent)

    def on_metric(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._metrics[(data["category"], data["key"])] = data

    def on_trials(self, data: dict[str, Any]) -> None:
        with self._lock:
            rows = dict(self._trials["trials"]) if self._trials else {}
            rows.update(data["trials"])
            self._trials = {**data, "trials": rows}

    def on_log(self, text: str) -> None:
        pass  # plugin output goes to the job log (`trainaction jobs logs ID`), not over the live view
