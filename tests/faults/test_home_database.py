"""A database that is not ours is reported and left alone; several first commands share a new home."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conftest import CliResult
from trainaction.backend import LocalBackend, store
from trainaction.backend.database import APPLICATION_ID
from trainaction.cli import app
from trainaction.errors import DatabaseLockedError


def _snapshot(home: Path) -> dict[str, str]:
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest() for p in home.rglob("*") if p.is_file()
    }


def _populated_home(cli, home: Path, tmp_path: Path) -> None:
    """A home made by real commands (each process exits, so no WAL file is left), with a stored model."""
    data = tmp_path / "many"
    data.mkdir()
    for i in range(300):
        (data / f"file-{i:04d}-{'x' * 40}.txt").write_text(str(i))
    for _ in range(3):
        assert cli("dataset", "add", data).returncode == 0
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.pt").write_bytes(b"w")
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from trainaction.backend import LocalBackend; LocalBackend({str(home)!r}).add_model('m', {str(model)!r})",
        ],
        check=True,
    )
    assert not (home / "trainaction.db-wal").exists()


def _in_process(*args: object) -> CliResult:
    """The command through the same app in this process: one kind of damage checks every command in
    real subprocesses (the zero-byte file); the other kinds run them here, 40 processes fewer."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def _every_command_refuses(cli, home: Path, tmp_path: Path, reason: str, make_plugin, write_job) -> None:
    before = _snapshot(home)
    plugin = make_plugin("def train(run, dataset, hyperparameter, checkpoint, **kwargs):\n    pass\n")
    job = write_job()
    data = tmp_path / "data-for-add"
    data.mkdir(exist_ok=True)
    commands = [
        ("dataset", "list"),
        ("dataset", "add", data),
        ("jobs", "list"),
        ("jobs", "show", "1"),
        ("jobs", "logs", "1"),
        ("jobs", "events", "1"),
        ("models", "list"),
        ("models", "download", "1", tmp_path / "dest"),
        ("trials", "1"),
        ("run", job, "--plugin", plugin),
    ]
    for args in commands:
        done = cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        expected = f"`{home / 'trainaction.db'}` is not a trainaction database ({reason}"
        assert expected in done.stderr and "move it away to start a new one" in done.stderr, (args, done.stderr)
    assert _snapshot(home) == before  # no file created, changed or deleted
    assert not (tmp_path / "dest").exists()


@pytest.mark.slow
def test_a_zero_byte_database_is_reported_and_nothing_touched(cli, home, tmp_path, make_plugin, write_job):
    _populated_home(cli, home, tmp_path)
    (home / "trainaction.db").write_bytes(b"")
    _every_command_refuses(cli, home, tmp_path, "it is empty, 0 bytes", make_plugin, write_job)
    assert (home / "models" / "1" / "weights.pt").read_bytes() == b"w"


@pytest.mark.slow
def test_a_truncated_database_is_reported_and_nothing_touched(cli, home, tmp_path, make_plugin, write_job):
    _populated_home(cli, home, tmp_path)
    path = home / "trainaction.db"
    content = path.read_bytes()
    assert len(content) > 8 * 4096
    path.write_bytes(content[: len(content) // 2])
    _every_command_refuses(_in_process, home, tmp_path, "it is truncated", make_plugin, write_job)


@pytest.mark.slow
def test_damage_inside_the_file_is_reported_when_it_is_read(cli, home, tmp_path):
    _populated_home(cli, home, tmp_path)
    path = home / "trainaction.db"
    content = bytearray(path.read_bytes())
    content[4096:] = os.urandom(len(content) - 4096)  # every page after the first is garbage
    path.write_bytes(bytes(content))
    before = _snapshot(home)

    done = cli("dataset", "list")

    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"`{path}` is not a trainaction database (it is damaged" in done.stderr
    assert _snapshot(home) == before


@pytest.mark.slow
def test_random_bytes_are_not_a_database(cli, home, tmp_path, make_plugin, write_job):
    home.mkdir()
    (home / "trainaction.db").write_bytes(os.urandom(20000))
    _every_command_refuses(_in_process, home, tmp_path, "it is not an SQLite database file", make_plugin, write_job)


@pytest.mark.slow
def test_another_programs_sqlite_file_is_recognised(cli, home, tmp_path, make_plugin, write_job):
    home.mkdir()
    with sqlite3.connect(home / "trainaction.db") as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    connection.close()
    _every_command_refuses(
        _in_process,
        home,
        tmp_path,
        "an SQLite database without trainaction's tables; it has notes",
        make_plugin,
        write_job,
    )
    with sqlite3.connect(home / "trainaction.db") as connection:
        connection.execute(f"PRAGMA application_id = {0x1234}")
    connection.close()
    _every_command_refuses(
        _in_process,
        home,
        tmp_path,
        "it belongs to another program: SQLite application_id 0x1234",
        make_plugin,
        write_job,
    )


def test_a_database_from_before_the_mark_still_opens_and_is_marked(home):
    home.mkdir()
    engine = sa.create_engine(f"sqlite:///{home / 'trainaction.db'}")
    store.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            store.datasets.insert().values(name="old", location="/data", files=[], metadata={}, created_at=0.0)
        )
    engine.dispose()

    assert [d.name for d in LocalBackend(home).list_datasets()] == ["old"]

    with sqlite3.connect(home / "trainaction.db") as connection:
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    connection.close()


@pytest.mark.slow
def test_four_first_commands_on_a_new_home_all_succeed(home, dataset_dir):
    """Three `dataset add` race to create the home; a read among them finds it made or finds none, never half."""
    for round_ in range(3):
        fresh = home / f"round{round_}"
        env = {**os.environ, "TRAINACTION_HOME": str(fresh)}
        commands = [("dataset", "add", str(dataset_dir)) for _ in range(3)] + [("jobs", "list", "--json")]
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "trainaction", *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for args in commands
        ]
        for args, process in zip(commands, started, strict=True):
            stdout, stderr = process.communicate(timeout=120)
            if args[0] == "jobs":
                assert (process.returncode, stdout) == (0, "[]\n") or (
                    process.returncode == 2 and "no trainaction home" in stderr
                ), (round_, stderr)
            else:
                assert process.returncode == 0, (round_, args, stderr)
        assert [d.id for d in LocalBackend(fresh).list_datasets()] == [1, 2, 3]


@pytest.mark.slow
def test_a_write_waits_for_the_lock_and_is_retried(home):
    backend = LocalBackend(home, lock_timeout=0.1)
    holder = sqlite3.connect(home / "trainaction.db", check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    release = threading.Timer(0.5, holder.rollback)
    release.start()
    try:
        assert backend.create_job("train", {}, "n", "n").id == 1  # its first try timed out; a retry got through
    finally:
        release.join()
        holder.close()


@pytest.mark.slow
def test_a_write_locked_past_every_retry_is_a_clear_error(home):
    backend = LocalBackend(home, lock_timeout=0.1)
    holder = sqlite3.connect(home / "trainaction.db")
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(DatabaseLockedError, match=r"stayed locked by another process through 4 attempts of 0.1 s"):
            backend.create_job("train", {}, "n", "n")
    finally:
        holder.rollback()
        holder.close()
    assert time.monotonic() - started >= 4.0  # it did wait between the tries (0.2 + 1 + 3 s)
    assert backend.list_jobs() == []
