"""The terminal trials table's node column: shown when trials ran on more than one Ray node."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from trainaction.trialtable import trials_table

HEAD = "a1b2c3d4" + "0" * 48
WORKER = "f9e8d7c6" + "1" * 48


def _table(*nodes: str) -> dict[str, Any]:
    rows = {
        f"t{i}": {"status": "TERMINATED", "acc": 0.5, "lr": 0.1, "node": node, "node_ip": "10.0.0.7"}
        for i, node in enumerate(nodes)
    }
    return {
        "trials": rows,
        "base": ["status", "retries"],
        "hyperparameters": ["lr"],
        "metrics": ["acc"],
        "best_trial": "",
    }


def _render(table: dict[str, Any]) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(trials_table(table))
    return console.export_text()


def test_a_node_column_with_short_ids_when_trials_ran_on_two_nodes():
    text = _render(_table(HEAD, WORKER, HEAD))

    assert "node" in text
    assert "a1b2c3d4 10.0.0.7" in text and "f9e8d7c6 10.0.0.7" in text
    assert HEAD not in text  # the 56-digit id is cut to its first 8


def test_no_node_column_when_every_trial_ran_on_one_node():
    assert "node" not in _render(_table(HEAD, HEAD))
    assert "node" not in _render(_table())  # older tables have no node at all
