"""A tuning job's trials table as the terminal shows it: stored (``trainaction trials``) or live.

The trial id is the column that tells rows apart, so it is never cut; the best trial is marked
with ``*`` at the start of its own id cell (never a row of its own). When the terminal is too
narrow, columns go by rank (see :mod:`trainaction.tablefit`): the other metrics and the retry
count first, the hyperparameters next; the status and the optimised metric stay.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from .tablefit import ID, Column, fitted_table
from .terminal import printable

__all__ = ["BEST_MARK", "best_so_far", "cell", "trial_rows", "trials_table"]

BEST_MARK = "*"
_STATUS_STYLE = {"RUNNING": "cyan", "TERMINATED": "green", "ERROR": "red", "PAUSED": "yellow", "PENDING": "dim"}
# Live: running trials first, then those waiting, then those that ended.
_LIVE_ORDER = {"RUNNING": 0, "PENDING": 1, "PAUSED": 1}
_MAX_CELL = 60
NODE = "node"
_NODE_DIGITS = 8


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


def _names(table: dict[str, Any], field: str) -> list[str]:
    value = table.get(field)
    return [str(c) for c in value] if isinstance(value, list) else []


def trial_rows(table: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(trial id, row)`` pairs in the table's order; rows that are not dicts read as empty."""
    trials = table.get("trials")
    items = trials.items() if isinstance(trials, dict) else []
    return [(str(k), v if isinstance(v, dict) else {}) for k, v in items]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def best_so_far(table: dict[str, Any], mode: str) -> tuple[str, float] | None:
    """The trial whose last reported optimised metric (the first metric column) is best by ``mode``."""
    metrics = _names(table, "metrics")
    if not metrics:
        return None
    best: tuple[str, float] | None = None
    for trial_id, row in trial_rows(table):
        value = _number(row.get(metrics[0]))
        if value is not None and (best is None or (value > best[1] if mode == "max" else value < best[1])):
            best = (trial_id, value)
    return best


def _nodes(table: dict[str, Any]) -> set[str]:
    """The Ray nodes the trials ran on, as recorded in their rows."""
    return {str(row["node"]) for _, row in trial_rows(table) if row.get("node")}


def _columns(table: dict[str, Any]) -> list[Column]:
    base = _names(table, "base") or ["status"]
    metrics = _names(table, "metrics")
    hyperparameters = _names(table, "hyperparameters")
    columns = [Column("trial_id", ID)]
    columns += [Column(name, 1) for name in base if name == "status"]
    columns += [Column(name, 1) for name in metrics[:1]]  # the optimised metric
    columns += [Column(name, 2) for name in hyperparameters]
    columns += [Column(name, 3) for name in metrics[1:]]
    columns += [Column(name, 4) for name in base if name != "status"]
    if len(_nodes(table)) > 1:  # one node says nothing; several: where each trial ran
        columns.append(Column(NODE, 3))
    return columns


def _node_cell(row: dict[str, Any]) -> str:
    """A node as its first hex digits (Ray's ids are 56 long), with its address when known."""
    node = str(row.get("node") or "")[:_NODE_DIGITS]
    return f"{node} {row['node_ip']}" if node and row.get("node_ip") else node


def trials_table(
    table: dict[str, Any],
    *,
    width: int | None = None,
    limit: int | None = None,
    live: bool = False,
    best: str | None = None,
    how: str = "--wide or --json",
) -> RenderableType:
    """The trials table fitted to ``width`` (None: every column), with a footer for what it leaves out.

    ``best``: the trial to mark (default: the table's ``best_trial``). ``live``: running trials
    first. ``limit``: at most this many rows, the rest counted in the footer. Cells are plain
    text (never rich markup), so no name or value can break the drawing.
    """
    best = cell(table.get("best_trial") or "") if best is None else best
    rows = trial_rows(table)
    if live:
        rows.sort(key=lambda item: _LIVE_ORDER.get(str(item[1].get("status")), 2))
    shown = rows if limit is None else rows[: max(0, limit)]
    columns = _columns(table)
    marked = any(trial_id == best for trial_id, _ in shown)
    cells: list[list[str | Text]] = []
    styles: list[str] = []
    for trial_id, row in shown:
        mark = (f"{BEST_MARK} " if trial_id == best else "  ") if marked else ""
        values: list[str | Text] = []
        for column in columns[1:]:
            text = printable(_node_cell(row) if column.name == NODE else cell(row.get(column.name, "")))
            values.append(Text(text, style=_STATUS_STYLE.get(text, "")) if column.name == "status" else text)
        cells.append([mark + printable(trial_id), *values])
        styles.append("bold" if trial_id == best else "")
    fitted = fitted_table(
        [Column(printable(c.name), c.rank) for c in columns], cells, width, title="trials", row_styles=styles
    )
    notes: list[RenderableType] = [fitted.table]
    if marked:
        notes.append(Text(f"{BEST_MARK} best trial" + (" so far" if live and not table.get("best_trial") else "")))
    if len(shown) < len(rows):
        notes.append(Text(f"+{len(rows) - len(shown)} more trial(s) not shown", no_wrap=False))
    if fitted.hidden:
        # Live, the footer is one line that must fit: the count and the command; stored, the names too.
        text = f"{len(fitted.hidden)} column(s) hidden to fit — see them with {how}"
        notes.append(Text(text, no_wrap=False) if live else fitted.footer(how) or Text(text))
    return Group(*notes)
