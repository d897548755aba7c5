"""Tables that fit the terminal: which columns to show at a given width, and the footer that says what was hidden.

Every table the CLI draws goes through here. The rule, the same for all of them:

- identifying columns (a trial id, a job id, a name) are shown whole, always;
- when the table is wider than the terminal, whole columns are hidden, the least important first
  (each column has a rank: the optimised metric and the status are kept longest, hyperparameters
  next, the other metrics and counters go first), and a footer names them and says how to see them;
- if what is left is still too wide, the non-identifying columns are shortened with an ellipsis;
- output that is not a terminal (a pipe, a file) is never fitted nor cut: scripts read every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["ID", "Column", "FittedTable", "fit_columns", "fitted_table", "output_console", "print_table"]

ID = 0  # the rank of an identifying column: never hidden, never shortened

# What rich draws around n columns with the default box and padding: "│ " before each cell, " │" at the end.
_PER_COLUMN = 3
_EDGE = 1
# Output to a pipe or a file: wide enough that no table is ever squeezed.
_UNLIMITED = 1_000_000


@dataclass(frozen=True)
class Column:
    """A table column; ``rank`` orders hiding: ``ID`` (0) never, then the highest rank first."""

    name: str
    rank: int = 1
    style: str = ""


@dataclass(frozen=True)
class FittedTable:
    """A rich table and the names of the columns it leaves out (in their original order)."""

    table: Table
    hidden: list[str]

    def footer(self, how: str = "--wide or --json") -> Text | None:
        if not self.hidden:
            return None
        # no_wrap=False: the CLI's consoles print with soft wrap, which would crop this line at the edge.
        return Text(
            f"{len(self.hidden)} column(s) hidden to fit: {', '.join(self.hidden)} — see them with {how}", no_wrap=False
        )

    def with_footer(self, how: str = "--wide or --json") -> RenderableType:
        footer = self.footer(how)
        return self.table if footer is None else Group(self.table, footer)


Cell = str | Text  # plain text, or text with a style (a status in its colour); never markup


def _natural(column: Column, cells: Sequence[Cell]) -> int:
    return max([cell_len(column.name), *(c.cell_len if isinstance(c, Text) else cell_len(c) for c in cells)])


def fit_columns(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int | None) -> list[int]:
    """The indices of the columns to show within ``width`` terminal cells (None: all of them).

    Columns are hidden from the highest rank down (the rightmost first within a rank) until the
    others fit at their natural width; identifying columns are never hidden.
    """
    shown = list(range(len(columns)))
    if width is None:
        return shown
    widths = [_natural(column, [row[i] for row in rows]) for i, column in enumerate(columns)]

    def total() -> int:
        return sum(widths[i] for i in shown) + _PER_COLUMN * len(shown) + _EDGE

    # Highest rank first; within a rank, rightmost first (columns are listed by importance).
    candidates = sorted((i for i, c in enumerate(columns) if c.rank != ID), key=lambda i: (-columns[i].rank, -i))
    keep_at_least = 1 + min(1, len(candidates))  # hiding everything but the id says nothing: keep one more
    for index in candidates:
        if total() <= width or len(shown) <= keep_at_least:
            break
        shown.remove(index)
    return shown


def fitted_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int | None,
    *,
    title: str | None = None,
    row_styles: Sequence[str] | None = None,
) -> FittedTable:
    """A rich table of ``rows`` (plain text cells: never markup) showing what fits in ``width``."""
    shown = fit_columns(columns, rows, width)
    table = Table(title=title, header_style="bold")
    for i in shown:
        column = columns[i]
        if column.rank == ID:
            natural = _natural(column, [row[i] for row in rows])
            table.add_column(Text(column.name), no_wrap=True, min_width=natural)
        else:
            table.add_column(Text(column.name), no_wrap=width is not None, overflow="ellipsis")
    for n, row in enumerate(rows):
        style = row_styles[n] if row_styles else ""
        table.add_row(*(_text(row[i], columns[i].style or style) for i in shown))
    hidden = [columns[i].name for i in range(len(columns)) if i not in shown]
    return FittedTable(table, hidden)


def _text(value: Cell, style: str) -> Text:
    if isinstance(value, Text):
        if style:
            value.stylize(style)
        return value
    return Text(value, style=style)


def output_console(console: Console, wide: bool = False) -> Console:
    """``console`` on a terminal; elsewhere (a pipe, a file), or with ``wide``, a console writing to
    the same file that never wraps nor cuts: rich would otherwise squeeze every table into 80 columns
    (``wide`` on a terminal: the lines are as long as the table; the terminal wraps them)."""
    if console.is_terminal and not wide:
        return console
    return Console(file=console.file, width=_UNLIMITED, soft_wrap=True, color_system=None, highlight=False)


def print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    wide: bool = False,
    title: str | None = None,
    how: str = "--json",
) -> None:
    """Print a table fitted to ``console``'s width (whole on a pipe or with ``wide``), with its footer."""
    target = output_console(console, wide)
    width = None if wide or not console.is_terminal else console.width
    fitted = fitted_table(columns, rows, width, title=title)
    target.print(fitted.with_footer(how), soft_wrap=False)  # the footer wraps at the edge, not mid-word
