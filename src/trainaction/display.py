"""The live terminal view of a running job: one bar per phase and the latest metrics."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

__all__ = ["LiveJobView"]


class LiveJobView:
    """A :class:`~trainaction.supervisor.JobObserver` drawing with rich; use as a context manager."""

    def __init__(self, console: Console, phases: list[str]) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), console=console
        )
        self._tasks: dict[str, TaskID] = {phase: self._progress.add_task(phase, total=100) for phase in phases}
        self._overall = self._progress.add_task("[bold]overall", total=100)
        self._metrics: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        # Live redraws through __rich__, so every refresh shows the latest state.
        self._live = Live(self, console=console, refresh_per_second=8, transient=False)

    def __enter__(self) -> LiveJobView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.refresh()
        self._live.__exit__(*exc)  # type: ignore[arg-type]

    def __rich__(self) -> Group:
        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("category", "key", "value", "at"):
            table.add_column(column)
        with self._lock:
            for (category, key), data in sorted(self._metrics.items()):
                at = ", ".join(f"{k}={v}" for k, v in data["metrics"].items())
                value = data["value"]
                table.add_row(category, key, f"{value:.4g}" if isinstance(value, float) else str(value), at)
        return Group(self._progress, table)

    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        for phase, entry in progress.items():
            if phase not in self._tasks:
                self._tasks[phase] = self._progress.add_task(phase, total=100)
            self._progress.update(self._tasks[phase], completed=entry["percent"])
        self._progress.update(self._overall, completed=percent)

    def on_metric(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._metrics[(data["category"], data["key"])] = data

    def on_log(self, text: str) -> None:
        pass  # plugin output goes to the job log (`trainaction jobs logs ID`), not over the live view
