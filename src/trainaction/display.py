"""The live terminal view of a running job.

From top to bottom: the job id and elapsed time (from the first line: the job id appears as soon
as the job record exists); for tuning, trials done/total with an ETA and the best trial so far;
one bar per phase; the latest metrics (in tuning mode those of one trial, named in the panel's
title); and the trials table, running trials first. Everything is fitted to the terminal: the
table's columns to its width (see :mod:`trainaction.tablefit`), the rows to its height.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from .terminal import printable
from .trialtable import best_so_far, cell, trials_table

__all__ = ["LiveJobView", "cell", "trials_table"]

# Lines the trials table draws besides its rows: title, top edge, header, rule, bottom edge, 3 notes.
_TABLE_LINES = 8
_METRICS_LINES = 2  # the panel's title and its header
_FEWEST_METRIC_ROWS = 3
_ENDED = ("TERMINATED", "ERROR", "STOPPED")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class LiveJobView:
    """A :class:`~trainaction.pump.JobObserver` drawing with rich; use as a context manager.

    ``total_trials`` and ``mode`` (``"max"``/``"min"``) are given for tuning jobs: they make the
    trials count, ETA and best-trial-so-far lines.
    """

    def __init__(
        self,
        console: Console,
        phases: list[str],
        *,
        name: str = "",
        total_trials: int | None = None,
        mode: str | None = None,
    ) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), console=console
        )
        self._tasks: dict[str, TaskID] = {phase: self._progress.add_task(phase, total=100) for phase in phases}
        self._overall = self._progress.add_task("[bold]overall", total=100)
        self._started = time.monotonic()
        self._job_id: int | None = None
        self._name = name
        self._total_trials = total_trials
        self._mode = mode or "max"
        self._trials_done = 0
        self._trials_since: float | None = None  # when the trials phase began: the ETA's clock
        # Tuning: the latest metrics of each trial; training: one entry under "".
        self._metrics: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._last_trial = ""
        self._trials: dict[str, Any] | None = None
        self._lock = threading.Lock()
        # Live redraws through __rich__, so every refresh shows the latest state.
        self._live = Live(self, console=console, refresh_per_second=4, transient=False)

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
            return Group(self._progress, Text(f"(the view cannot be drawn: {type(exc).__name__}: {exc})"))

    # what is drawn ----------------------------------------------------------------------

    def _render(self) -> Group:
        terminal = self._console.is_terminal
        width = self._console.width if terminal else None
        with self._lock:
            trials = self._trials
            best = self._best(trials)
            shown_trial, metrics = self._metrics_to_show(best[0] if best else None)
        lines: list[RenderableType] = [self._header()]
        if self._total_trials is not None:
            lines.append(self._tuning_line(trials))
            if best is not None and trials is not None:
                metric = printable(cell(trials["metrics"][0]))
                chosen = "best trial" if trials.get("best_trial") else "best so far"
                lines.append(Text(f"{chosen}: {printable(best[0])}  {metric} = {cell(best[1])}", style="green"))
        lines.append(self._progress)
        # What is left of the terminal's height goes to the metrics and the trials' rows.
        room = (self._console.height - len(self._tasks) - 1 - len(lines) - 1) if terminal else None
        trial_rows = len(trials["trials"]) if trials is not None and isinstance(trials.get("trials"), dict) else 0
        metric_rows = len(metrics)
        if room is not None:
            table_room = room - _METRICS_LINES - (_TABLE_LINES if trials is not None else 0)
            metric_rows = min(metric_rows, max(_FEWEST_METRIC_ROWS, table_room - trial_rows))
            trial_rows = max(1, table_room - metric_rows)
        lines.append(self._metrics_panel(shown_trial, metrics, metric_rows, best))
        if trials is not None:
            # The command that shows every column, short enough for the last line of an 80-column view.
            how = f"trainaction trials {self._job_id} --wide" if self._job_id is not None else "--wide or --json"
            table = trials_table(
                trials, width=width, limit=trial_rows, live=True, best=best[0] if best else "", how=how
            )
            lines.append(table)
        return Group(*lines)

    def _best(self, trials: dict[str, Any] | None) -> tuple[str, float] | None:
        """The trial the job chose once it has (the last table names it), else the best so far."""
        if trials is None:
            return None
        chosen = trials.get("best_trial")
        rows = trials.get("trials")
        metrics = trials.get("metrics")
        if chosen and isinstance(rows, dict) and isinstance(metrics, list) and metrics:
            row = rows.get(chosen)
            value = row.get(metrics[0]) if isinstance(row, dict) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return cell(chosen), float(value)
        return best_so_far(trials, self._mode)

    def _header(self) -> Text:
        job = f"job {self._job_id}" if self._job_id is not None else "job (starting)"
        name = f" '{printable(self._name)}'" if self._name else ""
        header = Text(f"{job}{name}", style="bold")
        header.append(f"  elapsed {_duration(time.monotonic() - self._started)}")
        return header

    def _tuning_line(self, trials: dict[str, Any] | None) -> Text:
        total = self._total_trials or 0
        rows = trials.get("trials") if trials is not None else None
        statuses = [
            row.get("status") for row in (rows.values() if isinstance(rows, dict) else []) if isinstance(row, dict)
        ]
        running = statuses.count("RUNNING")
        # The table can be ahead of the phase's progress, which counts a trial once Ray marks it ended.
        done = max(self._trials_done, sum(status in _ENDED for status in statuses))
        line = Text(f"trials {done}/{total} done, {running} running")
        if self._trials_since is not None and 0 < done < total:
            spent = time.monotonic() - self._trials_since
            line.append(f", ETA ~{_duration(spent / done * (total - done))}")
        return line

    def _metrics_to_show(self, best: str | None) -> tuple[str, dict[tuple[str, str], dict[str, Any]]]:
        """The trial whose metrics the panel shows: the best so far, else the one that logged last."""
        for trial in (best, self._last_trial):
            if trial is not None and trial in self._metrics:
                return trial, dict(self._metrics[trial])
        return "", {}

    def _metrics_panel(
        self, trial: str, metrics: dict[tuple[str, str], dict[str, Any]], limit: int, best: tuple[str, float] | None
    ) -> Group:
        if self._total_trials is None:
            title = "latest metrics"
        elif trial:
            which = "the best" if best is not None and best[0] == trial else "the last to log"
            title = f"latest metrics of trial {printable(trial)} ({which})"
        else:
            title = "latest metrics (no trial has logged one yet)"
        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("category", "key", "value", "at"):
            table.add_column(column)
        # Sorted as text: names of mixed types (an int key beside str keys) still sort.
        for (category, key), data in sorted(metrics.items(), key=lambda item: (cell(item[0][0]), cell(item[0][1])))[
            :limit
        ]:
            fields = data.get("metrics")
            at = (
                ", ".join(f"{cell(k)}={cell(v)}" for k, v in fields.items())
                if isinstance(fields, dict)
                else cell(fields)
            )
            table.add_row(*(Text(printable(text)) for text in (category, key, cell(data.get("value")), at)))
        return Group(Text(title, style="italic", no_wrap=False), table)

    # JobObserver --------------------------------------------------------------------------

    def on_start(self, job_id: int, name: str) -> None:
        self._job_id = job_id
        self._name = name
        if self._live.is_started:
            self._live.refresh()  # the job id on screen now, not at the next tick

    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        for phase, entry in progress.items():
            if phase not in self._tasks:
                self._tasks[phase] = self._progress.add_task(escape(cell(phase)), total=100)
            self._progress.update(self._tasks[phase], completed=entry["percent"])
        self._progress.update(self._overall, completed=percent)
        trials = progress.get("trials")
        if self._total_trials is not None and isinstance(trials, dict):
            if self._trials_since is None:
                self._trials_since = time.monotonic()
            self._trials_done = int(trials.get("current", 0))

    def on_metric(self, data: dict[str, Any]) -> None:
        trial = cell(data.get("trial_id") or "")
        with self._lock:
            self._metrics.setdefault(trial, {})[(cell(data.get("category")), cell(data.get("key")))] = data
            self._last_trial = trial

    def on_trials(self, data: dict[str, Any]) -> None:
        changed = data.get("trials")
        with self._lock:
            rows = dict(self._trials["trials"]) if self._trials else {}
            rows.update(changed if isinstance(changed, dict) else {})
            self._trials = {**data, "trials": rows}

    def on_log(self, text: str) -> None:
        pass  # plugin output goes to the job log (`trainaction jobs logs ID`), not over the live view
