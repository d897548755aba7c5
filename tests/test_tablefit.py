"""Fitting tables to the terminal: which columns go, which never do, and what the footer says."""

from __future__ import annotations

import io

from rich.console import Console

from trainaction.tablefit import ID, Column, fit_columns, print_table
from trainaction.trialtable import trials_table

ROWS = [["e969d_00000", "TERMINATED", "0.93", "0.001", "0.9", "64", "0.12"]]
COLUMNS = [
    Column("trial_id", ID),
    Column("status", 1),
    Column("validation_accuracy", 1),
    Column("learning_rate", 2),
    Column("momentum", 2),
    Column("batch_size", 2),
    Column("training_loss", 3),
]


def test_everything_fits_a_wide_terminal():
    assert fit_columns(COLUMNS, ROWS, 200) == list(range(7))
    assert fit_columns(COLUMNS, ROWS, None) == list(range(7))


def test_columns_go_by_rank_and_identifying_ones_stay():
    shown = [COLUMNS[i].name for i in fit_columns(COLUMNS, ROWS, 80)]
    assert shown[:3] == ["trial_id", "status", "validation_accuracy"] and "training_loss" not in shown
    tiny = [COLUMNS[i].name for i in fit_columns(COLUMNS, ROWS, 10)]
    assert tiny == ["trial_id", "status"]  # the id whole, however narrow


def _render(width: int, table: dict) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    console.print(trials_table(table, width=width))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_trial_ids_stay_whole_and_the_best_is_marked_in_its_row():
    table = {
        "base": ["status", "retries"],
        "hyperparameters": ["learning_rate", "momentum_value", "batch_size_per_device"],
        "metrics": ["validation_accuracy", "training_loss_value"],
        "trials": {f"e969d_{n:05d}": {"status": "TERMINATED", "validation_accuracy": n / 10} for n in range(8)},
        "best_trial": "e969d_00007",
    }
    text = _render(80, table)
    rows = [line for line in text.splitlines() if "e969d_" in line]
    assert len(rows) == 8 and max(len(line) for line in text.splitlines()) <= 80
    assert [row.split()[1] for row in rows][:7] == [f"e969d_{n:05d}" for n in range(7)]
    assert rows[7].split()[1:3] == ["*", "e969d_00007"]
    assert "hidden to fit" in text and "--wide or --json" in text


def test_a_pipe_gets_the_whole_table():
    stream = io.StringIO()
    console = Console(file=stream, width=40)  # not a terminal
    print_table(console, [Column("id", ID), Column("name", ID), Column("location", 1)], [["1", "n" * 30, "/x" * 40]])
    assert "/x" * 40 in stream.getvalue() and "\x1b" not in stream.getvalue()
