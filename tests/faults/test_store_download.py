"""`models download`: stored files are checked before they leave, and the destination is never overwritten by surprise."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainaction.errors import StoreError

# The first test runs the real command in a subprocess; the others go through the same app in this
# process (cli_in_process): a subprocess per call was most of this file's time.


@pytest.fixture
def model_id(backend, tmp_path: Path) -> int:
    source = tmp_path / "model"
    (source / "sub").mkdir(parents=True)
    (source / "weights.pt").write_bytes(b"weights")
    (source / "sub" / "config.json").write_text("{}")
    return backend.add_model("m", source).id


def _clean_error(result, *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.slow
def test_download_into_a_new_folder(cli, model_id, tmp_path):
    done = cli("models", "download", model_id, tmp_path / "new")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "new" / "weights.pt").read_bytes() == b"weights"
    assert (tmp_path / "new" / "sub" / "config.json").read_text() == "{}"


@pytest.mark.slow
def test_a_stored_file_changed_since_it_was_stored_is_refused_naming_it(cli_in_process, model_id, home, tmp_path):
    cli = cli_in_process
    stored = home / "models" / str(model_id) / "weights.pt"
    stored.write_bytes(b"changed")

    done = cli("models", "download", model_id, tmp_path / "dest")

    expected, found = hashlib.sha256(b"weights").hexdigest(), hashlib.sha256(b"changed").hexdigest()
    _clean_error(
        done,
        f"model {model_id}'s file 'weights.pt' changed since it was stored (sha256 {expected} expected, {found} found)",
    )
    assert not (tmp_path / "dest").exists()


def test_a_missing_or_added_stored_file_is_refused(backend, model_id, home):
    folder = home / "models" / str(model_id)
    (folder / "stray.txt").write_text("x")
    with pytest.raises(StoreError, match=r"has a file 'stray.txt' that was not stored with it"):
        backend.model_path(model_id)
    (folder / "stray.txt").unlink()
    (folder / "sub" / "config.json").unlink()
    with pytest.raises(StoreError, match=r"file 'sub/config.json' is missing since it was stored"):
        backend.model_path(model_id)


@pytest.mark.slow
def test_a_non_empty_destination_is_refused_unless_forced(cli_in_process, model_id, tmp_path):
    cli = cli_in_process
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "weights.pt").write_bytes(b"mine")
    (dest / "notes.txt").write_text("keep")

    refused = cli("models", "download", model_id, dest)

    _clean_error(refused, f"DEST '{dest}' is not empty (2 entries", "--force")
    assert (dest / "weights.pt").read_bytes() == b"mine"

    forced = cli("models", "download", model_id, dest, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (dest / "weights.pt").read_bytes() == b"weights" and (dest / "notes.txt").read_text() == "keep"


def test_forced_download_replaces_a_link_instead_of_writing_through_it(cli_in_process, model_id, tmp_path):
    cli = cli_in_process
    dest, elsewhere = tmp_path / "dest", tmp_path / "elsewhere.pt"
    dest.mkdir()
    elsewhere.write_bytes(b"not yours")
    (dest / "weights.pt").symlink_to(elsewhere)

    assert cli("models", "download", model_id, dest, "--force").returncode == 0

    assert elsewhere.read_bytes() == b"not yours"
    assert not (dest / "weights.pt").is_symlink() and (dest / "weights.pt").read_bytes() == b"weights"


@pytest.mark.slow
def test_a_destination_that_is_a_file_is_refused_even_forced(cli_in_process, model_id, tmp_path):
    cli = cli_in_process
    dest = tmp_path / "a-file"
    dest.write_text("x")
    for extra in ((), ("--force",)):
        _clean_error(cli("models", "download", model_id, dest, *extra), f"DEST '{dest}' is a file, not a folder")
    assert dest.read_text() == "x"


def test_a_destination_without_its_parent_is_refused(cli_in_process, model_id, tmp_path):
    cli = cli_in_process
    dest = tmp_path / "no" / "such" / "parent"
    _clean_error(cli("models", "download", model_id, dest), f"its parent folder '{dest.parent}' does not exist")
    assert not (tmp_path / "no").exists()


@contextlib.contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    # File modes do not stop root; the immutable attribute does.
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o700)


@pytest.mark.slow
def test_an_unwritable_destination_is_a_clear_error(cli_in_process, model_id, tmp_path):
    cli = cli_in_process
    dest = tmp_path / "locked"
    dest.mkdir()
    with _unwritable(dest):
        _clean_error(cli("models", "download", model_id, dest), f"DEST '{dest}' is not writable")
        _clean_error(cli("models", "download", model_id, dest / "new"), f"DEST '{dest / 'new'}' cannot be created")
    assert not any(dest.iterdir())


@pytest.mark.slow
def test_a_destination_inside_the_home_folder_is_refused_and_the_store_never_written(cli_in_process, model_id, home):
    cli = cli_in_process
    inside = home / "exports"
    _clean_error(cli("models", "download", model_id, inside), "is inside trainaction's home folder", "--force")
    assert not inside.exists()
    assert cli("models", "download", model_id, inside, "--force").returncode == 0
    assert (inside / "weights.pt").read_bytes() == b"weights"
    # The store itself is never a destination, forced or not.
    for dest in (home, home / "models", home / "models" / str(model_id)):
        _clean_error(cli("models", "download", model_id, dest, "--force"), "is part of trainaction's store")
    assert sorted(p.name for p in (home / "models" / str(model_id)).iterdir()) == ["sub", "weights.pt"]
