"""A delete killed half-way leaves the registry and the files agreeing once the next command opens the home."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trainaction.backend import LocalBackend

pytestmark = pytest.mark.slow


def _model(home: Path, tmp_path: Path) -> int:
    source = tmp_path / "weights"
    source.mkdir()
    (source / "model.bin").write_bytes(b"w" * 1000)
    return LocalBackend(home).add_model("m", source).id


def _delete_and_die(home: Path, model_id: int, where: str) -> None:
    """Delete the model in another process killed (os._exit) at ``where`` of the delete."""
    script = textwrap.dedent(
        f"""
        import os
        from trainaction.backend import LocalBackend, trash

        if {where!r} == "after the commit":
            trash.Trash.empty = staticmethod(lambda placed: os._exit(9))
        else:
            put = trash.Trash.put
            def put_and_die(self, kind, record_id, placed):
                put(self, kind, record_id, placed)
                os._exit(9)
            trash.Trash.put = put_and_die
        LocalBackend({str(home)!r}).delete_model({model_id})
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr


def test_killed_after_the_commit_the_folder_is_reclaimed_by_the_next_command(home, tmp_path):
    model_id = _model(home, tmp_path)

    _delete_and_die(home, model_id, "after the commit")

    left = home / ".deleted" / f"model.{model_id}"
    assert left.is_dir() and not (home / "models" / str(model_id)).exists()
    backend = LocalBackend(home)  # the next command
    assert backend.list_models() == []
    assert not left.exists()


def test_killed_before_the_commit_the_model_is_put_back(home, tmp_path):
    model_id = _model(home, tmp_path)

    _delete_and_die(home, model_id, "before the commit")

    assert (home / ".deleted" / f"model.{model_id}").is_dir()
    backend = LocalBackend(home)  # the next command
    assert [m.id for m in backend.list_models()] == [model_id]
    assert (backend.model_path(model_id) / "model.bin").read_bytes() == b"w" * 1000  # checked against its sha256
    assert not any((home / ".deleted").iterdir())


def test_a_folder_without_a_row_outside_the_trash_is_never_deleted(home, tmp_path):
    # Left by a database that was moved away: not ours to judge (see the model store's orphan folders).
    orphan = home / "models" / "7"
    model_id = _model(home, tmp_path)
    orphan.mkdir()
    (orphan / "theirs.bin").write_bytes(b"x")

    LocalBackend(home).delete_model(model_id)

    assert (orphan / "theirs.bin").read_bytes() == b"x"
