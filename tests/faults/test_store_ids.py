"""Ids name things outside the database (model folders, scripts): never given twice, never out of range."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trainaction.backend import LocalBackend

HUGE = "99999999999999999999"  # beyond SQLite's 2**63 - 1


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.pt").write_bytes(b"new")
    return folder


def _delete(home: Path, table: str, row_id: int) -> None:
    with sqlite3.connect(home / "trainaction.db") as connection:
        connection.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
    connection.close()


def test_ids_are_not_reused_after_the_last_row_is_deleted(backend, home, model_dir, dataset_dir):
    first_model = backend.add_model("m", model_dir).id
    first_dataset = backend.add_dataset(dataset_dir, "d").id
    first_job = backend.create_job("train", {}, "n", "n").id
    for table, row_id in (("models", first_model), ("datasets", first_dataset), ("jobs", first_job)):
        _delete(home, table, row_id)

    assert backend.add_model("m", model_dir).id == first_model + 1
    assert backend.add_dataset(dataset_dir, "d").id == first_dataset + 1
    assert backend.create_job("train", {}, "n", "n").id == first_job + 1
    # The deleted model's folder is still there, untouched: no new model was written into it.
    assert (home / "models" / str(first_model) / "weights.pt").read_bytes() == b"new"


def test_an_existing_model_folder_is_never_deleted_or_overwritten(home, model_dir):
    # A home whose database was moved away keeps its model folders; the new database starts at id 1.
    orphan = home / "models" / "1"
    orphan.mkdir(parents=True)
    (orphan / "precious.pt").write_bytes(b"old model")

    backend = LocalBackend(home)
    model = backend.add_model("m", model_dir)

    assert model.id == 2
    assert sorted(p.name for p in orphan.iterdir()) == ["precious.pt"]
    assert (orphan / "precious.pt").read_bytes() == b"old model"
    assert (backend.model_path(model.id) / "weights.pt").read_bytes() == b"new"
    assert backend.add_model("m", model_dir).id == 3
    assert [p.name for p in (home / "models").iterdir() if p.name.startswith(".")] == []  # no staging left


@pytest.mark.slow
def test_huge_and_negative_ids_do_not_exist(cli, backend, tmp_path):
    for args in (
        ("jobs", "show", HUGE),
        ("jobs", "logs", HUGE),
        ("jobs", "events", HUGE),
        ("trials", HUGE),
        ("models", "download", HUGE, tmp_path / "dest"),
        ("jobs", "show", "--", "-3"),
    ):
        done = cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "does not exist" in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    listed = cli("models", "list", "--job", HUGE, "--json")
    assert listed.returncode == 0 and listed.json() == []
    assert not (tmp_path / "dest").exists()
