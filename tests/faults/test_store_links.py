"""Links a walk could follow forever are refused, naming the link, instead of copied until the disk fills."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import add_dataset
from trainaction.errors import PathError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "weights.pt").write_bytes(b"w")
    return root


def _no_staging_left(home: Path) -> None:
    models = home / "models"
    assert not models.exists() or list(models.iterdir()) == []


def test_a_symlink_loop_inside_a_model_or_dataset_is_refused(backend, folder, home):
    (folder / "sub" / "loop").symlink_to("loop")
    with pytest.raises(PathError, match=r"'sub/loop' is a symlink loop"):
        backend.add_model("m", folder)
    with pytest.raises(PathError, match=r"'sub/loop' is a symlink loop"):
        backend.add_dataset(folder, "d")
    _no_staging_left(home)
    assert backend.list_models() == [] and backend.list_datasets() == []


@pytest.mark.parametrize("target", [".", "..", "../..", "/"])
def test_a_link_to_a_folder_that_contains_it_is_refused(backend, folder, home, target):
    (folder / "sub" / "up").symlink_to(target)
    for add in (lambda: backend.add_model("m", folder), lambda: backend.add_dataset(folder, "d")):
        with pytest.raises(PathError, match=r"the link 'sub/up' points to '.*', a folder that contains the link"):
            add()
    _no_staging_left(home)


def test_links_to_files_and_folders_elsewhere_are_followed(backend, folder, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "big.bin").write_bytes(b"shared")
    (folder / "linked.bin").symlink_to(shared / "big.bin")
    (folder / "sub" / "shared").symlink_to(shared)
    model = backend.add_model("m", folder)
    assert [f["path"] for f in model.files] == ["linked.bin", "sub/shared/big.bin", "weights.pt"]
    assert not (backend.model_path(model.id) / "linked.bin").is_symlink()
    (backend.model_path(model.id) / "linked.bin").write_bytes(b"changed")  # the copy, not the shared file
    assert (shared / "big.bin").read_bytes() == b"shared"


@pytest.mark.slow
def test_dataset_add_refuses_loops_root_home_and_empty(cli, home, folder, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    home.mkdir()
    cases = {
        loop: f"dataset folder '{loop}' is a symlink loop",
        "/": "dataset folder '/' is the root folder",
        home: "is trainaction's home folder",
        tmp_path: f"contains trainaction's home folder '{home}'",
        "": "PATH is empty; give the dataset's folder",
    }
    (folder / "up").symlink_to("..")
    cases[folder] = "the link 'up' points to"
    for path, message in cases.items():
        done = cli("dataset", "add", path)
        assert done.returncode == 2, (path, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (path, done.stderr)
    assert cli("dataset", "list", "--json").json() == []


@pytest.mark.slow
def test_a_job_whose_model_folder_has_a_loop_fails_with_the_link_named(cli, make_plugin, dataset_dir, write_job):
    plugin = make_plugin(
        """
        import os
        from pathlib import Path
        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            (Path(run.output_dir) / "model.bin").write_bytes(b"m")
            os.symlink(run.output_dir, Path(run.output_dir) / "again")
        """
    )
    add_dataset(dataset_dir)
    done = cli("run", write_job(), "--plugin", plugin, "--json", timeout=120)
    assert done.returncode == 1, done.stderr
    assert "the link 'again' points to" in done.json()["error"]
    assert os.listdir(Path(os.environ["TRAINACTION_HOME"]) / "models") == []
