"""Names holding control characters or markup are printed escaped; JSON output keeps them exact."""

from __future__ import annotations

import json

import pytest

from trainaction.display import trials_table
from trainaction.terminal import printable

NASTY = "evil\x1b[2J\rname\x85[red]x[/red]\t"


def test_printable_escapes_c0_c1_and_del():
    assert printable("a\x1b[31mb\rc\x85d\x7fe\x00") == "a\\x1b[31mb\\rc\\x85d\\x7fe\\x00"
    assert printable("plain é ✓") == "plain é ✓"


@pytest.mark.slow
def test_names_are_escaped_in_tables_and_lines_and_exact_in_json(cli, dataset_dir, write_job, make_plugin):
    added = cli("dataset", "add", dataset_dir, "--name", NASTY)
    assert (
        added.returncode == 0 and "\x1b" not in added.stdout and "\\x1b[2J\\rname\\x85[red]x[/red]\\t" in added.stdout
    )

    listed = cli("dataset", "list")
    assert "\x1b" not in listed.stdout and "\r" not in listed.stdout and "\x85" not in listed.stdout
    assert "\\x1b[2J" in listed.stdout and "[red]x" in listed.stdout  # markup shown as text, not applied
    assert cli("dataset", "list", "--json").json()[0]["name"] == NASTY

    plugin = make_plugin("def train(run, dataset, hyperparameter, checkpoint, **kwargs):\n    pass\n")
    job = write_job({}, name=NASTY)
    ran = cli("run", job, "--plugin", plugin, "--json")
    assert ran.returncode == 0, ran.stderr
    jobs = cli("jobs", "list")
    assert "\x1b" not in jobs.stdout and "\\x1b[2J" in jobs.stdout
    assert cli("jobs", "list", "--json").json()[0]["display_name"] == NASTY
    shown = cli("jobs", "show", "1")
    assert "\x1b" not in shown.stdout and json.loads(cli("jobs", "show", "1", "--json").stdout)["display_name"] == NASTY


def test_trial_ids_and_hyperparameter_names_are_escaped_in_the_trials_table():
    from rich.console import Console

    table = {
        "base": ["status"],
        "hyperparameters": [NASTY],
        "metrics": ["acc\x1b"],
        "trials": {"t\x1b1": {"status": "TERMINATED", NASTY: "v\r", "acc\x1b": 0.5}},
        "best_trial": "t\x1b1",
    }
    console = Console(record=True, width=200, force_terminal=False)
    console.print(trials_table(table))
    text = console.export_text()
    assert "\x1b" not in text and "\r" not in text and "* t\\x1b1" in text and "[red]x[/red]" in text
