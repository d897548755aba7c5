"""trainaction metrics: a job's metric series as a table, CSV, JSON, or a line chart in the terminal."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import typer

from ..curves import MetricFilter, Point, read_points, series_label
from ..errors import NotFoundError, TrainActionError
from ..tablefit import Column, print_table
from ..terminal import printable
from ..times import iso_utc
from ..trialtable import cell
from .common import BackendOption, TokenOption, backend, err, fail, out, stream

__all__ = ["metrics"]

# Plain-text charts (no colour: a pipe, a file) tell lines apart by their markers.
_MARKERS = ["•", "+", "x", "o", "#", "@", "%", "="]  # not "*": it marks the best trial


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def metrics(
    job_id: int = typer.Argument(..., metavar="JOB_ID"),
    key: str | None = typer.Option(None, "--key", help="Only this metric key (e.g. loss)."),
    category: str | None = typer.Option(None, "--category", help="Only this category (e.g. validation)."),
    trial: str | None = typer.Option(None, "--trial", help="Tuning: only this trial."),
    best: bool = typer.Option(False, "--best", help="Tuning: only the best trial."),
    format: Format = typer.Option(Format.table, "--format", help="table, csv or json (times in ISO 8601, UTC)."),
    plot: bool = typer.Option(False, "--plot", help="Draw the series as a line chart; one line per trial."),
    wide: bool = typer.Option(False, "--wide", help="table: every column, whatever the terminal's width."),
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Print a job's metric series (step or epoch, value, trial), or draw it with --plot."""
    if trial is not None and best:
        err.print("error: --trial and --best both choose a trial; give one", markup=False)
        raise typer.Exit(2)
    try:
        store = backend(url=server, token=token)
        store.get_job(job_id)
        best_trial = _best_trial(store, job_id)
        if best:
            if best_trial is None:
                raise NotFoundError(
                    f"--best: job {job_id} has no best trial (not a tuning job, still running, or every trial failed)"
                )
            trial = best_trial
        selection = MetricFilter(key, category, trial)
        points = read_points(store, job_id, selection)
        if plot:
            _plot(job_id, list(points), selection, best_trial)
        elif format is Format.table:
            _table(list(points), wide)
        else:
            with stream():
                (_write_json if format is Format.json else _write_csv)(points)
        if selection.kept == 0:
            raise selection.nothing_matched(job_id)
    except TrainActionError as exc:
        fail(exc)


def _best_trial(store: Any, job_id: int) -> str | None:
    from ..tables import latest_table

    try:
        best = latest_table(store, job_id)["best_trial"]
    except NotFoundError:
        return None  # a training job
    return str(best) if best else None


def _write_json(points: Iterator[Point]) -> None:
    """One JSON array, written as the points stream in (``[`` only once there is a first one)."""
    first = True
    for point in points:
        sys.stdout.write(("[\n  " if first else ",\n  ") + json.dumps(point.to_dict()))
        first = False
    if not first:
        sys.stdout.write("\n]\n")


def _write_csv(points: Iterator[Point]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    for n, point in enumerate(points):
        if n == 0:
            writer.writerow(["trial_id", "category", "key", "step", "epoch", "index", "value", "time"])
        row = point.to_dict()
        writer.writerow(
            [
                row["trial_id"] or "",
                point.category,
                point.key,
                *("" if row[name] is None else row[name] for name in ("step", "epoch", "index", "value")),
                row["time"],
            ]
        )


def _table(points: list[Point], wide: bool) -> None:
    if not points:
        return
    tuning = any(p.trial_id is not None for p in points)
    x_name = _x_name(points)
    columns = [Column("trial", 0)] if tuning else []
    columns += [Column(x_name, 0), Column("value", 1), Column("category", 2), Column("key", 2), Column("time", 3)]
    rows = []
    for point in points:
        position = point.x[1] if x_name != "index" else point.index
        values = [
            cell(position if position != int(position) else int(position)),
            "" if point.value is None else cell(point.value),
            printable(point.category),
            printable(point.key),
            iso_utc(point.time),
        ]
        rows.append(([printable(point.trial_id or "")] if tuning else []) + values)
    print_table(out, columns, rows, wide=wide, how="--wide, --format csv or --format json")


def _x_name(points: list[Point]) -> str:
    """``step`` or ``epoch`` when every point has it, else ``index``."""
    names = {p.x[0] for p in points}
    return names.pop() if len(names) == 1 else "index"


def _plot(job_id: int, points: list[Point], selection: MetricFilter, best_trial: str | None) -> None:
    # plotext draws line charts as text, in colour or plain, within a given size (see pyproject).
    import plotext

    if not points:
        return
    names = sorted({(p.category, p.key) for p in points})
    tuning = any(p.trial_id is not None for p in points)
    x_name = _x_name(points)
    series: dict[tuple[str | None, str, str], list[Point]] = {}
    for point in points:
        if point.value is not None:
            series.setdefault((point.trial_id, point.category, point.key), []).append(point)
    terminal = out.is_terminal
    figure = plotext.figure
    # The best trial first: its line is drawn on top and heads the legend.
    ordered = sorted(series.items(), key=lambda item: (item[0][0] != best_trial, item[0]))
    for n, ((trial, _, _), line) in enumerate(ordered):
        xs = [p.x[1] if x_name != "index" else float(p.index) for p in line]
        label = printable(series_label(line[0], with_trial=tuning, with_name=len(names) > 1 or not tuning))
        if trial is not None and trial == best_trial:
            label = f"* {label} (best)"
        signal = figure.signal(xs, [p.value for p in line], **({} if terminal else {"marker": _MARKERS[n % 8]}))
        figure.draw(signal.label(label).lines())
    what = names[0][1] if len({k for _, k in names}) == 1 else "metrics"
    title = f"job {job_id}: {what}" + (f" ({names[0][0]})" if len(names) == 1 else "")
    width = out.width if terminal else 80
    height = max(12, min(out.height - 2, 30)) if terminal else 24
    figure.title(printable(title)).label(x_name, "x").plot_size(width, height)
    if not terminal:
        figure.theme("clear")
    with stream():
        sys.stdout.write(figure.build().string(colorless=not terminal) + "\n")
    if not series:
        err.print("every value of this series is null (NaN or infinite when logged); nothing to draw", markup=False)
        raise typer.Exit(2)
