"""A read command never makes a home: a mistyped TRAINACTION_HOME is reported. A read-only home can be read."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

READS = [
    ("jobs", "list"),
    ("jobs", "show", "1"),
    ("jobs", "logs", "1"),
    ("jobs", "events", "1"),
    ("jobs", "delete", "1", "--yes"),
    ("models", "list"),
    ("models", "download", "1", "DEST"),
    ("models", "delete", "1", "--yes"),
    ("dataset", "list"),
    ("dataset", "remove", "1", "--yes"),
    ("trials", "1"),
]


def test_read_commands_on_a_missing_home_say_so_and_create_nothing(home, cli, tmp_path):
    for command in READS:
        done = cli(*(str(tmp_path / "dest") if part == "DEST" else part for part in command))
        assert done.returncode == 2, command
        assert f"no trainaction home at {home}" in done.stderr, command
        assert "set TRAINACTION_HOME or run a job first" in done.stderr and "Traceback" not in done.stderr
        assert not home.exists(), command


def test_validate_on_a_missing_home_checks_no_ids_and_creates_nothing(home, cli, write_job):
    done = cli("validate", write_job({"epochs": 1}, checkpoint=4), "--json")

    assert done.returncode == 0, done.stdout
    assert any(
        f"no trainaction home at {home}; dataset and checkpoint ids were not checked" in n
        for n in done.json()["notices"]
    )
    assert not home.exists()


def test_dataset_add_and_run_still_create_the_home(home, cli, dataset_dir):
    assert cli("dataset", "add", dataset_dir).returncode == 0
    assert (home / "trainaction.db").is_file()
    assert cli("jobs", "list", "--json").json() == []


def test_an_existing_folder_without_a_database_is_no_home_either(home, cli):
    home.mkdir()
    done = cli("models", "list")
    assert done.returncode == 2 and "no trainaction home" in done.stderr
    assert list(home.iterdir()) == []


def test_a_read_only_home_can_be_read(home, cli, make_plugin, dataset_dir, write_job, tmp_path):
    """Read-only for real: tests run as root, whom file modes do not stop, so the copy of the home is
    bind-mounted read-only in a private mount namespace (``unshare``) where the command runs."""
    plugin = make_plugin("def train(run, dataset, hyperparameter, checkpoint, **kwargs):\n    run.log_message('hi')\n")
    assert cli("dataset", "add", dataset_dir).returncode == 0
    assert cli("run", write_job(), "--plugin", plugin, "--json").returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)

    def read_only(*args: str) -> subprocess.CompletedProcess[str]:
        command = shlex.join([sys.executable, "-m", "trainaction", *args])
        mount = f"mount --bind {shlex.quote(str(copy))} {shlex.quote(str(copy))} && mount -o remount,bind,ro {shlex.quote(str(copy))}"
        return subprocess.run(
            ["unshare", "-rm", "sh", "-c", f"{mount} && touch {shlex.quote(str(copy))}/probe; {command}"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**__import__("os").environ, "TRAINACTION_HOME": str(copy)},
        )

    listed = read_only("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "Read-only file system" in listed.stderr  # the probe: the folder really was read-only
    assert [j["status"] for j in json.loads(listed.stdout)] == ["SUCCEEDED"]
    assert "hi" in read_only("jobs", "logs", "1").stdout
    assert json.loads(read_only("dataset", "list", "--json").stdout)[0]["id"] == 1
    refused = read_only("jobs", "delete", "1", "--yes")
    assert refused.returncode == 2 and "is read-only" in refused.stderr
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in home.iterdir())
